// sgemm_peak: this machine's single-thread fp32 matrix-product speed, the
// ceiling `npm run bench` holds the CPU training numbers against.
//
//   sgemm_peak [--batch B] [--context T] [--width C] [--vocab V] [--heads H]
//              [--layers L] [--threads N] [--repeats R] [--min-ms MS]
//
// Times ts::gemm<float> (cblas_sgemm when OpenBLAS is linked, else the
// built-in kernel) on square products and on every shape one training step
// of the GPT model calls (defaults: examples/bench-gpt.train), and prints one
// JSON object on stdout:
//
//   {"threads":1, "blas":"...", "gflops":X,        best rate of any shape timed
//    "shapes":[{"name","ta","tb","m","n","k","gflops"}...],
//    "step_mix":{"calls","gflop","ms","gflops"}}   the step's products alone
//
// step_mix replays, in order, the gemm calls of one forward+backward of the
// model exactly as native/core/model/kernels.h issues them (same transposes,
// leading dimensions, beta), so its time is the floor of a trainer that
// does every matrix product through this gemm: the rest of a step's time is
// the non-matmul kernels and overhead. Keep it in step with kernels.h.
//
// Each timing is the best of `repeats` repeats, a repeat being as many calls
// as fill `min-ms` milliseconds (after one untimed call). Short windows and
// many repeats: on a machine other processes share, some windows run alone,
// and the best of them is the machine's speed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "model/gemm.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  std::string name;
  bool ta, tb;
  int m, n, k, lda, ldb, ldc;
  float beta;
  long count;  // calls per training step (step_mix only)
};

// lda/ldb/ldc of a dense row-major product with these transposes.
Shape dense(const std::string& name, bool ta, bool tb, int m, int n, int k, float beta = 0.f,
            long count = 1) {
  return {name, ta, tb, m, n, k, ta ? m : k, tb ? k : n, n, beta, count};
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

struct Buffers {
  std::vector<float> a, b, c;
  explicit Buffers(size_t n) : a(n), b(n), c(n) {
    // Small values, no denormals: the content does not change the speed.
    unsigned s = 12345;
    auto rnd = [&] {
      s = s * 1664525u + 1013904223u;
      return float(int(s >> 9) % 2001 - 1000) * 1e-5f;
    };
    for (size_t i = 0; i < n; ++i) a[i] = rnd(), b[i] = rnd(), c[i] = 0.f;
  }
};

size_t extent(bool trans, int rows, int cols, int ld) {
  // Elements a row-major operand op(X)[rows, cols] with leading dimension ld spans.
  return trans ? size_t(cols - 1) * ld + rows : size_t(rows - 1) * ld + cols;
}

void call(const Shape& s, Buffers& buf) {
  ts::gemm<float>(s.ta, s.tb, s.m, s.n, s.k, 1.f, buf.a.data(), s.lda, buf.b.data(), s.ldb,
                  s.beta, buf.c.data(), s.ldc);
}

// Best time of one call of `s`, in ms.
double time_shape(const Shape& s, Buffers& buf, int repeats, double min_ms) {
  call(s, buf);
  const double t0 = now_ms();
  call(s, buf);
  const double one = std::max(1e-3, now_ms() - t0);
  const long calls = std::max(1L, long(min_ms / one));
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const double t = now_ms();
    for (long i = 0; i < calls; ++i) call(s, buf);
    best = std::min(best, (now_ms() - t) / calls);
  }
  return best;
}

// The gemm calls of one training step, in kernels.h's order and layouts.
std::vector<Shape> step_shapes(int B, int T, int C, int V, int NH, int L) {
  const int N = B * T, hs = C / NH, C3 = 3 * C;
  const long heads = long(B) * NH * L;  // per-(b, h) attention products, all layers
  std::vector<Shape> v;
  // matmul_forward: out[N,OC] = inp[N,IC] @ W[OC,IC]^T (+ bias/residual, beta 1)
  // matmul_backward: dinp = dout @ W (beta 0); dW += dout^T @ inp (beta 1)
  auto linear = [&](const std::string& name, int IC, int OC, long count) {
    v.push_back({name + " fwd", false, true, N, OC, IC, IC, IC, OC, 1.f, count});
    v.push_back({name + " bwd dx", false, false, N, IC, OC, OC, IC, IC, 0.f, count});
    v.push_back({name + " bwd dW", true, false, OC, IC, N, OC, IC, IC, 1.f, count});
  };
  linear("qkv", C, C3, L);
  linear("attn proj", C, C, L);
  linear("mlp fc", C, 4 * C, L);
  linear("mlp proj", 4 * C, C, L);
  linear("lm head", C, V, 1);
  // attention_forward / attention_backward, per batch row and head.
  v.push_back({"att q@k^T", false, true, T, T, hs, C3, C3, T, 0.f, heads});
  v.push_back({"att p@v", false, false, T, hs, T, T, C3, C, 0.f, heads});
  v.push_back({"att bwd dv", true, false, T, hs, T, T, C, C3, 0.f, heads});
  v.push_back({"att bwd dp", false, true, T, T, hs, C, C3, T, 0.f, heads});
  v.push_back({"att bwd dq", false, false, T, hs, T, T, C3, C3, 0.f, heads});
  v.push_back({"att bwd dk", true, false, T, hs, T, T, C3, C3, 0.f, heads});
  return v;
}

