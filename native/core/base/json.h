// Minimal JSON writer for the event stream, the trace and the config echo.
// Writes straight into a std::string so a record costs no allocation beyond
// the buffer's growth; numbers use the shortest form that round-trips.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ts {

class Json {
 public:
  explicit Json(std::string& out) : out_(out) {}

  Json& begin_object();
  Json& end_object();
  Json& begin_array();
  Json& end_array();
  Json& key(const char* k);
  Json& value(const std::string& s);
  Json& value(const char* s);
  Json& value(double v);
  Json& value(float v) { return value(static_cast<double>(v)); }
  Json& value(int64_t v);
  Json& value(uint64_t v);
  Json& value(int v) { return value(static_cast<int64_t>(v)); }
  Json& value(long long v) { return value(static_cast<int64_t>(v)); }
  Json& value(unsigned long long v) { return value(static_cast<uint64_t>(v)); }
  Json& value(bool v);
  Json& null();
  // Splices an already-serialised JSON value.
  Json& raw(const std::string& json);

  template <typename T>
  Json& field(const char* k, const T& v) {
    key(k);
    return value(v);
  }

 private:
  void separate();
  std::string& out_;
  std::vector<bool> first_;  // one entry per open container: next element is the first
  bool after_key_ = false;
};

// Appends s to out as a quoted JSON string with escapes.
void json_quote(std::string& out, const std::string& s);

}  // namespace ts
