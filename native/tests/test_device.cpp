// train.device on whatever machine the tests run: `cpu` trains on the CPU;
// `auto` trains on the GPU when the CUDA backend finds one, else on the CPU
// with a note saying why; `cuda` either trains on the GPU or fails before
// training with an error at the key. On CI (no GPU, often no driver) this
// checks the fallback and the error; on a GPU machine, the GPU path.
#include <fstream>
#include <string>

#include "model/backend.h"
#include "support.h"

using namespace ts;
using ts::test::build_file;
using ts::test::expect;

namespace {

std::string first_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string all_text(const std::string& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main() {
  std::string why;
  const CudaBackend* cuda = CudaBackend::get(why);
  DeviceInfo gpu;
  const bool have_gpu = cuda && cuda->probe(gpu, why);
  std::printf("GPU: %s\n", have_gpu ? gpu.name.c_str() : ("none (" + why + ")").c_str());
  const std::vector<std::string> short_run = {"train.steps=3", "train.warmup=0", "train.eval_every=0"};

  const std::string ev_cpu = build_file("test_device_cpu.jsonl");
  auto overrides = short_run;
  overrides.push_back("train.device=cpu");
  const auto cpu = test::train_example(overrides, ev_cpu);
  const std::string run_cpu = first_line(ev_cpu);
  expect(cpu.exit_code == 0 && run_cpu.find("\"device\":\"cpu\"") != std::string::npos &&
             run_cpu.find("\"device_info\":{\"type\":\"cpu\",\"requested\":\"cpu\"") != std::string::npos &&
             run_cpu.find("\"capacity_bytes\":") != std::string::npos && run_cpu.find("\"note\"") == std::string::npos,
         "device cpu: trains on the cpu; the run record names it, with its memory and no note");

  const std::string ev_auto = build_file("test_device_auto.jsonl");
  overrides = short_run;
  overrides.push_back("train.device=auto");
  const auto aut = test::train_example(overrides, ev_auto);
  const std::string run_auto = first_line(ev_auto);
  if (have_gpu) {
    expect(aut.exit_code == 0 && run_auto.find("\"device\":\"cuda\"") != std::string::npos,
           "device auto with a GPU: trains on it");
  } else {
    expect(aut.exit_code == 0 && run_auto.find("\"device\":\"cpu\"") != std::string::npos &&
               run_auto.find("\"requested\":\"auto\"") != std::string::npos &&
               run_auto.find("\"note\":\"train.device auto: no usable GPU (") != std::string::npos,
           "device auto without a GPU: trains on the cpu, and the run record says why");
    expect(aut.losses == cpu.losses, "device auto without a GPU: the very losses of device cpu");
  }

  const std::string ev_cuda = build_file("test_device_cuda.jsonl");
  overrides = short_run;
  overrides.push_back("train.device=cuda");
  const auto cu = test::train_example(overrides, ev_cuda);
  if (have_gpu) {
    expect(cu.exit_code == 0 && first_line(ev_cuda).find("\"device\":\"cuda\"") != std::string::npos,
           "device cuda with a GPU: trains on it");
  } else {
    const std::string text = all_text(ev_cuda);
    expect(cu.exit_code == 1 && cu.losses.empty(), "device cuda without a GPU: exit 1 before any step");
    expect(text.find("\"type\":\"error\"") != std::string::npos &&
               text.find("train.device cuda: no usable GPU: ") != std::string::npos &&
               text.find("\"key\":\"train.device\"") != std::string::npos,
           "device cuda without a GPU: an error record at train.device saying why");
  }

  // A data-parallel GPU run is refused by the parser, at parallel.ranks.
  ParseResult pr = parse_config("[train]\ndevice cuda\n[parallel]\nranks 2\n", "gpu.train");
  expect(!pr.ok() && pr.diagnostics[0].line == 4 && pr.diagnostics[0].key == "parallel.ranks",
         "device cuda with ranks 2: a config error at parallel.ranks (not built yet)");

  return test::report("test_device");
}
