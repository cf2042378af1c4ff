// The CUDA backend against the CPU backend (npm run test:gpu; needs a GPU,
// so CTest labels it "gpu" and `npm test` leaves it out):
//   - gradient parity: the same model, batch and initial parameters on the
//     CPU and the GPU in fp32 give every gradient within 1e-4 (relative to
//     the layer's largest), and the same loss;
//   - checkpointing on the GPU: gradients bitwise identical to no
//     checkpointing, for several plans and both precisions;
//   - device memory accounting: per layer, parameters, gradients, AdamW
//     state and the activations each block keeps are the CPU's bytes (the
//     memory model's predictions);
//   - training: the example learns on the GPU, and bf16 (and fp16 with loss
//     scaling) end within 2% of fp32;
//   - accumulation: K micro-batches of b train as one batch of K*b;
//   - snapshots on disk: a GPU run saved and resumed gives bitwise the
//     losses and parameters of one that never stopped;
//   - NCCL: a single-rank all-reduce round trip, when libnccl.so.2 loads.
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dist/nccl_loader.h"
#include "model/backend.h"
#include "plan/planner.h"
#include "support.h"

using namespace ts;
using ts::test::expect;

namespace {

struct Grads {
  double loss = 0;
  uint64_t peak = 0, peak_act = 0;
  std::vector<uint64_t> workspace;  // per layer, peak bytes
  std::vector<std::vector<float>> g;
  std::vector<uint64_t> act_end_of_forward;  // per layer, device bytes
  std::vector<std::array<uint64_t, 3>> state; // per layer: param, grad, optim bytes
};

// One forward + backward on a fixed batch; gpu = false runs the CPU model.
Grads step(const Config& cfg, const Segments& segs, bool gpu, Precision p = Precision::fp32) {
  std::string err;
  const CudaBackend* cuda = gpu ? CudaBackend::get(err) : nullptr;
  Allocator alloc(cfg.model.layers + 2, cuda ? cuda->memory() : nullptr);
  std::unique_ptr<TrainModel> m = cuda ? cuda->create(cfg.model, cfg.train.batch, alloc, 11, segs, p,
                                                      cfg.train.attention == "fused", err)
                                       : make_cpu_model(cfg.model, cfg.train.batch, alloc, 11, segs, p);
  Grads r;
  if (!m) {
    expect(false, "create the model: " + err);
    return r;
  }
  const size_t n = size_t(cfg.train.batch) * cfg.model.context;
  std::vector<int32_t> in(n), tg(n);
  Rng rng(9);
  for (auto& t : in) t = int32_t(rng.below(cfg.model.vocab));
  for (auto& t : tg) t = int32_t(rng.below(cfg.model.vocab));
  m->zero_grad();
  r.loss = m->forward(in.data(), tg.data(), nullptr);
  for (int l = 0; l < m->num_layers(); ++l) r.act_end_of_forward.push_back(alloc.layer(l, Cat::act).live);
  m->backward(nullptr, 1.0f);
  m->pull_state();
  for (int l = 0; l < m->num_layers(); ++l) {
    r.g.emplace_back(m->grads(l), m->grads(l) + m->layer_params(l));
    r.state.push_back({alloc.layer(l, Cat::param).peak, alloc.layer(l, Cat::grad).peak,
                       alloc.layer(l, Cat::optim).peak});
    r.workspace.push_back(alloc.layer(l, Cat::workspace).peak);
  }
  r.peak = alloc.total().peak;
  r.peak_act = alloc.category(Cat::act).peak;
  return r;
}

void test_parity() {
  Config cfg = test::small_model_config();
  const Grads cpu = step(cfg, {}, false), gpu = step(cfg, {}, true);
  expect(std::fabs(cpu.loss - gpu.loss) <= 1e-5 * std::fabs(cpu.loss),
         "fp32 loss: cpu " + std::to_string(cpu.loss) + ", gpu " + std::to_string(gpu.loss));
  if (gpu.g.size() != cpu.g.size()) return;
  double worst = 0;
  for (size_t l = 0; l < cpu.g.size(); ++l) {
    double maxabs = 0, maxdiff = 0;
    for (size_t i = 0; i < cpu.g[l].size(); ++i) {
      maxabs = std::max(maxabs, double(std::fabs(cpu.g[l][i])));
      maxdiff = std::max(maxdiff, double(std::fabs(cpu.g[l][i] - gpu.g[l][i])));
    }
    const double rel = maxabs > 0 ? maxdiff / maxabs : maxdiff;
    worst = std::max(worst, rel);
    expect(rel <= 1e-4, "layer " + std::to_string(l) + " gradients cpu vs gpu (fp32): max diff / max |g| = " +
                            std::to_string(rel));
  }
  std::printf("     worst layer gradient difference, cpu vs gpu: %.2e\n", worst);
}

// Heads of 64 over whole 64-token tiles, train.attention fused: under mixed
// precision, the fused attention path (flash_attention.cuh).
Config flash_config() {
  Config c = test::small_model_config();
  c.train.attention = "fused";
  c.model.context = 64;
  c.model.width = 128;
  c.model.heads = 2;
  c.model.vocab = 64;
  c.train.batch = 2;
  return c;
}

void test_checkpoint_bitwise() {
  for (const Config& cfg : {test::small_model_config(), flash_config()})
  for (Precision p : {Precision::fp32, Precision::bf16}) {
    const Grads none = step(cfg, {}, true, p);
    const std::vector<std::pair<std::string, Segments>> plans = {
        {"sqrt (0-2, 3-5)", {{0, 2}, {3, 5}}}, {"every 2", {{0, 1}, {2, 3}, {4, 5}}}, {"layers 1-3", {{1, 3}}}};
    for (const auto& [name, segs] : plans) {
      const Grads ck = step(cfg, segs, true, p);
      bool same = ck.g.size() == none.g.size() && ck.loss == none.loss;
      for (size_t l = 0; same && l < none.g.size(); ++l)
        same = std::memcmp(none.g[l].data(), ck.g[l].data(), none.g[l].size() * sizeof(float)) == 0;
      expect(same, std::string(p == Precision::fp32 ? "fp32" : "bf16") + ", width " +
                       std::to_string(cfg.model.width) + ": gpu gradients with checkpoint " + name +
                       " are bitwise those without");
    }
  }
}

void test_memory_accounting() {
  Config cfg = test::small_model_config();
  cfg.model.vocab = 64;  // no padding of the logits' rows
  for (Precision p : {Precision::fp32, Precision::bf16}) {
    const Grads cpu = step(cfg, {{1, 3}}, false, p), gpu = step(cfg, {{1, 3}}, true, p);
    bool same = cpu.state == gpu.state;
    expect(same, "per-layer parameter, gradient and optimizer bytes on the gpu are the cpu's");
    // Blocks and the embedding: the same activations kept at the end of the forward.
    bool acts = true;
    for (size_t l = 0; l + 1 < cpu.act_end_of_forward.size(); ++l)
      acts = acts && cpu.act_end_of_forward[l] == gpu.act_end_of_forward[l];
    expect(acts, std::string(p == Precision::fp32 ? "fp32" : "bf16") +
                     ": per-layer activation bytes at the end of the forward on the gpu are the cpu's");
  }
  // The memory model's cuda prediction against the device allocator: the
  // step's peak, peak activations and every layer's workspace, exactly.
  for (Precision p : {Precision::fp32, Precision::bf16, Precision::fp16})
    for (const Segments& segs : {Segments{}, Segments{{0, 2}, {3, 5}}, Segments{{1, 3}}}) {
      // 40: the logits' rows padded to 64; the flash shape: fused attention in 16 bits.
      for (const auto& [vocab, base] : {std::pair{64, test::small_model_config()}, std::pair{40, test::small_model_config()},
                                        std::pair{64, flash_config()}}) {
        Config c = base;
        c.train.precision = p == Precision::fp32 ? "fp32" : p == Precision::bf16 ? "bf16" : "fp16";
        c.model.vocab = vocab;
        const MemoryPrediction pred = predict_memory(c, segs, 4, "cuda");
        const Grads gpu = step(c, segs, true, p);
        bool ws = gpu.workspace.size() == pred.layers.size();
        for (size_t l = 0; ws && l < pred.layers.size(); ++l) ws = gpu.workspace[l] == pred.layers[l].workspace;
        const std::string what = c.train.precision + ", vocab " + std::to_string(vocab) + ", width " +
                                 std::to_string(c.model.width) + ", plan " +
                                 segments_text(segs) + ": ";
        expect(gpu.peak == pred.peak && gpu.peak_act == pred.peak_act && ws,
               what + "gpu memory = the model's cuda prediction (peak " + std::to_string(gpu.peak) + " vs " +
                   std::to_string(pred.peak) + ", activations " + std::to_string(gpu.peak_act) + " vs " +
                   std::to_string(pred.peak_act) + ", per-layer workspace " + (ws ? "equal" : "differs") + ")");
      }
    }
}

double tail_mean(const std::vector<double>& v, size_t n) {
  double s = 0;
  const size_t k = std::min(n, v.size());
  for (size_t i = v.size() - k; i < v.size(); ++i) s += v[i];
  return k ? s / double(k) : NAN;
}

void test_training() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string ev = std::string(tmp ? tmp : "/tmp") + "/trainscope_gpu_test_training.jsonl";
  const auto fp32 = test::train_example({"train.device=cuda"}, ev);
  expect(fp32.exit_code == 0 && fp32.losses.size() == 300, "the example trains on the gpu (fp32)");
  std::ifstream in(ev);
  std::string first;
  std::getline(in, first);
  expect(first.find("\"device\":\"cuda\"") != std::string::npos &&
             first.find("\"device_info\":{\"type\":\"cuda\"") != std::string::npos,
         "the run record says the run trained on the gpu");
  std::stringstream all;
  all << in.rdbuf();
  expect(all.str().find("\"type\":\"span\"") != std::string::npos, "gpu runs write per-layer spans (CUDA events)");
  const auto bf16 = test::train_example({"train.device=cuda", "train.precision=bf16"});
  const auto fp16 = test::train_example({"train.device=cuda", "train.precision=fp16"});
  const auto cpu = test::train_example({});
  const double l32 = tail_mean(fp32.losses, 10), lb = tail_mean(bf16.losses, 10), lh = tail_mean(fp16.losses, 10),
               lc = tail_mean(cpu.losses, 10);
  std::printf("     final loss (mean of last 10 steps): cpu fp32 %.4f, gpu fp32 %.4f, gpu bf16 %.4f, gpu fp16 %.4f\n",
              lc, l32, lb, lh);
  expect(l32 < 0.7, "gpu fp32 learns the example (final loss < 0.7)");
  expect(std::fabs(lb - l32) <= 0.02 * l32, "gpu bf16 ends within 2% of gpu fp32");
  expect(std::fabs(lh - l32) <= 0.02 * l32, "gpu fp16 (loss scaling) ends within 2% of gpu fp32");
  const auto fused = test::train_example({"train.device=cuda", "train.precision=bf16", "train.attention=fused"});
  const double lf = tail_mean(fused.losses, 10);
  std::printf("     bf16 with fused attention: %.4f\n", lf);
  expect(fused.exit_code == 0 && std::fabs(lf - l32) <= 0.02 * l32, "gpu bf16 with fused attention ends within 2% of gpu fp32");
  expect(std::fabs(l32 - lc) <= 0.02 * lc, "gpu fp32 ends within 2% of cpu fp32");
}

