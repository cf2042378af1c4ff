#include "base/events.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "base/json.h"

namespace ts {

EventWriter::~EventWriter() { close(); }

bool EventWriter::open(const std::string& path, std::string& err) {
  if (path.empty()) return true;
  if (!check_output_path(path, "events file", err)) return false;
  // O_NOFOLLOW: a link planted since the check is refused, not followed;
  // O_NONBLOCK: nor can a FIFO put there make the open wait. O_APPEND: the
  // records a rank writes as it ends the job (append_final) land at the
  // end, also through a descriptor opened again after close.
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    err = "cannot create events file '" + path + "': " +
          (fd_ >= 0 ? std::string("not a regular file") : std::string(std::strerror(errno)));
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return false;
  }
  path_ = path;
  return true;
}

void EventWriter::record(const std::string& json) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0 || sealed_) return;
  buf_ += json;
  buf_.push_back('\n');
}

void EventWriter::fail(const std::string& what) {
  error_ = "cannot write events file '" + path_ + "'" + what + ": " + std::strerror(errno);
  // A reader must never meet half a record: the stream ends at the last
  // whole one.
  if (::ftruncate(fd_, off_t(written_)) != 0) error_ += " (and it ends in a partial record)";
  ::close(fd_);
  fd_ = -1;
  buf_.clear();
}

bool EventWriter::flush() {
  std::lock_guard<std::mutex> lock(mu_);
  return flush_locked();
}

bool EventWriter::flush_locked() {
  if (sealed_) buf_.clear();
  if (fd_ < 0 || buf_.empty()) return !failed();
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    const ssize_t w = ::write(fd_, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = ENOSPC;
      fail("");
      return false;
    }
    p += w;
    left -= size_t(w);
  }
  written_ += buf_.size();
  buf_.clear();
  return true;
}

void EventWriter::append_final(const std::string& lines) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sealed_ || path_.empty() || failed()) return;
  sealed_ = true;
  buf_.clear();
  const bool reopened = fd_ < 0;
  const int fd = reopened ? ::open(path_.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : fd_;
  if (fd < 0) return;
  // One write: the lines land whole, together (O_APPEND). Nothing is left
  // to tell when it fails: the job is ending.
  const ssize_t n = ::write(fd, lines.data(), lines.size());
  if (n > 0) written_ += uint64_t(n);
  if (reopened) ::close(fd);
}

bool EventWriter::close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) return !failed();
  if (!flush_locked()) return false;
  if (::fsync(fd_) != 0 && errno != EINVAL) {
    fail(" (sync)");
    return false;
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    error_ = "cannot write events file '" + path_ + "' (close): " + std::strerror(errno);
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
