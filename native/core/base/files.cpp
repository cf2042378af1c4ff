#include "base/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace ts {

namespace {

std::string sys_error() { return std::strerror(errno); }

// What a file that is not a regular file is, for messages.
const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a folder";
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

std::string not_regular(mode_t m) { return std::string("it is ") + kind_of(m) + ", not a regular file"; }

std::string base_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// AtomicFile's temp names: "<target>.<pid>-<n>.tmp", unique per process and
// call, so O_EXCL never meets a file another run (or an attacker) put there.
std::string temp_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + "." + std::to_string(long(::getpid())) + "-" + std::to_string(counter++) + ".tmp";
}

bool is_temp_name_for(const std::string& name, const std::string& base) {
  if (name == base + ".tmp") return true;  // the name runs before this one used
  const std::string pre = base + ".", post = ".tmp";
  if (name.size() <= pre.size() + post.size() || name.compare(0, pre.size(), pre) != 0 ||
      name.compare(name.size() - post.size(), post.size(), post) != 0)
    return false;
  const std::string mid = name.substr(pre.size(), name.size() - pre.size() - post.size());
  const size_t dash = mid.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == mid.size()) return false;
  return std::all_of(mid.begin(), mid.end(), [](char c) { return c == '-' || (c >= '0' && c <= '9'); }) &&
         mid.find('-', dash + 1) == std::string::npos;
}

bool write_all(int fd, const void* p, uint64_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const size_t chunk = size_t(std::min<uint64_t>(n, uint64_t(1) << 30));
    const ssize_t w = ::write(fd, c, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    c += w;
    n -= uint64_t(w);
  }
  return true;
}

}  // namespace

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

int open_regular_file(const std::string& path, uint64_t& size, std::string& err) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int e = errno;
    struct stat st {};
    // A socket cannot be opened at all (ENXIO); say what it is.
    err = ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) ? not_regular(st.st_mode) : std::strerror(e);
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    err = st.st_mode == 0 ? sys_error() : not_regular(st.st_mode);
    ::close(fd);
    return -1;
  }
  // Regular files never block; reads stay plain blocking reads.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  size = uint64_t(st.st_size);
  return fd;
}

bool read_regular_file(const std::string& path, uint64_t max_bytes, const std::string& limit_why,
                       std::string& out, std::string& err) {
  uint64_t size = 0;
  const int fd = open_regular_file(path, size, err);
  if (fd < 0) return false;
  if (size > max_bytes) {
    err = "it holds " + std::to_string(size) + " bytes, over the limit of " + std::to_string(max_bytes) +
          " (" + limit_why + ")";
    ::close(fd);
    return false;
  }
  // Read what fstat said plus one byte: a file that grows while it is read
  // is cut at its size then, never read without end.
  out.assign(size_t(size) + 1, '\0');
  uint64_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, &out[size_t(got)], out.size() - size_t(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = "reading failed: " + sys_error();
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    got += uint64_t(n);
  }
  ::close(fd);
  out.resize(size_t(std::min(got, size)));
  return true;
}

bool check_output_path(const std::string& path, const std::string& what, std::string& err) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return true;
    err = "cannot create " + what + " '" + path + "': " + sys_error();
    return false;
  }
  if (S_ISREG(st.st_mode)) return true;
  err = "cannot write " + what + " '" + path + "': " + not_regular(st.st_mode) +
        " (outputs replace only regular files)";
  return false;
}

bool probe_output(const std::string& path, const std::string& what, std::string& err) {
  if (path.empty()) return true;
  if (!check_output_path(path, what, err)) return false;
  AtomicFile f;
  return f.begin(path, err);  // f's destructor removes the probe
}

AtomicFile::~AtomicFile() { abandon(); }

void AtomicFile::abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

bool AtomicFile::begin(const std::string& path, std::string& err) {
  abandon();
  path_ = path;
  if (!check_output_path(path, "file", err)) return false;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string tmp = temp_name(path);
    fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd_ >= 0) {
      tmp_ = tmp;
      return true;
    }
    if (errno != EEXIST) {
      err = "cannot create '" + path + "' (its temp file '" + tmp + "'): " + sys_error();
      return false;
    }
  }
  err = "cannot create a temp file beside '" + path + "': every name tried exists";
  return false;
}

bool AtomicFile::write(const void* data, uint64_t bytes, std::string& err) {
  if (fd_ >= 0 && write_all(fd_, data, bytes)) return true;
  err = "cannot write '" + path_ + "' (through '" + tmp_ + "'): " + sys_error();
  abandon();
  return false;
}

bool AtomicFile::commit(std::string& err) {
  if (fd_ < 0) {
    err = "cannot write '" + path_ + "': not open";
    return false;
  }
  if (::fsync(fd_) != 0) {
    err = "cannot write '" + path_ + "' (sync of '" + tmp_ + "'): " + sys_error();
    abandon();
    return false;
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    err = "cannot write '" + path_ + "' (closing '" + tmp_ + "'): " + sys_error();
    abandon();
    return false;
  }
  // What is there now must still be a regular file (or nothing) to replace.
  if (!check_output_path(path_, "file", err)) {
    abandon();
    return false;
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    err = "cannot rename '" + tmp_ + "' to '" + path_ + "': " + sys_error();
    abandon();
    return false;
  }
  tmp_.clear();
  // The rename itself reaches the disk with the folder.
  const int dfd = ::open(folder_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    // Some file systems cannot sync a folder (EINVAL): the file is there anyway.
    const bool ok = ::fsync(dfd) == 0 || errno == EINVAL;
    const std::string why = ok ? "" : sys_error();
    ::close(dfd);
    if (!ok) {
      err = "cannot write '" + path_ + "' (sync of its folder): " + why;
      return false;
    }
  }
  return true;
}

bool write_file_atomic(const std::string& path, const std::string& text, std::string& err) {
  AtomicFile f;
  return f.begin(path, err) && f.write(text.data(), text.size(), err) && f.commit(err);
}

void remove_stale_temps(const std::string& path) {
  if (path.empty()) return;
  const std::string dir = folder_of(path), base = base_of(path);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (!is_temp_name_for(name, base)) continue;
    const std::string full = dir + "/" + name;
    struct stat st {};
    if (::lstat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(full.c_str());
  }
  ::closedir(d);
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace ts