std::string tmp_dir() {
  const char* t = std::getenv("TMPDIR");
  return std::string(t ? t : "/tmp");
}

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0, d = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    m = std::max(m, double(std::fabs(a[i])));
    d = std::max(d, double(std::fabs(a[i] - b[i])));
  }
  return a.size() == b.size() && m > 0 ? d / m : INFINITY;
}

void test_accumulation() {
  const std::vector<std::string> base = {"train.device=cuda", "train.steps=10", "train.warmup=0", "train.eval_every=0"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), base.begin(), base.end());
    return more;
  };
  const auto big = test::train_example(with({"train.batch=8"}), "", true);
  const auto acc = test::train_example(with({"train.batch=4", "train.accumulate=2"}), "", true);
  double worst = 0;
  for (size_t i = 0; i < big.losses.size() && i < acc.losses.size(); ++i)
    worst = std::max(worst, std::fabs(big.losses[i] - acc.losses[i]) / std::fabs(big.losses[i]));
  expect(big.exit_code == 0 && acc.exit_code == 0 && big.losses.size() == 10 && acc.losses.size() == 10 && worst < 1e-5,
         "gpu: accumulate 2 x batch 4 trains as batch 8 (max relative loss difference " + std::to_string(worst) + ")");
  const double p = max_rel(big.params, acc.params);
  expect(p < 1e-4, "gpu: and ends with the same parameters (max diff / max |p| = " + std::to_string(p) + ")");
}

