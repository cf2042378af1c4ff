// npm run bench:gpu: GPT-2 small (124M, examples/gpt2-124m.train: 12
// layers, width 768, 12 heads, context 1024, vocab 50257, bf16) trained on
// one GPU by trainscope-train and by PyTorch eager (bench/torch_gpt.py:
// bf16 autocast, fused AdamW, SDPA flash attention when faster), one after
// the other in the same run on the same GPU. Prints tokens/s and MFU:
//
//   MFU = tokens/s x (6N + 6 L C T) / the GPU's dense bf16 peak
//
// with N the parameters (embeddings included), as the issue and llm.c count
// it. Needs a GPU; cuBLAS (and NCCL, unused here) are found as
// scripts/lib.mjs's cudaLibraryPath says.
//
//   npm run bench:gpu [-- --steps 30 --batch 16 --trainer PATH]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readBenchConfig } from './cpu.mjs';
import { cudaLibraryPath, root, trainerPath } from '../scripts/lib.mjs';

const CONFIG = 'examples/gpt2-124m.train';
const WARMUP = 5;
// Dense bf16 tensor-core peaks (FLOP/s), from NVIDIA's datasheets.
const PEAKS = [
  [/H200/i, 989.4e12],
  [/H100.*(SXM|HBM3)/i, 989.4e12],
  [/H100.*PCIe/i, 756.5e12],
  [/H100/i, 989.4e12],
  [/A100/i, 312e12],
  [/L40S/i, 362.1e12],
];

function args() {
  const o = { steps: 30, batch: undefined, trainer: process.env.TRAINSCOPE_TRAINER ?? trainerPath };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; ++i) {
    if (a[i] === '--steps') o.steps = Number(a[++i]);
    else if (a[i] === '--batch') o.batch = Number(a[++i]);
    else if (a[i] === '--trainer') o.trainer = path.resolve(a[++i]);
    else {
      process.stderr.write(`bench:gpu: unknown option '${a[i]}'\nusage: npm run bench:gpu [-- --steps N --batch B --trainer PATH]\n`);
      process.exit(2);
    }
  }
  // The config's lr warm-up (10 steps) must end within the run.
  if (!(o.steps > 10)) {
    process.stderr.write('bench:gpu: --steps must be more than 10\n');
    process.exit(2);
  }
  return o;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function runTrainscope(o, cfg, env) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trainscope-bench-gpu-'));
  const events = path.join(dir, 'events.jsonl');
  const sets = ['--set', `train.steps=${o.steps}`, '--set', `train.batch=${cfg.train.batch}`];
  const r = spawnSync(o.trainer, [CONFIG, '--events', events, '--quiet', ...sets], { cwd: root, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`trainscope-train failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  const recs = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const run = recs.find((x) => x.type === 'run');
  const steps = recs.filter((x) => x.type === 'step' && x.step > WARMUP);
  const ms = median(steps.map((s) => s.ms));
  const ph = (k) => median(steps.map((s) => s.phases?.[k] ?? NaN));
  const summary = recs.find((x) => x.type === 'summary');
  return {
    impl: 'trainscope', device: run.device_info?.name, params: run.params, tokens_per_step: run.tokens_per_step,
    ms_per_step: ms, tokens_per_s: run.tokens_per_step / (ms / 1e3),
    phases_median_ms: { fwd: ph('fwd'), bwd: ph('bwd'), optim: ph('optim') },
    peak_bytes: summary?.peak_bytes ?? summary?.mem?.peak_bytes, first_loss: steps.length ? recs.find((x) => x.type === 'step').loss : NaN,
    final_loss: steps.at(-1)?.loss,
  };
}

function runTorch(o, cfg, env) {
  const m = cfg.model;
  const py = process.env.TRAINSCOPE_BENCH_PYTHON || 'python3';
  const r = spawnSync(py, [path.join(root, 'bench', 'torch_gpt.py'), '--device', 'cuda', '--precision', 'bf16',
    '--layers', m.layers, '--width', m.width, '--heads', m.heads, '--context', m.context, '--vocab', m.vocab,
    '--batch', cfg.train.batch, '--lr', cfg.train.lr, '--warmup', WARMUP, '--steps', o.steps - WARMUP].map(String),
  { cwd: root, env: { ...env, PYTHONUNBUFFERED: '1' }, encoding: 'utf8' });
  if (r.status !== 0) return { impl: 'pytorch', error: `exit ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

function main() {
  const o = args();
  const cfg = readBenchConfig(path.join(root, CONFIG));
  if (o.batch) cfg.train.batch = o.batch;
  const env = { ...process.env, LD_LIBRARY_PATH: cudaLibraryPath() };
  const ts = runTrainscope(o, cfg, env);
  const pt = runTorch(o, cfg, env);
  const { layers: L, width: C, context: T } = cfg.model;
  const flopsPerToken = 6 * ts.params + 6 * L * C * T;
  const peak = PEAKS.find(([re]) => re.test(ts.device ?? ''))?.[1];
  const mfu = (tps) => (peak ? (tps * flopsPerToken) / peak : NaN);
  const rows = [ts, pt].map((x) => ({ ...x, mfu: x.error ? NaN : mfu(x.tokens_per_s) }));
  const pct = (v) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');
  const lines = [
    `GPT-2 124M, bf16, batch ${cfg.train.batch} x ${T} tokens, on ${ts.device} (dense bf16 peak ${peak ? (peak / 1e12).toFixed(0) + ' TFLOP/s' : 'unknown'})`,
    `  ${'impl'.padEnd(12)} ${'ms/step'.padStart(9)} ${'tokens/s'.padStart(10)} ${'MFU'.padStart(7)}   fwd / bwd / optim ms`,
  ];
  for (const r of rows) {
    if (r.error) { lines.push(`  ${r.impl.padEnd(12)} failed: ${r.error}`); continue; }
    const p = r.phases_median_ms ?? {};
    lines.push(`  ${r.impl.padEnd(12)} ${r.ms_per_step.toFixed(1).padStart(9)} ${Math.round(r.tokens_per_s).toString().padStart(10)} ${pct(r.mfu).padStart(7)}   ${[p.fwd, p.bwd, p.optim].map((v) => (v ?? NaN).toFixed(1)).join(' / ')}`);
  }
  if (!pt.error) {
    lines.push(`  trainscope / pytorch throughput: ${(ts.tokens_per_s / pt.tokens_per_s).toFixed(2)}x (target >= 1.00x); pytorch attention: ${pt.attention}`);
  }
  lines.push(`  ${o.steps} steps each, median step after ${WARMUP} warm-up steps; FLOPs/token = 6N + 6LCT = ${(flopsPerToken / 1e6).toFixed(1)} M`);
  process.stdout.write(lines.join('\n') + '\n');
  const outDir = path.join(root, 'out', 'bench');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'gpu.json'), JSON.stringify({ config: cfg, flops_per_token: flopsPerToken, peak_flops: peak, results: rows }, null, 2));
}

try {
  main();
} catch (err) {
  process.stderr.write(`bench:gpu: ${err.message}\n`);
  process.exit(1);
}
