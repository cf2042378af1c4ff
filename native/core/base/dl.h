// Libraries opened at run time (NCCL, the CUDA runtime, cuBLAS): resolving
// their entry points by name, listing every one that is missing.
#pragma once
#include <dlfcn.h>

#include <string>

namespace ts {

// out = the symbol `name` of `lib`; a missing one is appended to `missing`
// (", "-separated), so one error names them all.
template <typename F>
bool dl_symbol(void* lib, const char* name, F& out, std::string& missing) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  if (!out) {
    if (!missing.empty()) missing += ", ";
    missing += name;
  }
  return out != nullptr;
}

}  // namespace ts
