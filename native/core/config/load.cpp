// The parser's outside: load_config reads a config file (a file that cannot
// be read becomes one diagnostic at 1:1) and hands the text to
// parse_config, and the diagnostics' text form and the error check every
// caller of the parser uses.
#include "config/config.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

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

ParseResult load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  std::string text;
  int err = 0;
  if (!f) {
    err = errno;
  } else {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    // A directory opens but fails to read (EISDIR).
    if (std::ferror(f)) err = errno ? errno : EIO;
    std::fclose(f);
  }
  if (err) {
    ParseResult r;
    r.config.file = path;
    Diagnostic d;
    d.file = path;
    d.line = 1;
    d.col = 1;
    d.end_col = 2;
    d.message = std::string("cannot read config: ") + std::strerror(err);
    r.diagnostics.push_back(d);
    return r;
  }
  return parse_config(text, path, overrides);
}

}  // namespace ts
