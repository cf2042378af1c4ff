// Bench section "cpu": training speed of the trainer core on one CPU thread,
// beside PyTorch training the same model, both held against this machine's
// single-thread sgemm peak measured in the same run.
//
// The model is examples/bench-gpt.train. Each side trains it in its own
// process; the runs alternate (trainscope, pytorch, trainscope, pytorch, ...)
// so a slow patch of the machine hits both, and each side reports the best of
// its per-round medians.
//
// FLOPs: one count, used for both implementations (flopsPerStep below).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export const id = 'cpu';
export const title = 'CPU training, one thread: trainscope vs PyTorch';
export const targets = ['trainscope-train', 'sgemm_peak'];

const CONFIG = 'examples/bench-gpt.train';
const PYTHON = process.env.TRAINSCOPE_BENCH_PYTHON || '/usr/bin/python3';
const ONE_THREAD = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };

// The model and batch a *.train file sets, over the trainer's defaults
// (native/core/config/config.h). Only what the benchmark needs; the trainer's run
// record (its resolved config) is checked against this afterwards.
export function readBenchConfig(file) {
  const cfg = {
    model: { vocab: 256, context: 64, layers: 4, width: 128, heads: 4 },
    train: { steps: 200, batch: 8, lr: 1e-3 },
  };
  let section = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const sec = line.match(/^\[(\w+)\]$/);
    if (sec) { section = sec[1]; continue; }
    const [key, value] = line.split(/\s+/);
    if (cfg[section] && key in cfg[section] && value !== undefined) cfg[section][key] = Number(value);
  }
  return cfg;
}

// Model FLOPs of one training step (forward + backward), the same count for
// both implementations:
//
//   matmuls    6 · P · tokens, P = L·12·C² + V·C: the weights each token
//              multiplies (qkv 3C², attention projection C², MLP 4C² + 4C²,
//              and the tied LM head V·C). 2 FLOPs per multiply-add forward,
//              4 backward (input gradient and weight gradient).
//   attention  6 · L · T · C · tokens: forward QKᵀ and P·V cost 2·C FLOPs per
//              (query, key) pair each, over the causal half of the T×T pairs
//              (T/2 keys per query on average), so 2·T·C per token and layer,
//              times 3 for forward + backward (llm.c's convention; PaLM's
//              12·L·T·C counts the full square).
//
// Biases, LayerNorm, GELU, softmax, embeddings, the loss and AdamW are not
// counted (under 1% of the FLOPs here). Both implementations compute the full
// T×T score matrix and mask it, work this count does not credit.
export function flopsPerStep({ layers: L, width: C, vocab: V, context: T }, batch) {
  const tokens = batch * T;
  const matmulParams = L * 12 * C * C + V * C;
  const perToken = 6 * matmulParams + 6 * L * T * C;
  return { tokens, matmulParams, perToken, perStep: perToken * tokens };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// Clock ticks per second of /proc/<pid>/stat's CPU times.
let clkTck = 0;
function ticksPerSecond() {
  if (!clkTck) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clkTck = Number(r.stdout) > 0 ? Number(r.stdout) : 100;
  }
  return clkTck;
}

// User + system CPU seconds of a live process, or null (not Linux, gone).
function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
  } catch {
    return null;
  }
}

// Runs a command to completion; resolves to its stdout. Also measures the
// share of a core the process got over its life (CPU time / wall time, from
// polling /proc): a single-threaded run that gets less than all of a core
// was competing with other processes.
function exec(cmd, args, { env = {}, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const t0 = performance.now();
    let share = null;
    const poll = setInterval(() => {
      const cpu = processCpuSeconds(child.pid);
      const wall = (performance.now() - t0) / 1e3;
      if (cpu !== null && wall > 1) share = cpu / wall;
    }, 100);
    child.on('error', (e) => {
      clearInterval(poll);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearInterval(poll);
      if (code !== 0) {
        const tail = (stderr || stdout).trim().split('\n').slice(-8).join('\n');
        reject(new Error(`${path.basename(cmd)} exited with ${code ?? signal}\n${tail}`));
      } else {
        resolve({ stdout, cpuShare: share });
      }
    });
  });
}

