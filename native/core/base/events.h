// The event stream (JSON Lines, schema in docs/events.md) and the Chrome
// trace. Records are appended to an in-memory buffer and written with one
// write per finished step, so profiling costs a few string appends per
// record and an interrupted run keeps every record up to its last step.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "base/files.h"

namespace ts {

constexpr int kEventSchema = 1;

class EventWriter {
 public:
  EventWriter() = default;
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // Empty path: records are dropped. Returns false with err set when the
  // file cannot be created, or when the path is a symbolic link, a folder
  // or a special file (the stream is written only as a regular file).
  bool open(const std::string& path, std::string& err);
  // One JSON object, without the newline.
  void record(const std::string& json);
  // Writes buffered records through to the file. The first write that
  // fails (a full disk) cuts the file back to its last whole record and
  // closes it: false from then on, error() saying which file and why, and
  // later records are dropped.
  bool flush();
  // Flushes, syncs and closes the file; false (error() set) when any write
  // of the stream failed.
  bool close();
  // The job is ending from another thread (a rank's watchdog or abort):
  // `lines` (whole records) are appended in one write after whatever flush
  // is in flight, and the stream is sealed: later records and flushes are
  // dropped, so nothing lands after the summary among them. Opens the file
  // again if it was already closed.
  void append_final(const std::string& lines);
  bool active() const { return fd_ >= 0; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  void fail(const std::string& what);
  bool flush_locked();
  // record(), flush() and close() run on the training thread, append_final
  // on whichever thread ends the job.
  std::mutex mu_;
  bool sealed_ = false;
  int fd_ = -1;
  std::string path_;
  std::string buf_;
  std::string error_;
  uint64_t written_ = 0;  // bytes of whole records in the file
};

struct TraceSpan {
  int rank;
  int lane;           // 0 = steps, 1 = layers (compute); later lanes: comm
  std::string name;   // "block.3 fwd", "step 10"
  std::string cat;    // phase
  double t0, t1;      // µs since run start
  int64_t step;
  int layer;          // -1 when the span is not a layer's
};

struct TraceCounter {
  int rank;
  std::string name;   // "memory"
  double t;
  std::vector<std::pair<std::string, double>> series;
};

// Collects spans of sampled steps and writes them as a Chrome trace JSON
// object (traceEvents, µs, a pid per rank, named lanes) that Perfetto and
// chrome://tracing open.
class TraceBuilder {
 public:
  // Past kMaxEvents the trace keeps what it has (the run's start) and notes
  // the truncation: a trace is for looking at, and Perfetto slows to a crawl
  // long before that many events anyway.
  static constexpr size_t kMaxEvents = 500000;
  void span(TraceSpan s) {
    if (full()) return;
    spans_.push_back(std::move(s));
  }
  void counter(TraceCounter c) {
    if (full()) return;
    counters_.push_back(std::move(c));
  }
  bool full() const {
    if (spans_.size() + counters_.size() < kMaxEvents) return false;
    truncated_ = true;
    return true;
  }
  // Writes atomically (temp file, then rename). false + err on failure.
  bool write(const std::string& path, const std::vector<std::string>& lane_names,
             const std::string& metadata_json, std::string& err) const;
  size_t size() const { return spans_.size(); }

 private:
  std::vector<TraceSpan> spans_;
  std::vector<TraceCounter> counters_;
  mutable bool truncated_ = false;
};

}  // namespace ts
