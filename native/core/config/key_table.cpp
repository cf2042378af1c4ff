// The key table: every key of the config language once (type, range,
// default, setter, hover text), the section names, the aliases other
// trainers use and the features not built yet. Pure data: the parser,
// key_table(), the did-you-mean suggestions and the docs (docs/config.md)
// all follow it.
#include "config/key_table.h"

#include <iterator>

namespace ts {
namespace cfg {

const char* type_name(Type t) {
  switch (t) {
    case Type::Int: return "int";
    case Type::Number: return "number";
    case Type::Size: return "size";
    case Type::Enum: return "enum";
    case Type::Path: return "path";
    case Type::Flag: return "flag";
    case Type::Checkpoint: return "word";
  }
  return "word";
}

namespace {

const Spec kSpecArray[] = {
    // [model]
    {"model", "type", Type::Enum, "gpt", "gpt", 0, 0, false, false,
     [](Config& c, const Value& v) { c.model.type = v.s; },
     "Model architecture: gpt is a decoder-only transformer."},
    {"model", "vocab", Type::Int, "", "256", 2, 1048576, false, false,
     [](Config& c, const Value& v) { c.model.vocab = int(v.i); },
     "Number of distinct tokens; text data needs 256 (one token per byte)."},
    {"model", "context", Type::Int, "", "64", 1, 65536, false, false,
     [](Config& c, const Value& v) { c.model.context = int(v.i); },
     "Sequence length: how many tokens the model sees at once."},
    {"model", "layers", Type::Int, "", "4", 1, 1024, false, false,
     [](Config& c, const Value& v) { c.model.layers = int(v.i); },
     "Number of transformer blocks."},
    {"model", "width", Type::Int, "", "128", 1, 65536, false, false,
     [](Config& c, const Value& v) { c.model.width = int(v.i); },
     "Width of the residual stream (embedding size); must be divisible by heads."},
    {"model", "heads", Type::Int, "", "4", 1, 1024, false, false,
     [](Config& c, const Value& v) { c.model.heads = int(v.i); },
     "Attention heads per block; each head gets width/heads channels."},

    // [data]: synthetic, text and tokens each pick the data source.
    {"data", "synthetic", Type::Flag, "", "", 0, 0, false, false,
     [](Config& c, const Value&) {
       c.data.source = "synthetic";
       c.data.path.clear();
     },
     "Train on the built-in synthetic task (the default data source); takes no value."},
    {"data", "text", Type::Path, "", "", 0, 0, false, false,
     [](Config& c, const Value& v) {
       c.data.source = "text";
       c.data.path = v.s;
     },
     "Train on the bytes of a file, one token per byte (path relative to this config)."},
    {"data", "tokens", Type::Path, "", "", 0, 0, false, false,
     [](Config& c, const Value& v) {
       c.data.source = "tokens";
       c.data.path = v.s;
     },
     "Train on an llm.c .bin token file (path relative to this config)."},
    {"data", "val_fraction", Type::Number, "", "0.1", 0, 0.9, false, false,
     [](Config& c, const Value& v) { c.data.val_fraction = v.d; },
     "Share of the token stream held out for validation; 0 = no held-out split."},
    {"data", "seed", Type::Int, "", "1234", 0, kSeedMax, false, false,
     [](Config& c, const Value& v) { c.data.seed = uint64_t(v.i); },
     "Seed of the synthetic task generator."},

    // [train]
    {"train", "steps", Type::Int, "", "200", 1, 1e9, false, false,
     [](Config& c, const Value& v) { c.train.steps = int(v.i); },
     "Number of optimizer steps to run."},
    {"train", "batch", Type::Int, "", "8", 1, 1e6, false, false,
     [](Config& c, const Value& v) { c.train.batch = int(v.i); },
     "Sequences per forward pass (a micro-batch), each context tokens long; a step takes accumulate of them."},
    {"train", "lr", Type::Number, "", "1e-3", 0, 10, true, false,
     [](Config& c, const Value& v) { c.train.lr = v.d; },
     "Peak learning rate, reached at the end of warmup."},
    {"train", "min_lr", Type::Number, "", "0", 0, kNoMax, false, false,
     [](Config& c, const Value& v) { c.train.min_lr = v.d; },
     "Learning rate the schedule decays to; at most lr."},
    {"train", "warmup", Type::Int, "", "0", 0, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.warmup = int(v.i); },
     "Steps of linear warmup from 0 to lr; less than steps."},
    {"train", "schedule", Type::Enum, "constant|cosine|onecycle", "cosine", 0, 0, false, false,
     [](Config& c, const Value& v) { c.train.schedule = v.s; },
     "Learning-rate shape after warmup: constant, cosine decay to min_lr, or onecycle."},
    {"train", "weight_decay", Type::Number, "", "0", 0, kNoMax, false, false,
     [](Config& c, const Value& v) { c.train.weight_decay = v.d; },
     "Decoupled (AdamW) weight decay; 0 = off."},
    {"train", "beta1", Type::Number, "", "0.9", 0, 1, false, true,
     [](Config& c, const Value& v) { c.train.beta1 = v.d; },
     "Adam decay rate of the gradient mean."},
    {"train", "beta2", Type::Number, "", "0.95", 0, 1, false, true,
     [](Config& c, const Value& v) { c.train.beta2 = v.d; },
     "Adam decay rate of the squared-gradient mean."},
    {"train", "eps", Type::Number, "", "1e-8", 0, kNoMax, true, false,
     [](Config& c, const Value& v) { c.train.eps = v.d; },
     "Adam epsilon, added to the denominator for stability."},
    {"train", "grad_clip", Type::Number, "", "1", 0, kNoMax, false, false,
     [](Config& c, const Value& v) { c.train.grad_clip = v.d; },
     "Clip the global gradient norm to this value; 0 = off."},
    {"train", "seed", Type::Int, "", "42", 0, kSeedMax, false, false,
     [](Config& c, const Value& v) { c.train.seed = uint64_t(v.i); },
     "Seed of the weight init and the batch order."},
    {"train", "threads", Type::Int, "", "0", 0, 1024, false, false,
     [](Config& c, const Value& v) { c.train.threads = int(v.i); },
     "CPU threads to use; 0 = all cores."},
    {"train", "eval_every", Type::Int, "", "0", 0, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.eval_every = int(v.i); },
     "Measure the validation loss every N steps; 0 = never."},
    {"train", "eval_batches", Type::Int, "", "4", 1, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.eval_batches = int(v.i); },
     "Batches averaged per validation measurement."},
    {"train", "profile_every", Type::Int, "", "10", 0, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.profile_every = int(v.i); },
     "Record a detailed timing of one step every N steps; 0 = the first step only."},
    {"train", "precision", Type::Enum, "fp32|bf16|fp16", "fp32", 0, 0, false, false,
     [](Config& c, const Value& v) { c.train.precision = v.s; },
     "Number format of weights and activations during the step."},
    {"train", "checkpoint", Type::Checkpoint, "none|sqrt|every|layers|budget", "none", 0, 0, false,
     false,
     [](Config& c, const Value& v) {
       c.train.checkpoint = v.s;
       c.train.checkpoint_every = v.s == "every" ? int(v.i) : 0;
       c.train.checkpoint_segments =
           v.s == "layers" ? v.segments : std::vector<std::pair<int, int>>{};
       c.train.checkpoint_budget = v.s == "budget" ? v.bytes : 0;
     },
     "Activation checkpointing (recompute instead of store): none, sqrt, every K, layers 0-3,4-7 "
     "or budget SIZE."},
    {"train", "accumulate", Type::Int, "", "1", 1, 65536, false, false,
     [](Config& c, const Value& v) { c.train.accumulate = int(v.i); },
     "Micro-batches whose gradients are summed per optimizer step."},
    {"train", "device", Type::Enum, "cpu|cuda|auto", "cpu", 0, 0, false, false,
     [](Config& c, const Value& v) { c.train.device = v.s; },
     "Where the math runs: cpu; cuda (the first GPU, an error when none is usable); auto (the GPU when one is usable, else the cpu, saying why in the run record)."},
    {"train", "attention", Type::Enum, "materialized|fused", "materialized", 0, 0, false, false,
     [](Config& c, const Value& v) { c.train.attention = v.s; },
     "How the GPU computes attention: materialized (each head's T x T probabilities kept for backward; the fastest) or fused (one kernel that keeps only each query's log-sum-exp, far less memory; backward recomputes the probabilities). fused needs the GPU, precision bf16 or fp16, heads of 32 or 64 (width / heads) and a context that is a multiple of 64."},
    {"train", "save_every", Type::Int, "", "0", 0, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.save_every = int(v.i); },
     "Write the weights and optimizer state to disk every N steps; 0 = never."},

    // [parallel]
    {"parallel", "ranks", Type::Int, "", "1", 1, 65536, false, false,
     [](Config& c, const Value& v) { c.parallel.ranks = int(v.i); },
     "Number of data-parallel processes."},
    {"parallel", "bucket", Type::Size, "", "4MiB", 1000, kSizeMax, false, false,
     [](Config& c, const Value& v) { c.parallel.bucket = v.bytes; },
     "Gradient bytes gathered before each all-reduce starts."},
    {"parallel", "backend", Type::Enum, "mpi|nccl", "mpi", 0, 0, false, false,
     [](Config& c, const Value& v) { c.parallel.backend = v.s; },
     "Communication library between ranks."},
};

