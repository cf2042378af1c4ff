#include "base/json.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace ts {

void json_quote(std::string& out, const std::string& s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void Json::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

Json& Json::begin_object() {
  separate();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}
Json& Json::end_object() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}
Json& Json::begin_array() {
  separate();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}
Json& Json::end_array() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}
Json& Json::key(const char* k) {
  separate();
  json_quote(out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}
Json& Json::value(const std::string& s) {
  separate();
  json_quote(out_, s);
  return *this;
}
Json& Json::value(const char* s) { return value(std::string(s)); }
Json& Json::value(double v) {
  separate();
  // JSON has no NaN/Infinity: a diverged loss is reported as null.
  if (!std::isfinite(v)) {
    out_ += "null";
    return *this;
  }
  char buf[32];
  // %.9g round-trips a float; doubles (times, rates) do not need more digits
  // than that to be useful, and it keeps records short.
  std::snprintf(buf, sizeof buf, "%.9g", v);
  out_ += buf;
  return *this;
}
Json& Json::value(int64_t v) {
  separate();
  out_ += std::to_string(v);
  return *this;
}
Json& Json::value(uint64_t v) {
  separate();
  out_ += std::to_string(v);
  return *this;
}
Json& Json::value(bool v) {
  separate();
  out_ += v ? "true" : "false";
  return *this;
}
Json& Json::null() {
  separate();
  out_ += "null";
  return *this;
}
Json& Json::raw(const std::string& json) {
  separate();
  out_ += json;
  return *this;
}

}  // namespace ts
