// Files the trainer reads and writes (base/files.h, the event stream):
// inputs only as regular files (a FIFO neither hangs nor blocks, a device
// never streams without end, a file over its limit is refused), outputs
// never through a symbolic link nor over a special file, temp files left by
// a killed run removed (only ours), and a full disk reported as a failed
// write, the stream cut back to its last whole record.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "base/events.h"
#include "base/files.h"
#include "config/config.h"
#include "support.h"

using namespace ts;
using ts::test::build_file;
using ts::test::contains;
using ts::test::expect;
using ts::test::slurp;
using ts::test::spit;

static const std::string kDir = build_file("files_test_files");

static bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

static void test_inputs() {
  const std::string fifo = kDir + "/in.fifo";
  expect(::mkfifo(fifo.c_str(), 0600) == 0, "a FIFO to read");
  std::string text, err;
  // Before: opening the FIFO waited for a writer forever.
  expect(!read_regular_file(fifo, 1 << 20, "test", text, err) && contains(err, "it is a FIFO, not a regular file"),
         "a FIFO is refused without blocking: " + err);
  expect(!read_regular_file("/dev/zero", 1 << 20, "test", text, err) &&
             contains(err, "it is a character device, not a regular file"),
         "/dev/zero is refused, not read until memory runs out: " + err);
  expect(!read_regular_file(kDir, 1 << 20, "test", text, err) && contains(err, "it is a folder"),
         "a folder is refused: " + err);
  const std::string big = kDir + "/big.txt";
  spit(big, std::string(2000, 'x'));
  expect(!read_regular_file(big, 1000, "the test's limit", text, err) &&
             contains(err, "it holds 2000 bytes, over the limit of 1000 (the test's limit)"),
         "a file over its limit is refused, saying both sizes: " + err);
  expect(read_regular_file(big, 2000, "test", text, err) && text == std::string(2000, 'x'),
         "a regular file at its limit is read whole");
  uint64_t size = 0;
  expect(open_regular_file(fifo, size, err) < 0, "open_regular_file refuses the FIFO too");

  const ParseResult pr = load_config(fifo, {});
  expect(!pr.ok() && pr.diagnostics.size() == 1 &&
             pr.diagnostics[0].format() == fifo + ":1:1: error: cannot read config: it is a FIFO, not a regular file",
         "a FIFO as the config is one diagnostic at 1:1: " +
             (pr.diagnostics.empty() ? std::string() : pr.diagnostics[0].format()));
}

static void test_outputs() {
  const std::string target = kDir + "/precious.txt";
  spit(target, "precious\n");
  // The event stream through a link in the output folder.
  const std::string link = kDir + "/events.jsonl";
  expect(::symlink("precious.txt", link.c_str()) == 0, "a symlink named like the stream");
  std::string err;
  {
    EventWriter ev;
    expect(!ev.open(link, err) && contains(err, "it is a symbolic link"), "the stream is not opened through a link: " + err);
  }
  expect(slurp(target) == "precious\n", "and its target is untouched");
  // A whole-file output onto a link, and a link planted at the old temp name.
  expect(!write_file_atomic(link, "x\n", err) && contains(err, "symbolic link"), "no rename over a link: " + err);
  expect(exists(link) && slurp(target) == "precious\n", "the link and its target stay as they were");
  const std::string summary = kDir + "/summary.json";
  expect(::symlink("precious.txt", (summary + ".tmp").c_str()) == 0, "a symlink at summary.json.tmp");
  expect(write_file_atomic(summary, "{}\n", err) && slurp(summary) == "{}\n", "the summary is written: " + err);
  expect(slurp(target) == "precious\n", "the planted temp link's target is not truncated");
  // Special files and folders are never replaced.
  const std::string fifo = kDir + "/out.fifo";
  expect(::mkfifo(fifo.c_str(), 0600) == 0, "a FIFO as an output");
  expect(!write_file_atomic(fifo, "x\n", err) && contains(err, "it is a FIFO") && contains(err, fifo),
         "a FIFO is not replaced by the rename: " + err);
  struct stat st {};
  expect(::lstat(fifo.c_str(), &st) == 0 && S_ISFIFO(st.st_mode), "it is still a FIFO");
  expect(!probe_output("/dev/null", "trace", err) && contains(err, "cannot write trace '/dev/null'") &&
             contains(err, "character device"),
         "--trace /dev/null is refused, not renamed over: " + err);
  expect(!write_file_atomic(kDir, "x\n", err) && contains(err, "it is a folder"), "a folder is refused: " + err);
  {
    EventWriter ev;
    expect(!ev.open(fifo, err) && contains(err, "FIFO"), "the stream is not opened on a FIFO (nor waits): " + err);
  }

  // Stale temp files: ours go, anything else stays.
  const std::string trace = kDir + "/trace.json";
  for (const std::string& n : {trace + ".1234-0.tmp", trace + ".tmp", kDir + "/trace.json.notours.tmp",
                               kDir + "/other.tmp", kDir + "/trace.json.12-3"})
    spit(n, "stale");
  remove_stale_temps(trace);
  expect(!exists(trace + ".1234-0.tmp") && !exists(trace + ".tmp"), "our stale temp files are removed");
  expect(exists(kDir + "/trace.json.notours.tmp") && exists(kDir + "/other.tmp") && exists(kDir + "/trace.json.12-3"),
         "other files are left alone");
  remove_stale_temps(summary);
  expect(exists(summary + ".tmp") && slurp(target) == "precious\n", "a link is never removed nor followed");

  expect(same_file(kDir, kDir + "/.") && same_file(kDir + "/", kDir + "/../files_test_files") && !same_file(kDir, "native"),
         "folders compare by identity, not spelling");
}

// A tiny tmpfs (root only; skipped with a reason elsewhere).
static void test_full_disk() {
  const std::string mnt = kDir + "/tiny";
  ::mkdir(mnt.c_str(), 0755);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0) {
    std::printf("skip full-disk checks: cannot mount a tmpfs (%s)\n", std::strerror(errno));
    return;
  }
  const std::string path = mnt + "/events.jsonl";
  std::string err;
  EventWriter ev;
  expect(ev.open(path, err), "the stream opens on the tmpfs: " + err);
  const std::string rec = "{\"type\":\"step\",\"pad\":\"" + std::string(900, 'p') + "\"}";
  bool ok = true;
  int flushes = 0;
  while (ok && flushes < 1000) {
    for (int i = 0; i < 7; ++i) ev.record(rec);
    ok = ev.flush();
    ++flushes;
  }
  expect(!ok && ev.failed(), "a full disk fails the flush (before: ignored)");
  expect(contains(ev.error(), "cannot write events file '" + path + "'") && contains(ev.error(), "No space left"),
         "the error names the file and why: " + ev.error());
  ev.record(rec);
  expect(!ev.flush() && !ev.close(), "and every later write fails too");
  const std::string text = slurp(path);
  expect(!text.empty() && text.back() == '\n' && text.size() % (rec.size() + 1) == 0,
         "the stream ends on its last whole record");
  expect(!write_file_atomic(mnt + "/summary.json", std::string(128 << 10, 's'), err) && contains(err, "summary.json") &&
             contains(err, "No space left"),
         "a whole-file write that does not fit fails, naming the file: " + err);
  ::umount(mnt.c_str());
}

int main() {
  const std::string cmd = "rm -rf " + kDir + " && mkdir -p " + kDir;
  if (std::system(cmd.c_str()) != 0) return 1;
  test_inputs();
  test_outputs();
  test_full_disk();
  return test::failures ? 1 : 0;
}
