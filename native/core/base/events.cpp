#include "base/events.h"

#include <cerrno>
#include <cstring>
#include <set>

#include "base/json.h"

namespace ts {

EventWriter::~EventWriter() {
  flush();
  if (f_) std::fclose(f_);
}

bool EventWriter::open(const std::string& path, std::string& err) {
  if (path.empty()) return true;
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) {
    err = "cannot create events file '" + path + "': " + std::strerror(errno);
    return false;
  }
  return true;
}

void EventWriter::record(const std::string& json) {
  if (!f_) return;
  buf_ += json;
  buf_.push_back('\n');
}

void EventWriter::flush() {
  if (!f_ || buf_.empty()) return;
  std::fwrite(buf_.data(), 1, buf_.size(), f_);
  std::fflush(f_);
  buf_.clear();
}

bool write_file_atomic(const std::string& path, const std::string& text, std::string& err) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    err = "cannot create '" + tmp + "': " + std::strerror(errno);
    return false;
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) {
    err = "cannot write '" + tmp + "': " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = "cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

bool TraceBuilder::write(const std::string& path, const std::vector<std::string>& lane_names,
                         const std::string& metadata_json, std::string& err) const {
  std::string s;
  s.reserve(spans_.size() * 160 + 1024);
  Json j(s);
  j.begin_object();
  j.key("displayTimeUnit").value("ms");
  j.key("metadata").raw(metadata_json);
  if (truncated_) j.field("trace_truncated_after_events", uint64_t(kMaxEvents));
  j.key("traceEvents").begin_array();
  std::set<int> ranks;
  for (const auto& sp : spans_) ranks.insert(sp.rank);
  for (const auto& c : counters_) ranks.insert(c.rank);
  for (int r : ranks) {
    j.begin_object().field("ph", "M").field("name", "process_name").field("pid", r).field("tid", 0);
    j.key("args").begin_object().field("name", "rank " + std::to_string(r)).end_object();
    j.end_object();
    j.begin_object().field("ph", "M").field("name", "process_sort_index").field("pid", r).field("tid", 0);
    j.key("args").begin_object().field("sort_index", r).end_object();
    j.end_object();
    for (size_t lane = 0; lane < lane_names.size(); ++lane) {
      j.begin_object().field("ph", "M").field("name", "thread_name").field("pid", r);
      j.field("tid", int(lane));
      j.key("args").begin_object().field("name", lane_names[lane]).end_object();
      j.end_object();
    }
  }
  for (const auto& sp : spans_) {
    j.begin_object();
    j.field("ph", "X").field("name", sp.name).field("cat", sp.cat);
    j.field("pid", sp.rank).field("tid", sp.lane).field("ts", sp.t0).field("dur", sp.t1 - sp.t0);
    j.key("args").begin_object().field("step", sp.step);
    if (sp.layer >= 0) j.field("layer", sp.layer);
    j.end_object();
    j.end_object();
  }
  for (const auto& c : counters_) {
    j.begin_object();
    j.field("ph", "C").field("name", c.name).field("pid", c.rank).field("tid", 0).field("ts", c.t);
    j.key("args").begin_object();
    for (const auto& kv : c.series) j.field(kv.first.c_str(), kv.second);
    j.end_object();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  s.push_back('\n');
  return write_file_atomic(path, s, err);
}

}  // namespace ts