const char* const kSectionArray[] = {"model", "data", "train", "parallel"};

const Alias kAliasArray[] = {
    {"learning_rate", "train", "lr"},   {"n_layer", "model", "layers"},
    {"n_layers", "model", "layers"},    {"num_layers", "model", "layers"},
    {"d_model", "model", "width"},      {"n_embd", "model", "width"},
    {"hidden", "model", "width"},       {"n_head", "model", "heads"},
    {"num_heads", "model", "heads"},    {"block_size", "model", "context"},
    {"seq_len", "model", "context"},    {"batch_size", "train", "batch"},
    {"vocab_size", "model", "vocab"},   {"max_steps", "train", "steps"},
    {"iters", "train", "steps"},        {"world_size", "parallel", "ranks"},
    {"nprocs", "parallel", "ranks"},    {"warmup_steps", "train", "warmup"},
    {"max_grad_norm", "train", "grad_clip"},
};

const NotBuilt kNotBuiltArray[] = {
    {"parallel.ranks", [](const Config& c) { return c.train.device == "cuda" && c.parallel.ranks > 1; },
     "with train.device cuda (data-parallel training on GPUs, NCCL all-reducing device gradients, "
     "comes later; auto trains several ranks on the cpu)"},
};

}  // namespace

const Table<Spec> kSpecs{kSpecArray, std::size(kSpecArray)};
const Table<const char*> kSections{kSectionArray, std::size(kSectionArray)};
const Table<Alias> kAliases{kAliasArray, std::size(kAliasArray)};
const Table<NotBuilt> kNotBuilt{kNotBuiltArray, std::size(kNotBuiltArray)};

std::string full_name(const Spec& k) { return std::string(k.section) + "." + k.key; }

}  // namespace cfg

const std::vector<KeyInfo>& key_table() {
  static const std::vector<KeyInfo> table = [] {
    std::vector<KeyInfo> t;
    for (const cfg::Spec& s : cfg::kSpecs)
      t.push_back({s.section, s.key, cfg::type_name(s.type), s.values, s.def, s.doc});
    return t;
  }();
  return table;
}

bool key_range(const std::string& name, double& lo, double& hi) {
  for (const cfg::Spec& s : cfg::kSpecs) {
    if (cfg::full_name(s) != name) continue;
    if (s.type != cfg::Type::Int && s.type != cfg::Type::Number && s.type != cfg::Type::Size) return false;
    lo = s.lo;
    hi = s.hi;
    return true;
  }
  return false;
}

}  // namespace ts
