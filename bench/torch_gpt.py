"""The TrainScope GPT in PyTorch, timed the way the trainer times itself.

`npm run bench` runs this with Debian's python3-torch (/usr/bin/python3) on
one thread beside native/build/trainscope-train on the same config, so the
model here must stay the one native/core/model/model.cpp builds:

  token + position embeddings; L pre-LN blocks, each
    x = x + proj(attn(qkv(ln1(x))))      qkv: one Linear(C, 3C), causal softmax
    x = x + fc2(gelu_tanh(fc1(ln2(x))))  MLP width 4C
  final LayerNorm; LM head tied to the token embedding (no bias);
  mean cross-entropy; grad-norm clip 1.0; AdamW (the trainer's defaults:
  betas 0.9/0.95, eps 1e-8, weight decay 0); fp32.

Batches are random tokens of shape (batch, context + 1): the content does not
change the speed. A step is data + forward + backward + clip + optimizer, as
in the trainer's step records. Prints one JSON object on stdout.

On a GPU (`--device cuda`, `npm run bench:gpu`) this is PyTorch eager at its
best: bf16 autocast (fp32 master weights, as the trainer's mixed
precision), fused AdamW, the faster of SDPA (flash attention) and the
matmul attention, and the step timed to its last kernel (synchronised).

  /usr/bin/python3 bench/torch_gpt.py [--layers 6 --width 256 --heads 8
      --context 128 --vocab 256 --batch 8] [--warmup 3 --steps 20]
      [--attention auto|matmul|sdpa] [--threads 1] [--device cpu|cuda]
      [--precision fp32|bf16]
"""

import argparse
import json
import math
import os
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--attention", choices=["auto", "matmul", "sdpa"], default="auto",
                   help="auto: time both (where SDPA exists) and keep the faster")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    return p.parse_args()


def blas_in_use(torch):
    """The BLAS library this process has loaded (Debian's torch reports
    BLAS_INFO=generic and gets whatever libblas.so.3 points to)."""
    libs = {}
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split(None, 5)[-1].strip() if line.count(" ") >= 5 else ""
                name = path.rsplit("/", 1)[-1]
                if "blas" in name.lower() or "mkl_core" in name.lower():
                    libs[name] = path
    except OSError:
        pass
    for name, path in libs.items():
        if "openblas" in name:
            try:
                import ctypes
                get = ctypes.CDLL(path).openblas_get_config
                get.restype = ctypes.c_char_p
                return get().decode()
            except (OSError, AttributeError):
                pass
    if libs:
        return ", ".join(sorted(libs))
    for line in torch.__config__.show().splitlines():
        if "BLAS_INFO=" in line:
            return line.split("BLAS_INFO=")[1].split(",")[0]
    return "unknown"