void test_resume() {
  const std::string dir = tmp_dir() + "/trainscope_gpu_resume";
  if (std::system(("mkdir -p " + dir + "/run " + dir + "/resumed").c_str()) != 0) {
    expect(false, "make " + dir);
    return;
  }
  const std::vector<std::string> base = {"train.device=cuda", "train.precision=bf16", "train.warmup=0",
                                         "train.schedule=constant", "train.accumulate=2", "train.batch=4",
                                         "train.eval_every=0"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), base.begin(), base.end());
    return more;
  };
  const auto full = test::train_example(with({"train.steps=16"}), "", true);
  const auto first = test::train_example(with({"train.steps=10", "train.save_every=5"}),
                                         {dir + "/run/events.jsonl", dir + "/run/snapshot.bin", ""}, true);
  const auto rest = test::train_example(with({"train.steps=16"}),
                                        {dir + "/resumed/events.jsonl", dir + "/resumed/snapshot.bin", dir + "/run"}, true);
  bool same = full.exit_code == 0 && first.exit_code == 0 && rest.exit_code == 0 && full.losses.size() == 16 &&
              rest.losses.size() == 6;
  for (size_t i = 0; same && i < 6; ++i) same = full.losses[10 + i] == rest.losses[i];
  expect(same, "gpu bf16: a run saved at step 10 and resumed trains steps 11..16 bitwise as one that never stopped");
  expect(!full.params.empty() && full.params == rest.params, "gpu bf16: and ends with bitwise the same parameters");
}

