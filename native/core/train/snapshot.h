// Training snapshots on disk (train.save_every, --resume): one file,
// written atomically (temp file, fsync, rename, fsync of the folder), read
// back with every byte checked.
//
// Layout (little-endian; all offsets and sizes 64-bit):
//   0   char[8]  magic "TSCKPT\r\n"
//   8   u32      format version (kSnapshotVersion)
//   12  u32      byte-order mark 0x01020304
//   16  u64      config hash (FNV-1a of snapshot_identity(config))
//   24  i64      training steps finished
//   32  u32      ranks
//   36  u32      number of sections
//   40  u64      FNV-1a of the header and the section table (this field zero)
//   48  section table, 72 bytes per section: char name[48] (NUL-padded),
//       u64 offset, u64 bytes, u64 FNV-1a of the section's bytes
//   then the sections, each at a 64-byte aligned offset.
//
// Sections a training snapshot holds: "identity" (the config keys that
// must match to resume, as text), "config" (the resolved config JSON),
// "state" (trainer state as `key value` lines, floats in hex so they
// round-trip exactly), "layers" (u64 parameter count per layer), "params",
// "adam_m", "adam_v" (fp32, layer after layer). Readers skip sections they do
// not know, so later versions can add some without a format bump.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "dist/comm.h"
#include "model/backend.h"

namespace ts {

constexpr uint32_t kSnapshotVersion = 1;

struct SaveSection {
  std::string name;
  std::vector<std::pair<const void*, uint64_t>> parts;  // concatenated
};

// Writes path atomically. false + err on failure (the old file, if any,
// is left as it was).
bool write_snapshot(const std::string& path, uint64_t config_hash, int64_t step,
                    uint32_t ranks, const std::vector<SaveSection>& sections, std::string& err);

class SnapshotReader {
 public:
  struct Section {
    std::string name;
    uint64_t offset = 0, bytes = 0, checksum = 0;
  };
  ~SnapshotReader();
  // Reads and checks the header and section table; false + err naming the
  // file and what is wrong (not a snapshot, other version, truncated...).
  bool open(const std::string& path, std::string& err);
  uint32_t version() const { return version_; }
  uint64_t config_hash() const { return hash_; }
  int64_t step() const { return step_; }
  uint32_t ranks() const { return ranks_; }
  const std::vector<Section>& sections() const { return sections_; }
  const Section* find(const std::string& name) const;
  // Reads a whole section into dst, which must hold exactly the section's
  // bytes; the checksum is verified.
  bool read(const std::string& name, void* dst, uint64_t bytes, std::string& err);
  bool read_string(const std::string& name, std::string& out, std::string& err);
  // Reads a section in parts (each part's bytes; they must add up to the
  // section's size), checking its checksum at the end.
  bool read_parts(const std::string& name, const std::vector<std::pair<void*, uint64_t>>& parts,
                  std::string& err);

 private:
  std::string path_;
  void* f_ = nullptr;  // FILE*
  uint64_t file_bytes_ = 0;
  uint32_t version_ = 0, ranks_ = 0;
  uint64_t hash_ = 0;
  int64_t step_ = 0;
  std::vector<Section> sections_;
};

uint64_t fnv1a64(const void* data, size_t n, uint64_t h = 1469598103934665603ull);

// The config keys a snapshot must agree on to be resumed (model shape,
// data, batch per rank, accumulation, seed, precision, ranks), one
// "section.key value" per line.
std::string snapshot_identity(const Config& c);
// Keys that may change on resume but change the losses (learning rate and
// the rest of the optimizer, steps, threads): same format.
std::string snapshot_soft_identity(const Config& c);
// The keys whose values differ between two identity texts, as
// "model.width 128 in the snapshot, 256 here; ..."; "" when equal.
std::string identity_differences(const std::string& saved, const std::string& now);

// `key value` lines (values are strings; use hex floats for doubles).
std::string kv_encode(const std::map<std::string, std::string>& kv);
std::map<std::string, std::string> kv_decode(const std::string& text);
std::string hex_double(double v);
double parse_double(const std::string& s, double fallback);

// A whole training snapshot: identity, config, trainer state (`state`:
// key/value lines the trainer owns), per-layer sizes, parameters and AdamW
// moments of `model`, as of `step` finished steps.
bool save_snapshot(const std::string& path, const Config& cfg, TrainModel& model,
                   int64_t step, const std::map<std::string, std::string>& state,
                   std::string& err);
// Reads one back into `model` (built from the same config), after checking
// the identity (a mismatch is an error naming every differing key) and
// noting in `warnings` the optimizer settings that changed (they change
// the losses).
bool load_snapshot(const std::string& path, const Config& cfg, TrainModel& model,
                   int64_t& step, std::map<std::string, std::string>& state,
                   std::vector<std::string>& warnings, std::string& err);
// Sends what rank 0 loaded (parameters, moments, step, state) to every rank.
bool broadcast_training_state(const World& w, TrainModel& model, int64_t& step,
                              std::map<std::string, std::string>& state, std::string& err);

// Where --resume RUN reads: RUN/snapshot.bin when RUN is a folder, else RUN
// itself (so that a FIFO or a device is refused as such by the reader).
std::string snapshot_file_for(const std::string& run);

// The resumed run's records go to a folder of their own, so the old run's
// stream and snapshot stay as they were: false + err naming the first of
// `outputs` ("" = none) in the folder of the snapshot `resume` names.
// Folders compare by identity (device and inode), not by spelling.
bool resume_outputs_apart(const std::string& resume, const std::vector<std::string>& outputs, std::string& err);

}  // namespace ts
