// Bench section "distributed": data-parallel training of the reference model
// (examples/bench-gpt.train) on 1 and 2 ranks at the same global batch
// (strong scaling: 2 ranks x batch/2 against 1 rank x batch), one compute
// thread per rank, and a sweep of the gradient bucket size on 2 ranks.
//
// Reported per run, from the trainer's own records (docs/events.md,
// docs/distributed.md): median step time (step 1 excluded), scaling
// efficiency T1 / (R * TR), exposed communication (the part of the
// all-reduce no compute covered), overlap % (the rest), and the median bus
// bandwidth of the all-reduces.
//
//   node bench/distributed.mjs            (standalone; builds nothing)
//   npm run bench -- --only distributed   (through scripts/bench.mjs)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const id = 'distributed';
export const title = 'Data parallel: 1 vs 2 ranks at the same global batch, bucket-size sweep';
export const targets = ['trainscope-train'];

const CONFIG = 'examples/bench-gpt.train';
const ONE_THREAD = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const SWEEP = ['256KiB', '1MiB', '4MiB', '16MiB', '1GiB'];

const median = (xs) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

function mpirunFlags() {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error) throw new Error('mpirun not found: install Open MPI (apt-get install openmpi-bin libopenmpi-dev) and rebuild');
  // Threads float over the cores (the communication thread must not share
  // one core with compute); root and more ranks than cores are allowed.
  return /Open MPI|OpenRTE/i.test(`${r.stdout}${r.stderr}`)
    ? ['--allow-run-as-root', '--oversubscribe', '--bind-to', 'none']
    : [];
}

function exec(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...ONE_THREAD }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