void test_nccl_round_trip() {
  Nccl nccl;
  std::string err;
  if (!nccl.load(err)) {
    std::printf("skip NCCL round trip: %s\n", err.c_str());
    return;
  }
  World w;
  if (!nccl.init(w, err)) {
    expect(false, "NCCL init (1 rank): " + err);
    return;
  }
  const size_t n = 1 << 20;
  std::vector<float> h(n), back(n, 0.0f);
  for (size_t i = 0; i < n; ++i) h[i] = float(i % 1000) * 0.5f;
  void* d = nullptr;
  bool ok = nccl.device_alloc(&d, n * sizeof(float), err) && nccl.copy_to_device(d, h.data(), n * sizeof(float), err) &&
            nccl.allreduce_avg(d, n, Nccl::kFloat32, err) && nccl.synchronize(err) &&
            nccl.copy_to_host(back.data(), d, n * sizeof(float), err);
  if (d) nccl.device_free(d);
  expect(ok && back == h, "NCCL " + nccl.version_string() + " single-rank all-reduce round trip" + (ok ? "" : ": " + err));
  nccl.shutdown();
}

}  // namespace

int main() {
  std::string err;
  const CudaBackend* cuda = CudaBackend::get(err);
  DeviceInfo info;
  if (!cuda || !cuda->probe(info, err)) {
    std::printf("FAIL no usable GPU: %s\n", err.c_str());
    return 1;
  }
  std::printf("GPU: %s (compute capability %s, %.1f GB)\n", info.name.c_str(), info.compute_capability.c_str(),
              info.capacity_bytes / 1e9);
  test_parity();
  test_checkpoint_bitwise();
  test_memory_accounting();
  test_training();
  test_accumulation();
  test_resume();
  test_nccl_round_trip();
  return test::report("test_cuda");
}
