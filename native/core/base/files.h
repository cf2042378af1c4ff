// The one home for touching files a config or the command line names.
//
// Inputs (the config, data files, a snapshot to resume) are read only when
// they are regular files: a FIFO would block the reader forever (and with
// it SIGINT), a device like /dev/zero never ends. They are opened
// non-blocking, then fstat'ed, so not even the open can hang.
//
// Outputs are never written through a symbolic link and never replace
// anything but a regular file: a whole-file output is written to a fresh
// temp file beside it (O_EXCL | O_NOFOLLOW, a name no one else uses) and
// renamed over the target; the event stream is opened O_NOFOLLOW.
#pragma once
#include <cstdint>
#include <string>

namespace ts {

// Reads the regular file `path` whole into out, refusing anything else and
// files over max_bytes (`limit_why` says what the limit is for, as in
// "a config is at most 1 MiB"). false + err naming the file.
bool read_regular_file(const std::string& path, uint64_t max_bytes, const std::string& limit_why,
                       std::string& out, std::string& err);

// Opens the regular file `path` for reading (O_CLOEXEC); returns the
// descriptor and its size, or -1 + err naming the file and what it is.
int open_regular_file(const std::string& path, uint64_t& size, std::string& err);

// An output path may be absent or a regular file; a symbolic link, a folder
// or a special file is refused. `what` names the output in err ("events
// file", "trace").
bool check_output_path(const std::string& path, const std::string& what, std::string& err);

// Checks path as an output and that a file can be created beside it (the
// run fails before training, not after it).
bool probe_output(const std::string& path, const std::string& what, std::string& err);

// A whole-file output: written to a temp file beside the target, synced,
// then renamed onto it, so readers never see half a file and a failed
// write leaves the old file as it was. The temp file is removed unless
// commit() succeeded.
class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  bool begin(const std::string& path, std::string& err);
  bool write(const void* data, uint64_t bytes, std::string& err);
  bool commit(std::string& err);

 private:
  void abandon();
  std::string path_, tmp_;
  int fd_ = -1;
};

// Writes text to path as an AtomicFile.
bool write_file_atomic(const std::string& path, const std::string& text, std::string& err);

// Removes the temp files a killed run left beside `path` (only names
// AtomicFile makes for it, and the older `path.tmp`; only regular files).
void remove_stale_temps(const std::string& path);

// The folder holding path ("." for a bare name).
std::string folder_of(const std::string& path);

// Whether two existing paths are the same file or folder (st_dev and
// st_ino, so links and other spellings compare equal).
bool same_file(const std::string& a, const std::string& b);

}  // namespace ts
