// The parser's outside: load_config reads a config file (one that cannot be
// read, is not a regular file or is too large becomes one diagnostic at 1:1)
// and hands the text to parse_config, and the diagnostics' text form and
// the error check every caller of the parser uses.
#include "config/config.h"

#include "base/files.h"

namespace ts {

std::string Diagnostic::format() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(col);
  return s + ": " + severity + ": " + message;
}

bool ParseResult::ok() const {
  for (const Diagnostic& d : diagnostics)
    if (d.severity == "error") return false;
  return true;
}

// A config is text someone wrote; a larger file is not one.
constexpr uint64_t kMaxConfigBytes = uint64_t(1) << 20;

ParseResult load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::string text, err;
  if (!read_regular_file(path, kMaxConfigBytes, "a config is at most 1 MiB", text, err)) {
    ParseResult r;
    r.config.file = path;
    Diagnostic d;
    d.file = path;
    d.line = 1;
    d.col = 1;
    d.end_col = 2;
    d.message = "cannot read config: " + err;
    r.diagnostics.push_back(d);
    return r;
  }
  return parse_config(text, path, overrides);
}

}  // namespace ts