function lastJsonLine(text) {
  const line = text.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON in output:\n${text.slice(-500)}`);
  return JSON.parse(line);
}

async function runSgemmPeak(ctx, m, batch) {
  const bin = path.join(ctx.buildDir, 'sgemm_peak');
  const args = ['--threads', '1', '--batch', batch, '--context', m.context, '--width', m.width,
    '--vocab', m.vocab, '--heads', m.heads, '--layers', m.layers].map(String);
  return lastJsonLine((await exec(bin, args, { env: ONE_THREAD, cwd: ctx.root })).stdout);
}

async function runTrainscope(ctx) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trainscope-bench-'));
  try {
    const { cpuShare } = await exec(ctx.trainerPath,
      [CONFIG, '--out', dir, '--quiet', '--set', 'train.threads=1'], { env: ONE_THREAD, cwd: ctx.root });
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    const records = readFileSync(path.join(dir, 'events.jsonl'), 'utf8')
      .split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const run = records.find((r) => r.type === 'run') ?? {};
    // Step 1 (first touch of every buffer) is left out, as in the summary's median.
    const steps = records.filter((r) => r.type === 'step' && r.step > 1);
    const phases = {};
    for (const k of ['data', 'fwd', 'bwd', 'optim']) phases[k] = median(steps.map((s) => s.phases?.[k] ?? NaN));
    return {
      ms_per_step: summary.ms_per_step,
      tokens_per_s: summary.tokens_per_s,
      params: run.params,
      threads: run.threads,
      blas: run.blas,
      config: run.config,
      timed_steps: steps.length,
      phases_median_ms: phases,
      first_loss: summary.first_loss,
      final_loss: summary.final_loss,
      cpu_share: cpuShare,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Why PyTorch cannot run here, or null when it can.
function torchUnavailable() {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (install Debian's python3 and python3-torch)`;
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], {
    env: pythonEnv(), encoding: 'utf8',
  });
  if (r.status !== 0) {
    return `${PYTHON} cannot import torch (install Debian's python3-torch: sudo apt-get install python3-torch)`;
  }
  return null;
}

// Debian's interpreter with Debian's torch: nothing from a pyenv or the user's site-packages.
function pythonEnv() {
  const env = { ...process.env, ...ONE_THREAD, PYTHONNOUSERSITE: '1' };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return env;
}

async function runTorch(ctx, m, batch, steps) {
  const args = [path.join(ctx.root, 'bench', 'torch_gpt.py'),
    '--layers', m.layers, '--width', m.width, '--heads', m.heads, '--context', m.context,
    '--vocab', m.vocab, '--batch', batch, '--threads', 1,
    '--warmup', 2, '--steps', Math.max(5, steps - 2)].map(String);
  const { stdout } = await exec(PYTHON, args, { env: pythonEnv(), cwd: ctx.root });
  // The script measures its own share of a core over the timed steps only
  // (Python's import reads from disk, which is not competition).
  return lastJsonLine(stdout);
}

const best = (runs) => runs.reduce((a, b) => (b.ms_per_step < a.ms_per_step ? b : a));
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const pad = (s, n) => String(s).padStart(n);