int arg_int(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return def;
}

void json_string(const std::string& s) {
  std::putchar('"');
  for (char ch : s) {
    if (ch == '"' || ch == '\\') std::putchar('\\');
    if (static_cast<unsigned char>(ch) >= 0x20) std::putchar(ch);
  }
  std::putchar('"');
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::puts(
          "usage: sgemm_peak [--batch 8] [--context 128] [--width 256] [--vocab 256] [--heads 8]\n"
          "                  [--layers 6] [--threads 1] [--repeats 15] [--min-ms 5]");
      return 0;
    }
  const int B = arg_int(argc, argv, "--batch", 8);
  const int T = arg_int(argc, argv, "--context", 128);
  const int C = arg_int(argc, argv, "--width", 256);
  const int V = arg_int(argc, argv, "--vocab", 256);
  const int NH = arg_int(argc, argv, "--heads", 8);
  const int L = arg_int(argc, argv, "--layers", 6);
  const int threads = arg_int(argc, argv, "--threads", 1);
  const int repeats = std::max(1, arg_int(argc, argv, "--repeats", 15));
  const double min_ms = std::max(1, arg_int(argc, argv, "--min-ms", 5));
  if (B < 1 || T < 1 || C < 1 || V < 1 || NH < 1 || L < 1 || C % NH) {
    std::fprintf(stderr, "sgemm_peak: bad model shape (width must divide by heads)\n");
    return 2;
  }
  ts::set_compute_threads(threads);
  const int N = B * T;

  // Square products, then the model's dense shapes (forward orientation).
  std::vector<Shape> peak = {
      dense("square 512", false, false, 512, 512, 512),
      dense("square 1024", false, false, 1024, 1024, 1024),
      dense("qkv fwd", false, true, N, 3 * C, C),
      dense("mlp fc fwd", false, true, N, 4 * C, C),
      dense("mlp proj fwd", false, true, N, C, 4 * C),
      dense("mlp fc bwd dW", true, false, 4 * C, C, N),
  };
  const std::vector<Shape> mix = step_shapes(B, T, C, V, NH, L);

  size_t need = 0;
  for (const auto& list : {peak, mix})
    for (const Shape& s : list) {
      need = std::max(need, extent(s.ta, s.m, s.k, s.lda));
      need = std::max(need, extent(s.tb, s.k, s.n, s.ldb));
      need = std::max(need, extent(false, s.m, s.n, s.ldc));
    }
  Buffers buf(need);

  double best = 0;
  std::vector<double> rates;
  for (const Shape& s : peak) {
    const double ms = time_shape(s, buf, repeats, min_ms);
    const double gf = 2.0 * s.m * s.n * s.k / (ms * 1e6);
    rates.push_back(gf);
    best = std::max(best, gf);
  }

  // The step mix: every call timed alone (best of repeats), summed with its count.
  double mix_ms = 0, mix_flop = 0;
  long mix_calls = 0;
  std::vector<double> mix_rates;
  for (const Shape& s : mix) {
    const double ms = time_shape(s, buf, repeats, min_ms);
    mix_ms += ms * s.count;
    mix_flop += 2.0 * s.m * s.n * s.k * s.count;
    mix_calls += s.count;
    mix_rates.push_back(2.0 * s.m * s.n * s.k / (ms * 1e6));
    best = std::max(best, mix_rates.back());
  }

  std::printf("{\"threads\":%d,\"blas\":", threads);
  json_string(ts::blas_name());
  std::printf(",\"gflops\":%.2f,\"shapes\":[", best);
  for (size_t i = 0; i < peak.size(); ++i) {
    const Shape& s = peak[i];
    std::printf("%s{\"name\":", i ? "," : "");
    json_string(s.name);
    std::printf(",\"ta\":%s,\"tb\":%s,\"m\":%d,\"n\":%d,\"k\":%d,\"gflops\":%.2f}",
                s.ta ? "true" : "false", s.tb ? "true" : "false", s.m, s.n, s.k, rates[i]);
  }
  std::printf("],\"model\":{\"batch\":%d,\"context\":%d,\"width\":%d,\"vocab\":%d,\"heads\":%d,"
              "\"layers\":%d},",
              B, T, C, V, NH, L);
  std::printf("\"step_mix\":{\"calls\":%ld,\"gflop\":%.4f,\"ms\":%.3f,\"gflops\":%.2f,\"ops\":[",
              mix_calls, mix_flop / 1e9, mix_ms, mix_flop / (mix_ms * 1e6));
  for (size_t i = 0; i < mix.size(); ++i) {
    const Shape& s = mix[i];
    std::printf("%s{\"name\":", i ? "," : "");
    json_string(s.name);
    std::printf(",\"m\":%d,\"n\":%d,\"k\":%d,\"count\":%ld,\"gflops\":%.2f}", s.m, s.n, s.k,
                s.count, mix_rates[i]);
  }
  std::printf("]}}\n");
  return 0;
}
