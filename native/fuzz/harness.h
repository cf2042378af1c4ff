// What the fuzz targets share: broken() for a broken promise, and the
// scratch file a fuzz target writes each input to, for readers that
// take a path: in $TRAINSCOPE_FUZZ_SCRATCH when set (npm run fuzz makes that
// folder and removes it, whatever way the target ends), else in a folder of
// its own under $TMPDIR that is removed when the target exits normally.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ts::fuzz {

[[noreturn]] inline void broken(const char* target, const char* what) {
  std::fprintf(stderr, "%s: %s\n", target, what);
  std::abort();
}

inline std::string scratch_file(const char* target, const char* name) {
  if (const char* dir = std::getenv("TRAINSCOPE_FUZZ_SCRATCH"); dir && *dir)
    return std::string(dir) + "/" + target + "-" + std::to_string(getpid()) + "-" + name;
  static std::string made;
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/trainscope-" + target + "-XXXXXX";
  if (!mkdtemp(&tmpl[0])) broken(target, "cannot make a scratch folder");
  made = tmpl + "/" + name;
  std::atexit([] {
    std::remove(made.c_str());
    rmdir(made.substr(0, made.rfind('/')).c_str());
  });
  return made;
}

// Writes bytes to path, whole.
inline void write_file(const char* target, const std::string& path, const void* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) broken(target, "cannot write the scratch file");
  if (size > 0 && std::fwrite(data, 1, size, f) != size) broken(target, "short write of the scratch file");
  if (std::fclose(f) != 0) broken(target, "cannot close the scratch file");
}

}  // namespace ts::fuzz
