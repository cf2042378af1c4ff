#include "train/snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "base/files.h"

namespace ts {

namespace {

constexpr char kMagic[8] = {'T', 'S', 'C', 'K', 'P', 'T', '\r', '\n'};
constexpr uint32_t kByteOrder = 0x01020304;
constexpr size_t kHeaderBytes = 48;
constexpr size_t kNameBytes = 48;
constexpr size_t kEntryBytes = kNameBytes + 24;
constexpr uint64_t kAlign = 64;

template <typename T>
void put(std::string& s, size_t at, T v) {
  std::memcpy(&s[at], &v, sizeof v);
}
template <typename T>
T get(const std::string& s, size_t at) {
  T v;
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}

std::string sys_error() { return std::strerror(errno); }

}  // namespace

uint64_t fnv1a64(const void* data, size_t n, uint64_t h) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

bool write_snapshot(const std::string& path, uint64_t config_hash, int64_t step, uint32_t ranks,
                    const std::vector<SaveSection>& sections, std::string& err) {
  // Header and table first (checksums filled in as the sections stream out).
  const size_t table = kHeaderBytes + sections.size() * kEntryBytes;
  std::string head(table, '\0');
  std::memcpy(&head[0], kMagic, 8);
  put<uint32_t>(head, 8, kSnapshotVersion);
  put<uint32_t>(head, 12, kByteOrder);
  put<uint64_t>(head, 16, config_hash);
  put<int64_t>(head, 24, step);
  put<uint32_t>(head, 32, ranks);
  put<uint32_t>(head, 36, uint32_t(sections.size()));
  uint64_t at = (table + kAlign - 1) / kAlign * kAlign;
  for (size_t i = 0; i < sections.size(); ++i) {
    const SaveSection& s = sections[i];
    if (s.name.empty() || s.name.size() >= kNameBytes) {
      err = "snapshot section name '" + s.name + "' is empty or too long";
      return false;
    }
    uint64_t bytes = 0, h = fnv1a64(nullptr, 0);
    for (const auto& p : s.parts) {
      bytes += p.second;
      h = fnv1a64(p.first, size_t(p.second), h);
    }
    const size_t e = kHeaderBytes + i * kEntryBytes;
    std::memcpy(&head[e], s.name.data(), s.name.size());
    put<uint64_t>(head, e + kNameBytes, at);
    put<uint64_t>(head, e + kNameBytes + 8, bytes);
    put<uint64_t>(head, e + kNameBytes + 16, h);
    at = (at + bytes + kAlign - 1) / kAlign * kAlign;
  }
  put<uint64_t>(head, 40, fnv1a64(head.data(), head.size()));

  AtomicFile f;
  if (!f.begin(path, err) || !f.write(head.data(), head.size(), err)) return false;
  uint64_t pos = head.size();
  static const char zeros[kAlign] = {0};
  for (size_t i = 0; i < sections.size(); ++i) {
    const uint64_t off = get<uint64_t>(head, kHeaderBytes + i * kEntryBytes + kNameBytes);
    if (!f.write(zeros, off - pos, err)) return false;
    pos = off;
    for (const auto& p : sections[i].parts) {
      if (!f.write(p.first, p.second, err)) return false;
      pos += p.second;
    }
  }
  return f.commit(err);
}

SnapshotReader::~SnapshotReader() {
  if (f_) std::fclose(static_cast<FILE*>(f_));
}

bool SnapshotReader::open(const std::string& path, std::string& err) {
  path_ = path;
  const int fd = open_regular_file(path, file_bytes_, err);
  if (fd < 0) {
    err = "cannot open snapshot '" + path + "': " + err;
    return false;
  }
  FILE* f = ::fdopen(fd, "rb");
  if (!f) {
    err = "cannot read snapshot '" + path + "': " + sys_error();
    ::close(fd);
    return false;
  }
  f_ = f;
  std::string head(kHeaderBytes, '\0');
  if (file_bytes_ < kHeaderBytes || std::fread(&head[0], 1, kHeaderBytes, f) != kHeaderBytes ||
      std::memcmp(head.data(), kMagic, 8) != 0) {
    err = "'" + path + "' is not a TrainScope snapshot";
    return false;
  }
  if (get<uint32_t>(head, 12) != kByteOrder) {
    err = "'" + path + "' was written on a machine of the other byte order";
    return false;
  }
  version_ = get<uint32_t>(head, 8);
  if (version_ != kSnapshotVersion) {
    err = "'" + path + "' is snapshot format version " + std::to_string(version_) +
          "; this trainer reads version " + std::to_string(kSnapshotVersion);
    return false;
  }
  hash_ = get<uint64_t>(head, 16);
  step_ = get<int64_t>(head, 24);
  ranks_ = get<uint32_t>(head, 32);
  const uint32_t n = get<uint32_t>(head, 36);
  const uint64_t table = kHeaderBytes + uint64_t(n) * kEntryBytes;
  if (n > 100000 || table > file_bytes_) {
    err = "'" + path + "' is truncated or damaged (its section table does not fit in the file)";
    return false;
  }
  head.resize(size_t(table));
  if (std::fread(&head[kHeaderBytes], 1, size_t(table - kHeaderBytes), f) != table - kHeaderBytes) {
    err = "cannot read snapshot '" + path + "': " + sys_error();
    return false;
  }
  const uint64_t want = get<uint64_t>(head, 40);
  put<uint64_t>(head, 40, 0);
  if (fnv1a64(head.data(), head.size()) != want) {
    err = "'" + path + "' is damaged: its header fails its checksum";
    return false;
  }
  sections_.clear();
  for (uint32_t i = 0; i < n; ++i) {
    const size_t e = kHeaderBytes + size_t(i) * kEntryBytes;
    Section s;
    s.name.assign(head.data() + e, strnlen(head.data() + e, kNameBytes));
    s.offset = get<uint64_t>(head, e + kNameBytes);
    s.bytes = get<uint64_t>(head, e + kNameBytes + 8);
    s.checksum = get<uint64_t>(head, e + kNameBytes + 16);
    if (s.offset > file_bytes_ || s.bytes > file_bytes_ - s.offset) {
      err = "'" + path + "' is truncated: section '" + s.name + "' ends at byte " +
            std::to_string(s.offset + s.bytes) + " but the file has " + std::to_string(file_bytes_);
      return false;
    }
    sections_.push_back(std::move(s));
  }
  return true;
}

const SnapshotReader::Section* SnapshotReader::find(const std::string& name) const {
  for (const auto& s : sections_)
    if (s.name == name) return &s;
  return nullptr;
}

bool SnapshotReader::read_parts(const std::string& name,
                                  const std::vector<std::pair<void*, uint64_t>>& parts,
                                  std::string& err) {
  const Section* s = find(name);
  if (!s) {
    err = "'" + path_ + "' has no section '" + name + "'";
    return false;
  }
  uint64_t total = 0;
  for (const auto& p : parts) total += p.second;
  if (total != s->bytes) {
    err = "'" + path_ + "' section '" + name + "' holds " + std::to_string(s->bytes) +
          " bytes where this model needs " + std::to_string(total);
    return false;
  }
  FILE* f = static_cast<FILE*>(f_);
  if (fseeko(f, off_t(s->offset), SEEK_SET) != 0) {
    err = "cannot read snapshot '" + path_ + "': " + sys_error();
    return false;
  }
  uint64_t h = fnv1a64(nullptr, 0);
  for (const auto& p : parts) {
    char* dst = static_cast<char*>(p.first);
    uint64_t left = p.second;
    while (left > 0) {
      const size_t chunk = size_t(std::min<uint64_t>(left, uint64_t(1) << 30));
      if (std::fread(dst, 1, chunk, f) != chunk) {
        err = "cannot read snapshot '" + path_ + "' (section '" + name + "'): " +
              (std::feof(f) ? std::string("unexpected end of file") : sys_error());
        return false;
      }
      h = fnv1a64(dst, chunk, h);
      dst += chunk;
      left -= chunk;
    }
  }
  if (h != s->checksum) {
    err = "'" + path_ + "' is damaged: section '" + name + "' fails its checksum";
    return false;
  }
  return true;
}

bool SnapshotReader::read(const std::string& name, void* dst, uint64_t bytes, std::string& err) {
  return read_parts(name, {{dst, bytes}}, err);
}

bool SnapshotReader::read_string(const std::string& name, std::string& out, std::string& err) {
  const Section* s = find(name);
  if (!s) {
    err = "'" + path_ + "' has no section '" + name + "'";
    return false;
  }
  out.assign(size_t(s->bytes), '\0');
  return read_parts(name, {{&out[0], s->bytes}}, err);
}

// ---------------------------------------------------------------------------
// Identity

namespace {
std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

std::string snapshot_identity(const Config& c) {
  std::ostringstream s;
  s << "model.type " << c.model.type << "\n";
  s << "model.vocab " << c.model.vocab << "\n";
  s << "model.context " << c.model.context << "\n";
  s << "model.layers " << c.model.layers << "\n";
  s << "model.width " << c.model.width << "\n";
  s << "model.heads " << c.model.heads << "\n";
  s << "data.source " << c.data.source << "\n";
  s << "data.path " << c.data.path << "\n";
  s << "data.val_fraction " << num(c.data.val_fraction) << "\n";
  s << "data.seed " << c.data.seed << "\n";
  s << "train.batch " << c.train.batch << "\n";
  s << "train.accumulate " << c.train.accumulate << "\n";
  s << "train.seed " << c.train.seed << "\n";
  s << "train.precision " << c.train.precision << "\n";
  s << "parallel.ranks " << c.parallel.ranks << "\n";
  return s.str();
}

std::string snapshot_soft_identity(const Config& c) {
  std::ostringstream s;
  s << "train.steps " << c.train.steps << "\n";
  s << "train.lr " << num(c.train.lr) << "\n";
  s << "train.min_lr " << num(c.train.min_lr) << "\n";
  s << "train.warmup " << c.train.warmup << "\n";
  s << "train.schedule " << c.train.schedule << "\n";
  s << "train.weight_decay " << num(c.train.weight_decay) << "\n";
  s << "train.beta1 " << num(c.train.beta1) << "\n";
  s << "train.beta2 " << num(c.train.beta2) << "\n";
  s << "train.eps " << num(c.train.eps) << "\n";
  s << "train.grad_clip " << num(c.train.grad_clip) << "\n";
  s << "train.threads " << c.train.threads << "\n";
  s << "train.checkpoint " << c.train.checkpoint << "\n";
  s << "parallel.bucket " << c.parallel.bucket << "\n";
  s << "parallel.backend " << c.parallel.backend << "\n";
  return s.str();
}

std::string identity_differences(const std::string& saved, const std::string& now) {
  // Identities are "key value" lines, the form of the state section.
  const auto a = kv_decode(saved), b = kv_decode(now);
  std::string out;
  auto shown = [](const std::string& v) { return v.empty() ? std::string("(empty)") : v; };
  for (const auto& kv : b) {
    auto it = a.find(kv.first);
    const std::string was = it == a.end() ? "(unset)" : shown(it->second);
    if (it == a.end() || it->second != kv.second) {
      if (!out.empty()) out += "; ";
      out += kv.first + " " + was + " in the snapshot, " + shown(kv.second) + " here";
    }
  }
  for (const auto& kv : a)
    if (!b.count(kv.first)) {
      if (!out.empty()) out += "; ";
      out += kv.first + " " + shown(kv.second) + " in the snapshot, unknown here";
    }
  return out;
}

std::string kv_encode(const std::map<std::string, std::string>& kv) {
  std::string s;
  for (const auto& e : kv) s += e.first + " " + e.second + "\n";
  return s;
}

std::map<std::string, std::string> kv_decode(const std::string& text) {
  std::map<std::string, std::string> m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t sp = line.find(' ');
    if (sp == std::string::npos) m[line] = "";
    else m[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return m;
}

std::string hex_double(double v) {
  if (std::isnan(v)) return "nan";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

double parse_double(const std::string& s, double fallback) {
  if (s == "nan") return NAN;
  if (s.empty()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end && *end == 0 ? v : fallback;
}

bool save_snapshot(const std::string& path, const Config& cfg, TrainModel& model,
                   int64_t step, const std::map<std::string, std::string>& state,
                   std::string& err) {
  const std::string identity = snapshot_identity(cfg);
  const std::string soft = snapshot_soft_identity(cfg);
  const std::string config = config_to_json(cfg);
  const std::string st = kv_encode(state);
  std::vector<uint64_t> sizes;
  for (int l = 0; l < model.num_layers(); ++l) sizes.push_back(model.layer_params(l));
  std::vector<SaveSection> sec;
  sec.push_back({"identity", {{identity.data(), identity.size()}}});
  sec.push_back({"soft_identity", {{soft.data(), soft.size()}}});
  sec.push_back({"config", {{config.data(), config.size()}}});
  sec.push_back({"state", {{st.data(), st.size()}}});
  sec.push_back({"layers", {{sizes.data(), sizes.size() * sizeof(uint64_t)}}});
  SaveSection p{"params", {}}, m{"adam_m", {}}, v{"adam_v", {}};
  for (int l = 0; l < model.num_layers(); ++l) {
    const uint64_t bytes = uint64_t(model.layer_params(l)) * sizeof(float);
    p.parts.push_back({model.params(l), bytes});
    m.parts.push_back({model.adam_m(l), bytes});
    v.parts.push_back({model.adam_v(l), bytes});
  }
  sec.push_back(std::move(p));
  sec.push_back(std::move(m));
  sec.push_back(std::move(v));
  return write_snapshot(path, fnv1a64(identity.data(), identity.size()), step,
                          uint32_t(cfg.parallel.ranks), sec, err);
}

bool load_snapshot(const std::string& path, const Config& cfg, TrainModel& model,
                   int64_t& step, std::map<std::string, std::string>& state,
                   std::vector<std::string>& warnings, std::string& err) {
  SnapshotReader r;
  if (!r.open(path, err)) return false;
  const std::string identity = snapshot_identity(cfg);
  std::string saved;
  if (!r.read_string("identity", saved, err)) return false;
  if (r.config_hash() != fnv1a64(identity.data(), identity.size()) || saved != identity) {
    const std::string diff = identity_differences(saved, identity);
    err = "'" + path + "' was written by another setup and cannot be resumed with this config: " +
          (diff.empty() ? std::string("its config hash differs") : diff);
    return false;
  }
  // The soft identity is advisory (a change only warns), and a snapshot
  // without one (older writers) resumes; but a damaged one is a damaged
  // file, which no part of the state should be trusted from.
  std::string soft;
  if (r.find("soft_identity")) {
    if (!r.read_string("soft_identity", soft, err)) return false;
    const std::string diff = identity_differences(soft, snapshot_soft_identity(cfg));
    if (!diff.empty())
      warnings.push_back("resuming with changed settings (" + diff +
                         "): the losses will differ from an uninterrupted run");
  }
  std::string st;
  if (!r.read_string("state", st, err)) return false;
  std::vector<uint64_t> sizes(size_t(model.num_layers()));
  if (!r.read("layers", sizes.data(), sizes.size() * sizeof(uint64_t), err)) return false;
  for (int l = 0; l < model.num_layers(); ++l)
    if (sizes[size_t(l)] != model.layer_params(l)) {
      err = "'" + path + "' holds " + std::to_string(sizes[size_t(l)]) + " parameters for layer " +
            std::to_string(l) + " where this model has " + std::to_string(model.layer_params(l));
      return false;
    }
  std::vector<std::pair<void*, uint64_t>> p, m, v;
  for (int l = 0; l < model.num_layers(); ++l) {
    const uint64_t bytes = uint64_t(model.layer_params(l)) * sizeof(float);
    p.push_back({model.params(l), bytes});
    m.push_back({model.adam_m(l), bytes});
    v.push_back({model.adam_v(l), bytes});
  }
  if (!r.read_parts("params", p, err) || !r.read_parts("adam_m", m, err) ||
      !r.read_parts("adam_v", v, err))
    return false;
  if (r.step() < 0) {
    err = "'" + path + "' is damaged: it says " + std::to_string(r.step()) + " steps were finished";
    return false;
  }
  step = r.step();
  state = kv_decode(st);
  return true;
}

bool broadcast_training_state(const World& w, TrainModel& model, int64_t& step,
                              std::map<std::string, std::string>& state, std::string& err) {
  if (w.size < 2) return true;
  std::string st = w.rank == 0 ? kv_encode(state) : std::string();
  uint64_t head[2] = {uint64_t(step), st.size()};
  if (!world_broadcast(w, head, sizeof head, err)) return false;
  step = int64_t(head[0]);
  st.resize(size_t(head[1]));
  if (!st.empty() && !world_broadcast(w, &st[0], st.size(), err)) return false;
  state = kv_decode(st);
  for (int l = 0; l < model.num_layers(); ++l) {
    const size_t bytes = model.layer_params(l) * sizeof(float);
    if (!world_broadcast(w, model.params(l), bytes, err) ||
        !world_broadcast(w, model.adam_m(l), bytes, err) ||
        !world_broadcast(w, model.adam_v(l), bytes, err))
      return false;
  }
  return true;
}

std::string snapshot_file_for(const std::string& run) {
  struct stat st {};
  if (stat(run.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) return run;
  std::string d = run;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d + "/snapshot.bin";
}

bool resume_outputs_apart(const std::string& resume, const std::vector<std::string>& outputs, std::string& err) {
  if (resume.empty()) return true;
  const std::string saved = folder_of(snapshot_file_for(resume));
  for (const std::string& p : outputs)
    if (!p.empty() && same_file(folder_of(p), saved)) {
      err = "--resume " + resume + ": the resumed run would write '" + p +
            "' into the folder of the snapshot it resumes, over the old run's records: give the resumed run its own --out";
      return false;
    }
  return true;
}

}  // namespace ts