def main():
    args = parse_args()
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set
    torch.manual_seed(args.seed)
    has_sdpa = hasattr(F, "scaled_dot_product_attention")

    C, NH, T, V, L, B = args.width, args.heads, args.context, args.vocab, args.layers, args.batch
    assert C % NH == 0, "width must divide by heads"
    hs = C // NH

    class Block(nn.Module):
        def __init__(self, attention):
            super().__init__()
            self.attention = attention
            self.ln1 = nn.LayerNorm(C, eps=1e-5)
            self.qkv = nn.Linear(C, 3 * C)
            self.proj = nn.Linear(C, C)
            self.ln2 = nn.LayerNorm(C, eps=1e-5)
            self.fc = nn.Linear(C, 4 * C)
            self.fc_proj = nn.Linear(4 * C, C)
            self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1), persistent=False)

        def attn(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(x).split(C, dim=2)
            q = q.view(b, t, NH, hs).transpose(1, 2)
            k = k.view(b, t, NH, hs).transpose(1, 2)
            v = v.view(b, t, NH, hs).transpose(1, 2)
            if self.attention == "sdpa":
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
                att = att.masked_fill(self.mask[:t, :t], float("-inf"))
                y = F.softmax(att, dim=-1) @ v
            return self.proj(y.transpose(1, 2).contiguous().view(b, t, C))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self, attention):
            super().__init__()
            self.wte = nn.Embedding(V, C)
            self.wpe = nn.Embedding(T, C)
            self.blocks = nn.ModuleList(Block(attention) for _ in range(L))
            self.lnf = nn.LayerNorm(C, eps=1e-5)
            # GPT-2 initialisation, as the trainer's.
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    nn.init.zeros_(p)
                elif "ln" in name:
                    nn.init.ones_(p)
                else:
                    std = 0.02 / math.sqrt(2 * L) if name.endswith("proj.weight") else 0.02
                    nn.init.normal_(p, 0.0, std)
            self.register_buffer("pos", torch.arange(T), persistent=False)

        def forward(self, idx, targets):
            t = idx.shape[1]
            x = self.wte(idx) + self.wpe(self.pos[:t])
            for blk in self.blocks:
                x = blk(x)
            logits = F.linear(self.lnf(x), self.wte.weight)  # tied LM head
            return F.cross_entropy(logits.view(-1, V), targets.reshape(-1))

    def make(attention):
        torch.manual_seed(args.seed)
        model = GPT(attention).to(args.device)
        params = list(model.parameters())
        # foreach: the multi-tensor AdamW, faster than the per-tensor loop on CPU too.
        opt_kwargs = dict(lr=args.lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
        if cuda:
            return model, params, torch.optim.AdamW(params, fused=True, **opt_kwargs)
        try:
            opt = torch.optim.AdamW(params, foreach=True, **opt_kwargs)
        except TypeError:  # an old torch without the option
            opt = torch.optim.AdamW(params, **opt_kwargs)
        return model, params, opt

    gen = torch.Generator().manual_seed(args.seed)
    cuda = args.device == "cuda"
    # On the GPU each phase ends when its last kernel has run.
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if args.precision == "bf16" \
        else (lambda: torch.autocast(args.device, enabled=False))

    def step(model, params, opt, phases=None):
        t0 = time.perf_counter()
        batch = torch.randint(0, V, (B, T + 1), generator=gen).to(args.device)
        x, y = batch[:, :-1], batch[:, 1:]
        sync()
        t1 = time.perf_counter()
        with autocast():
            loss = model(x, y)
        sync()
        t2 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        sync()
        t3 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sync()
        t4 = time.perf_counter()
        if phases is not None:
            phases.append({"data": (t1 - t0) * 1e3, "fwd": (t2 - t1) * 1e3,
                           "bwd": (t3 - t2) * 1e3, "optim": (t4 - t3) * 1e3})
        return (t4 - t0) * 1e3, float(loss)

    def bench(attention, warmup, steps):
        nonlocal opt
        model, params, opt = make(attention)
        for _ in range(warmup):
            step(model, params, opt)
        ms, phases, losses = [], [], []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(steps):
            m, loss = step(model, params, opt, phases)
            ms.append(m)
            losses.append(loss)
        # Share of a core this process got over the timed steps: under 1 means
        # other processes competed for the CPU.
        share = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        return model, ms, phases, losses, share

    opt = None
    tried = {}
    attention = args.attention
    if attention == "auto":
        if has_sdpa:
            # A short trial of each; the faster one runs the timed steps.
            for a in ("matmul", "sdpa"):
                _, ms, _, _, _ = bench(a, 1, 3)
                tried[a] = statistics.median(ms)
            attention = min(tried, key=tried.get)
        else:
            attention = "matmul"
    elif attention == "sdpa" and not has_sdpa:
        sys.exit(f"torch {torch.__version__} has no F.scaled_dot_product_attention")

    model, ms, phases, losses, cpu_share = bench(attention, args.warmup, args.steps)
    med = statistics.median(ms)
    n_params = sum(p.numel() for p in model.parameters())
    blas = blas_in_use(torch)
    out = {
        "impl": "pytorch",
        "torch": torch.__version__,
        "python": sys.executable,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "precision": args.precision,
        "blas": blas,
        "attention": "F.scaled_dot_product_attention(is_causal=True)" if attention == "sdpa"
                     else "matmul + masked softmax",
        "attention_trial_ms": tried,
        "sdpa_available": has_sdpa,
        "optimizer": "AdamW(fused=True)" if opt.defaults.get("fused") else
                     "AdamW(foreach=True)" if opt.defaults.get("foreach") else "AdamW",
        "params": n_params,
        "batch": B,
        "context": T,
        "tokens_per_step": B * T,
        "warmup_steps": args.warmup,
        "timed_steps": args.steps,
        "ms_per_step": med,
        "tokens_per_s": B * T / (med / 1e3),
        "step_ms": [round(m, 3) for m in ms],
        "phases_median_ms": {k: statistics.median(p[k] for p in phases) for k in phases[0]},
        "first_loss": losses[0],
        "final_loss": losses[-1],
        "cpu_share": cpu_share,
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