export async function run(ctx) {
  const rounds = Math.max(1, ctx.options.rounds ?? 2);
  const cfg = readBenchConfig(path.join(ctx.root, CONFIG));
  const m = cfg.model;
  const batch = cfg.train.batch;
  const flops = flopsPerStep(m, batch);
  const load0 = os.loadavg()[0];

  ctx.log('cpu: single-thread sgemm peak');
  const sgemm = await runSgemmPeak(ctx, m, batch);

  const torchMissing = torchUnavailable();
  if (torchMissing) ctx.log(`cpu: PyTorch not run: ${torchMissing}`);
  const ours = [], theirs = [];
  let torchError = null;
  for (let r = 1; r <= rounds; ++r) {
    ctx.log(`cpu: round ${r}/${rounds}: trainscope`);
    ours.push(await runTrainscope(ctx));
    if (torchMissing || torchError) continue;
    ctx.log(`cpu: round ${r}/${rounds}: pytorch`);
    try {
      theirs.push(await runTorch(ctx, m, batch, cfg.train.steps));
    } catch (e) {
      torchError = e.message;
      ctx.log(`cpu: PyTorch run failed: ${e.message}`);
    }
  }
  const load1 = os.loadavg()[0];

  const o = best(ours);
  const t = theirs.length ? best(theirs) : null;
  const peak = sgemm.gflops;
  const rate = (ms) => flops.perStep / (ms / 1e3) / 1e9;
  const row = (x) => ({
    ms_per_step: x.ms_per_step,
    tokens_per_s: x.tokens_per_s,
    gflops: rate(x.ms_per_step),
    pct_of_sgemm_peak: (100 * rate(x.ms_per_step)) / peak,
    phases_median_ms: x.phases_median_ms,
  });
  const roundInfo = (runs) => ({
    rounds_ms_per_step: runs.map((x) => x.ms_per_step),
    rounds_cpu_share: runs.map((x) => x.cpu_share ?? null),
  });
  const oursRow = { ...row(o), ...roundInfo(ours), params: o.params, blas: o.blas };
  const torchRow = t
    ? { ...row(t), ...roundInfo(theirs), params: t.params,
        version: t.torch, attention: t.attention, optimizer: t.optimizer, blas: t.blas }
    : null;
  const ratio = t ? t.ms_per_step / o.ms_per_step : null;

  // The trainer's resolved config must be the model torch trained.
  const warnings = [];
  const rc = o.config?.model;
  if (rc && ['vocab', 'context', 'layers', 'width', 'heads'].some((k) => rc[k] !== m[k])) {
    warnings.push(`the trainer resolved a different model than ${CONFIG} reads as: ${JSON.stringify(rc)}`);
  }
  if (t && o.params !== t.params) warnings.push(`parameter counts differ: trainscope ${o.params}, pytorch ${t.params}`);
  // A one-thread run that got less than ~all of a core shared it with other work.
  const starved = [['trainscope', o], ['pytorch', t]]
    .filter(([, x]) => x && Number.isFinite(x.cpu_share) && x.cpu_share < 0.9);
  if (starved.length) {
    warnings.push(`${starved.map(([n, x]) => `${n} got ${fmt(100 * x.cpu_share, 0)}%`).join(', ')} of a core: ` +
      'other processes competed for the CPU, so these numbers are noisy (rerun on a quiet machine)');
  } else if (![o, t].some((x) => x && Number.isFinite(x.cpu_share)) && Math.max(load0, load1) > os.cpus().length - 0.5) {
    warnings.push(`load average ${fmt(load0, 2)} -> ${fmt(load1, 2)} on ${os.cpus().length} cores: the numbers may be noisy`);
  }
  const blasShort = (sgemm.blas.match(/^OpenBLAS [\d.]+/) || [sgemm.blas])[0];
  const lines = [];
  lines.push(`CPU training, ${CONFIG} (${m.layers} layers, width ${m.width}, ctx ${m.context}, batch ${batch}), 1 thread`);
  lines.push(`                       ms/step   tokens/s   GFLOP/s   % of sgemm peak   fwd / bwd / optim ms`);
  const line = (name, r) => `  ${name.padEnd(19)}${pad(fmt(r.ms_per_step), 9)}${pad(fmt(r.tokens_per_s, 0), 11)}` +
    `${pad(fmt(r.gflops), 10)}${pad(fmt(r.pct_of_sgemm_peak, 0) + '%', 18)}   ` +
    ['fwd', 'bwd', 'optim'].map((k) => fmt(r.phases_median_ms?.[k], 0)).join(' / ');
  lines.push(line('trainscope', oursRow));
  if (torchRow) {
    lines.push(line(`pytorch ${t.torch}`, torchRow));
    lines.push(`  ratio (torch/ours)   ${ratio.toFixed(2)}x  (${ratio >= 1 ? 'trainscope faster' : 'pytorch faster'})`);
  } else {
    lines.push(`  pytorch              not run: ${torchMissing ?? torchError}`);
  }
  lines.push(`  sgemm peak (1 thread, ${blasShort}): ${fmt(peak)} GFLOP/s`);
  const mix = sgemm.step_mix;
  if (mix) {
    lines.push(`  the step's matmuls alone (trainer's gemm calls, ${mix.calls}/step): ` +
      `${fmt(mix.ms)} ms at ${fmt(mix.gflops)} GFLOP/s`);
  }
  lines.push(`  FLOPs/step: ${(flops.perStep / 1e9).toFixed(2)} G = (6·${(flops.matmulParams / 1e6).toFixed(2)}M matmul params` +
    ` + 6·L·T·C causal attention) × ${flops.tokens} tokens`);
  lines.push(`  best of ${rounds} alternating round${rounds > 1 ? 's' : ''}; ms/step = median step after warm-up`);
  if (torchRow) {
    const same = t.blas === o.blas ? 'the same OpenBLAS as ours' : t.blas;
    lines.push(`  pytorch: ${t.attention}, ${t.optimizer}, matmuls through ${same}`);
  }
  for (const w of warnings) lines.push(`  warning: ${w}`);

  return {
    table: lines.join('\n'),
    json: {
      config: CONFIG,
      model: m,
      batch,
      threads: 1,
      flops: {
        per_token: flops.perToken,
        per_step: flops.perStep,
        tokens_per_step: flops.tokens,
        matmul_params: flops.matmulParams,
        convention: '6*(L*12*C^2 + V*C)*tokens + 6*L*T*C*tokens (causal attention, forward+backward)',
      },
      sgemm,
      trainscope: oursRow,
      pytorch: torchRow,
      pytorch_unavailable: torchRow ? null : (torchMissing ?? torchError),
      ratio_torch_over_ours: ratio,
      rounds,
      machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, loadavg_start: load0, loadavg_end: load1 },
      warnings,
    },
  };
}
