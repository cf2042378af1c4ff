// Snapshots on disk (train.save_every, --resume): the file format round
// trip and its refusals (not a snapshot, other version, truncated,
// damaged, a damaged soft identity, another model), and training that stops and resumes giving
// bitwise the losses and parameters of a run that never stopped (one rank;
// the 2-rank case runs under mpirun in test/distributed.test.ts).
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "support.h"
#include "train/snapshot.h"
#include "train/step_state.h"
#include "train/trainer.h"

using namespace ts;
using ts::test::build_file;

using ts::test::contains;
using ts::test::expect;
using ts::test::slurp;
using ts::test::spit;

static const std::string kDir = build_file("resume_test_files");


static void test_format() {
  const std::string path = kDir + "/format.bin";
  std::vector<float> a(1000);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i) * 0.125f;
  const std::string text = "hello checkpoint";
  std::vector<SaveSection> sec = {{"text", {{text.data(), text.size()}}},
                                  {"floats", {{a.data(), 400 * 4}, {a.data() + 400, 600 * 4}}}};
  std::string err;
  expect(write_snapshot(path, 0x1234, 42, 2, sec, err), "write: " + err);
  struct stat st {};
  expect(stat((path + ".tmp").c_str(), &st) != 0, "no temp file left behind");
  SnapshotReader r;
  expect(r.open(path, err) && r.step() == 42 && r.ranks() == 2 && r.config_hash() == 0x1234 &&
             r.version() == kSnapshotVersion && r.sections().size() == 2,
         "header read back: " + err);
  bool aligned = true;
  for (const auto& s : r.sections()) aligned = aligned && s.offset % 64 == 0;
  expect(aligned, "sections at 64-byte aligned (64-bit) offsets");
  std::string t;
  std::vector<float> b(1000);
  expect(r.read_string("text", t, err) && t == text, "string section");
  expect(r.read_parts("floats", {{b.data(), 300 * 4}, {b.data() + 300, 700 * 4}}, err) && a == b,
         "float section, read in other pieces than written");
  expect(!r.read("floats", b.data(), 4, err) && contains(err, "holds 4000 bytes"),
         "a size mismatch is refused: " + err);
  expect(!r.read_string("nope", t, err) && contains(err, "no section 'nope'"), "a missing section: " + err);

  const std::string good = slurp(path);
  auto refused = [&](const std::string& bytes, const std::string& want, const std::string& what) {
    const std::string bad = kDir + "/bad.bin";
    spit(bad, bytes);
    SnapshotReader rb;
    std::string e;
    bool ok = rb.open(bad, e);
    std::string s2;
    std::vector<float> f2(1000);
    if (ok) ok = rb.read_string("text", s2, e) && rb.read("floats", f2.data(), 4000, e);
    expect(!ok && contains(e, want), what + ": " + e);
  };
  refused("not a checkpoint at all, just text that is long enough to hold a header....", "is not a TrainScope snapshot",
          "another file");
  std::string v2 = good;
  v2[8] = 2;
  refused(v2, "is snapshot format version 2; this trainer reads version 1", "another format version");
  refused(good.substr(0, good.size() - 100), "is truncated", "a truncated file");
  std::string flipped = good;
  flipped[flipped.size() - 5] ^= 0x40;
  refused(flipped, "section 'floats' fails its checksum", "a damaged section");
  std::string hdr = good;
  hdr[24] ^= 1;  // the step count
  refused(hdr, "header fails its checksum", "a damaged header");
  SnapshotReader none;
  expect(!none.open(kDir + "/missing.bin", err) && contains(err, "cannot open snapshot"), "no file: " + err);

  // Identity: the keys that must match, named when they differ.
  Config c1, c2;
  c2.model.width = 256;
  c2.train.batch = 3;
  const std::string d = identity_differences(snapshot_identity(c1), snapshot_identity(c2));
  expect(contains(d, "model.width 128 in the snapshot, 256 here") &&
             contains(d, "train.batch 8 in the snapshot, 3 here") && !contains(d, "model.vocab"),
         "identity differences name each key: " + d);
  expect(identity_differences(snapshot_identity(c1), snapshot_identity(c1)).empty(), "same identity");
  expect(parse_double(hex_double(0.1), 0) == 0.1 && std::isnan(parse_double(hex_double(NAN), 0)),
         "hex floats round-trip");
  expect(snapshot_file_for("runs/a/") == "runs/a/snapshot.bin", "--resume RUN_DIR reads RUN_DIR/snapshot.bin");
}

// A run of the example (tests/support.h) with its stream, snapshot file
// and resume source.
static test::ExampleRun train(const std::vector<std::string>& overrides, const std::string& events,
                              const std::string& ckpt, const std::string& resume = "") {
  return test::train_example(overrides, {events, ckpt, resume}, true);
}

