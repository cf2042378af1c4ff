// How every native test counts and reports its checks, so that a failure
// reads the same in each and the exit code always comes from the one count.
// Standard headers only: the CUDA kernel test (nvcc) includes it too, and
// it must not pull the trainer in.
#pragma once
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace ts::test {

inline int failures = 0;

// Tests with thousands of checks (fuzzing, every matrix element) print only
// their failures, so that the one that matters is not lost in the log.
inline bool quiet = false;

inline void quiet_unless_verbose() { quiet = std::getenv("VERBOSE") == nullptr; }

inline bool expect(bool ok, const std::string& what) {
  if (!ok || !quiet) std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
  return ok;
}

// printf into a string: the measured numbers that go with a check's name.
__attribute__((format(printf, 1, 2))) inline std::string fmt(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  std::string s(n > 0 ? size_t(n) : 0, '\0');
  if (n > 0) std::vsnprintf(&s[0], s.size() + 1, format, again);
  va_end(again);
  return s;
}

inline bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

// A whole file's bytes ("" when unreadable), and a file made of `bytes`.
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
inline void spit(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

// The closing tally line and the exit code main returns.
inline int report(const char* test_name) {
  if (failures) std::printf("%s: %d failure(s)\n", test_name, failures);
  else std::printf("%s: all passed\n", test_name);
  return failures ? 1 : 0;
}

}  // namespace ts::test