function readRecords(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// One training run; returns its measurements (rank 0's view, plus the
// worst rank's exposed communication).
async function measure(ctx, { ranks, batch, bucket, steps }) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'trainscope-bench-dist-'));
  try {
    const sets = [`train.batch=${batch}`, `parallel.ranks=${ranks}`, `train.steps=${steps}`, 'train.profile_every=0'];
    if (bucket) sets.push(`parallel.bucket=${bucket}`);
    const args = [CONFIG, '--out', out, '--quiet', ...sets.flatMap((s) => ['--set', s])];
    if (ranks === 1) await exec(ctx.trainerPath, args, ctx.root);
    else await exec('mpirun', [...mpirunFlags(), '-np', String(ranks), ctx.trainerPath, ...args], ctx.root);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    const perRank = [];
    for (let r = 0; r < ranks; ++r) {
      const recs = readRecords(path.join(out, r === 0 ? 'events.jsonl' : `events.rank${r}.jsonl`));
      const st = recs.filter((x) => x.type === 'step' && x.step > 1);
      const comm = recs.filter((x) => x.type === 'comm' && x.step > 1);
      perRank.push({
        exposed_ms: median(st.map((s) => s.comm?.exposed_ms ?? 0)),
        comm_ms: median(st.map((s) => s.comm?.ms ?? 0)),
        wait_ms: median(st.map((s) => s.phases?.comm ?? 0)),
        overlap_pct: st.length && st[0].comm
          ? 100 * (1 - st.reduce((a, s) => a + s.comm.exposed_ms, 0) / Math.max(1e-9, st.reduce((a, s) => a + s.comm.ms, 0)))
          : NaN,
        busbw_gbs: median(comm.map((c) => c.busbw)),
        buckets: new Set(comm.map((c) => c.bucket)).size,
      });
    }
    return {
      ranks, batch, bucket: bucket ?? null, steps,
      ms_per_step: summary.ms_per_step,
      tokens_per_s: summary.tokens_per_s,
      final_loss: summary.final_loss,
      exposed_ms: Math.max(...perRank.map((p) => p.exposed_ms)),
      comm_ms: median(perRank.map((p) => p.comm_ms)),
      wait_ms: Math.max(...perRank.map((p) => p.wait_ms)),
      overlap_pct: Math.min(...perRank.map((p) => p.overlap_pct)),
      busbw_gbs: median(perRank.map((p) => p.busbw_gbs)),
      buckets: perRank[0].buckets,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// The best (fastest) of `rounds` runs of one setting.
async function best(ctx, setting, rounds) {
  let keep = null;
  for (let i = 0; i < rounds; ++i) {
    const m = await measure(ctx, setting);
    if (!keep || m.ms_per_step < keep.ms_per_step) keep = m;
  }
  return keep;
}

function readBatch(file) {
  let section = '';
  let batch = 8;
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const sec = line.match(/^\[(\w+)\]$/);
    if (sec) section = sec[1];
    else if (section === 'train' && /^batch\s/.test(line)) batch = Number(line.split(/\s+/)[1]);
  }
  return batch;
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');

export async function run(ctx) {
  const rounds = ctx.options?.rounds ?? 2;
  const steps = 30;
  const batch = readBatch(path.join(ctx.root, CONFIG));
  if (batch % 2) throw new Error(`${CONFIG}: train.batch ${batch} is odd; 2 ranks need an even global batch`);
  mpirunFlags();
  ctx.log(`1 rank x batch ${batch}, then 2 ranks x batch ${batch / 2} (${rounds} rounds each)`);
  const one = await best(ctx, { ranks: 1, batch, steps }, rounds);
  const two = await best(ctx, { ranks: 2, batch: batch / 2, steps }, rounds);
  const efficiency = one.ms_per_step / (2 * two.ms_per_step);
  ctx.log(`bucket sweep on 2 ranks: ${SWEEP.join(', ')}`);
  const sweep = [];
  for (const bucket of SWEEP) sweep.push(await best(ctx, { ranks: 2, batch: batch / 2, bucket, steps }, rounds));

  const cores = os.availableParallelism();
  const lines = [];
  lines.push(`${title}`);
  lines.push(`  ${CONFIG}, global batch ${batch}, ${steps} steps, 1 compute thread per rank, ${cores} cores, best of ${rounds}`);
  lines.push('');
  lines.push('  ranks  batch/rank  bucket     ms/step  tokens/s  speedup  efficiency  comm ms  exposed ms  overlap %  busbw GB/s  buckets');
  const row = (m, label) =>
    `  ${String(m.ranks).padStart(5)}  ${String(m.batch).padStart(10)}  ${label.padEnd(9)}` +
    `  ${fmt(m.ms_per_step, 1).padStart(7)}  ${fmt(m.tokens_per_s, 0).padStart(8)}` +
    `  ${fmt(one.ms_per_step / m.ms_per_step).padStart(7)}  ${(fmt((100 * one.ms_per_step) / (m.ranks * m.ms_per_step), 0) + '%').padStart(10)}` +
    `  ${fmt(m.comm_ms).padStart(7)}  ${fmt(m.exposed_ms).padStart(10)}  ${fmt(m.overlap_pct, 0).padStart(9)}` +
    `  ${fmt(m.busbw_gbs).padStart(10)}  ${String(m.ranks > 1 ? m.buckets : '-').padStart(7)}`;
  lines.push(row(one, '-'));
  lines.push(row(two, '4MiB'));
  lines.push('');
  lines.push('  bucket sweep (2 ranks):');
  for (const m of sweep) lines.push(row(m, m.bucket));
  if (cores < 2) lines.push(`  note: ${cores} core(s): 2 ranks share them, so the 2-rank times say little about scaling`);
  return {
    table: lines.join('\n'),
    json: {
      config: CONFIG,
      global_batch: batch,
      steps,
      cores,
      rounds,
      one_rank: one,
      two_ranks: two,
      scaling_efficiency: efficiency,
      speedup: one.ms_per_step / two.ms_per_step,
      bucket_sweep: sweep,
    },
  };
}

// Standalone: node bench/distributed.mjs
if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const ctx = {
    root,
    buildDir: path.join(root, 'native', 'build'),
    trainerPath: process.env.TRAINSCOPE_TRAINER ?? path.join(root, 'native', 'build', 'trainscope-train'),
    outDir: path.join(root, 'out', 'bench'),
    options: { rounds: process.env.ROUNDS ? Number(process.env.ROUNDS) : undefined },
    log: (m) => process.stderr.write(`bench: ${m}\n`),
  };
  if (!existsSync(ctx.trainerPath)) {
    console.error(`bench: no trainer at ${ctx.trainerPath} (npm run build)`);
    process.exit(1);
  }
  const t0 = Date.now();
  const { table, json } = await run(ctx);
  mkdirSync(ctx.outDir, { recursive: true });
  const file = path.join(ctx.outDir, `${id}.json`);
  writeFileSync(file, JSON.stringify({ section: id, time: new Date().toISOString(), ...json }, null, 2) + '\n');
  console.log(`\n${table}\n  (${((Date.now() - t0) / 1e3).toFixed(0)} s; ${path.relative(root, file)})`);
}