static void test_resume() {
  // Constant learning rate (the schedule does not depend on train.steps),
  // accumulation (the noise-scale averages are state too), two threads.
  const std::vector<std::string> base = {"train.warmup=0", "train.schedule=constant", "train.accumulate=2",
                                         "train.batch=4", "train.threads=2", "train.eval_every=0",
                                         "model.layers=2",   "model.width=64",         "model.context=32"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> o = base;
    o.insert(o.end(), more.begin(), more.end());
    return o;
  };
  const auto full = train(with({"train.steps=16"}), "", "");
  const std::string ck = kDir + "/run/snapshot.bin";
  const auto first = train(with({"train.steps=10", "train.save_every=5"}), kDir + "/run/events.jsonl", ck);
  expect(first.exit_code == 0 && first.losses.size() == 10, "the first part trains 10 steps and saves");
  const std::string ev = slurp(kDir + "/run/events.jsonl");
  expect(contains(ev, "{\"type\":\"save\",\"step\":5,") && contains(ev, "{\"type\":\"save\",\"step\":10,"),
         "save records at steps 5 and 10");
  const auto rest = train(with({"train.steps=16"}), kDir + "/resumed/events.jsonl", kDir + "/resumed/snapshot.bin",
                            kDir + "/run");
  expect(rest.exit_code == 0 && rest.losses.size() == 6, "the resumed run trains steps 11..16");
  bool same = full.losses.size() == 16 && rest.losses.size() == 6;
  for (size_t i = 0; same && i < 6; ++i) same = full.losses[10 + i] == rest.losses[i];
  expect(same, "resumed losses are bitwise the uninterrupted run's");
  expect(!full.params.empty() && full.params == rest.params, "and so are the final parameters");
  expect(first.losses.size() == 10 && std::equal(first.losses.begin(), first.losses.end(), full.losses.begin()),
         "saving changes nothing in the run");
  const std::string rev = slurp(kDir + "/resumed/events.jsonl");
  expect(contains(rev, "\"resumed_from\":{\"snapshot\":\"" + kDir + "/run/snapshot.bin\",\"step\":10}") &&
             contains(rev, "{\"type\":\"step\",\"step\":11,") && !contains(rev, "\"step\":10,\"loss\""),
         "the resumed stream says where it came from and starts at step 11");

  // Mismatches are clear errors.
  const auto other = train(with({"train.steps=16", "model.width=32"}), "", "", kDir + "/run");
  expect(other.exit_code == 1, "resuming another model fails (exit 1)");
  const auto missing = train(with({"train.steps=16"}), "", "", kDir + "/nowhere");
  expect(missing.exit_code == 1, "resuming from a folder without a snapshot fails");
  const auto finished = train(with({"train.steps=10"}), "", "", kDir + "/run");
  expect(finished.exit_code == 1 && finished.losses.empty(),
         "resuming a snapshot of step 10 with train.steps 10 fails: nothing is left to train");

  // The soft identity only warns when a setting changed, but a flipped byte
  // in it is a damaged file like any other: refused, never resumed silently.
  SnapshotReader r;
  std::string err;
  const SnapshotReader::Section* soft = r.open(ck, err) ? r.find("soft_identity") : nullptr;
  expect(soft != nullptr, "the snapshot holds a soft identity: " + err);
  if (soft) {
    std::string bytes = slurp(ck);
    bytes[size_t(soft->offset + soft->bytes / 2)] ^= 0x01;
    spit(kDir + "/soft/snapshot.bin", bytes);
    const auto flipped = train(with({"train.steps=16"}), "", "", kDir + "/soft");
    expect(flipped.exit_code == 1 && flipped.losses.empty(),
           "a flipped byte in the soft identity fails the resume (exit 1, no step)");
  }
}

// A state section passes its checksum whoever wrote it: values this trainer
// could not have written are refused by key (they were cast to integers,
// undefined behaviour for 1e300 or -1; found by fuzz_snapshot's resealing).
static void test_state_values() {
  Config c;
  c.train.precision = "fp16";
  auto restored = [&](const std::map<std::string, std::string>& st, std::string& err) {
    Progress p;
    NoiseScale noise;
    LossScaler scaler(true);
    return restore_state(st, 5, p, noise, scaler, err);
  };
  std::string err;
  const auto good = snapshot_state(5, c, 1, Progress{5, 40, 2.0, 1.5, NAN, 5, 0}, NoiseScale(), LossScaler(true));
  expect(restored(good, err), "the trainer's own state restores: " + err);
  struct Case { const char* key; const char* value; };
  for (const Case& k : {Case{"tokens", "1e300"}, Case{"tokens", "-1"}, Case{"noise_n", "12x"},
                        Case{"loss_scale_clean", "4294967296"}, Case{"optimizer_steps", ""},
                        Case{"first_loss", "loss"}, Case{"loss_scale", "0x0p+0"}, Case{"loss_scale", "inf"}}) {
    auto st = good;
    st[k.key] = k.value;
    err.clear();
    expect(!restored(st, err) && contains(err, std::string("state key '") + k.key + "' is '" + k.value + "'"),
           std::string("state ") + k.key + " '" + k.value + "' is refused by key: " + err);
  }
  auto older = good;
  older.erase("noise_n");
  err.clear();
  expect(restored(older, err), "a key an older writer did not write takes its default: " + err);
}

int main() {
  std::string cmd = "mkdir -p " + kDir + "/run " + kDir + "/resumed " + kDir + "/soft";
  if (std::system(cmd.c_str()) != 0) return 1;
  test_format();
  test_state_values();
  test_resume();
  return test::report("test_resume");
}
