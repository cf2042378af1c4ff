// Data-parallel training under mpirun, end to end (docs/distributed.md):
//   - 2 ranks x batch b train like 1 rank x batch 2b (losses within 1e-5
//     relative over 10 steps), with and without accumulation;
//   - communication records from both ranks, bandwidths consistent with
//     bytes and time, overlap with backward when the model spans buckets,
//     both ranks in the Chrome trace;
//   - launch errors (world size, no mpirun, NCCL);
//   - a rank killed mid-run ends the job within 10 s, non-zero, nothing
//     left running, the stream intact up to the last finished step;
//   - resume after an interruption gives the uninterrupted losses bitwise
//     (1 rank after SIGTERM, 2 ranks after a rank was killed).
// These tests need mpirun (Open MPI: apt-get install openmpi-bin
// libopenmpi-dev) and a trainer built with MPI. Without either they fail
// with a message saying so: they are never skipped silently.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, describe, test } from 'node:test';

import { root, tempDir, trainer } from './support/trainer';

// ---------------------------------------------------------------------------
// mpirun

interface Mpirun {
  ok: boolean;
  why: string;
  flags: string[];
}

function findMpirun(): Mpirun {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error) {
    return {
      ok: false,
      why: `mpirun not found (${r.error.message}): the distributed tests need an MPI; install Open MPI with ` +
        '`apt-get install openmpi-bin libopenmpi-dev` and rebuild the trainer (CI installs it)',
      flags: [],
    };
  }
  const text = `${r.stdout}${r.stderr}`;
  // Open MPI refuses root without --allow-run-as-root (CI runs as root) and
  // more ranks than cores without --oversubscribe (CI has 2 cores).
  const flags = /Open MPI|OpenRTE/i.test(text) ? ['--allow-run-as-root', '--oversubscribe'] : [];
  return { ok: true, why: '', flags };
}

const mpi = findMpirun();
const ONE_THREAD = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', TRAINSCOPE_WATCHDOG_S: '5' };

function requireMpi(): void {
  if (!mpi.ok) assert.fail(mpi.why);
  if (!existsSync(trainer)) assert.fail(`no trainer at ${trainer} (npm run build)`);
}

// ---------------------------------------------------------------------------
// Processes

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const live = new Set<ChildProcess>();

function start(cmd: string, args: string[], timeoutMs = 60_000): { child: ChildProcess; done: Promise<Result> } {
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...ONE_THREAD }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const done = new Promise<Result>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
  return { child, done };
}

function mpirun(np: number, args: string[], timeoutMs?: number) {
  return start('mpirun', [...mpi.flags, '-np', String(np), trainer, ...args], timeoutMs);
}

function single(args: string[], timeoutMs?: number) {
  return start(trainer, args, timeoutMs);
}

function cleanup(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}
afterEach(cleanup);
after(cleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is gone for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Runs and records

type Rec = Record<string, any>;

/** Records of a stream; a truncated last line (a killed writer) is dropped. */
function records(file: string): Rec[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Rec[] = [];
  for (let i = 0; i < lines.length; ++i) {
    if (!lines[i]) continue;
    try {
      out.push(JSON.parse(lines[i]));
    } catch (e) {
      if (i === lines.length - 1) break; // the line being written when the process died
      throw new Error(`${file}:${i + 1}: not JSON: ${lines[i].slice(0, 120)}`);
    }
  }
  return out;
}

const steps = (recs: Rec[]) => recs.filter((r) => r.type === 'step');

// A small model that still spans several 64KB buckets (~110k parameters).
const CONFIG = `[model]
type gpt
vocab 64
context 32
layers 2
width 64
heads 4

[data]
synthetic

[train]
steps 10
batch 4
lr 3e-3
warmup 2
threads 1
profile_every 5
`;

const work = tempDir('trainscope-dist-');
const config = path.join(work, 'dist.train');
writeFileSync(config, CONFIG);
after(() => rmSync(work, { recursive: true, force: true }));

function args(out: string, sets: string[], extra: string[] = []): string[] {
  const a = [config, '--out', out, '--quiet', ...extra];
  for (const s of sets) a.push('--set', s);
  return a;
}

function assertOk(r: Result, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code ?? r.signal}:\n${r.stderr.slice(-3000)}`);
}

/** Polls until pred(records of file) holds, or fails after timeoutMs. */
async function waitFor(file: string, pred: (r: Rec[]) => boolean, timeoutMs: number, what: string): Promise<Rec[]> {
  const t0 = Date.now();
  for (;;) {
    let recs: Rec[] = [];
    try {
      recs = records(file);
    } catch {
      recs = [];
    }
    if (pred(recs)) return recs;
    if (Date.now() - t0 > timeoutMs) assert.fail(`timed out waiting for ${what} in ${file}`);
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------

describe('data-parallel training under mpirun', () => {
  test('mpirun is installed and the trainer was built with MPI', async () => {
    requireMpi();
    const out = path.join(work, 'probe');
    const r = await mpirun(2, args(out, ['parallel.ranks=2', 'train.steps=1', 'train.warmup=0'])).done;
    assert.ok(!/built without MPI/.test(r.stderr), `the trainer was built without MPI: install libopenmpi-dev and rebuild (${r.stderr.trim()})`);
    assertOk(r, 'a 1-step run on 2 ranks');
  });

  for (const K of [1, 2]) {
    test(`2 ranks x batch 4 train like 1 rank x batch 8 over 10 steps (accumulate ${K})`, async () => {
      requireMpi();
      const one = path.join(work, `one-k${K}`);
      const two = path.join(work, `two-k${K}`);
      const [r1, r2] = await Promise.all([
        single(args(one, ['train.batch=8', `train.accumulate=${K}`])).done,
        mpirun(2, args(two, ['train.batch=4', `train.accumulate=${K}`, 'parallel.ranks=2', 'parallel.bucket=64KB'])).done,
      ]);
      assertOk(r1, '1 rank');
      assertOk(r2, '2 ranks');
      const a = steps(records(path.join(one, 'events.jsonl')));
      const b = steps(records(path.join(two, 'events.jsonl')));
      const c = steps(records(path.join(two, 'events.rank1.jsonl')));
      assert.equal(a.length, 10);
      assert.equal(b.length, 10);
      assert.equal(c.length, 10, 'rank 1 records its steps too');
      for (let i = 0; i < 10; ++i) {
        const rel = Math.abs(a[i].loss - b[i].loss) / Math.abs(a[i].loss);
        assert.ok(rel < 1e-5, `step ${i + 1}: 1 rank ${a[i].loss}, 2 ranks ${b[i].loss} (rel ${rel.toExponential(1)})`);
        assert.equal(c[i].loss, b[i].loss, 'both ranks report the same (global) loss');
        assert.equal(c[i].rank, 1);
        assert.equal(b[i].rank, 0);
      }
      const summary = JSON.parse(readFileSync(path.join(two, 'summary.json'), 'utf8'));
      assert.equal(summary.tokens, 10 * 8 * 32 * K, 'the summary counts the global batch');
    });
  }

  test('2 ranks: measured memory equals the prediction byte for byte, the all-reduce staging buffer included', async () => {
    requireMpi();
    // The default bucket (4 MB) gathers the small layers into one bucket of
    // several pieces: the staging buffer exists. 64 KB splits them too.
    for (const bucket of ['4MB', '64KB']) {
      const dir = path.join(work, `mem-${bucket}`);
      assertOk(await mpirun(2, args(dir, ['parallel.ranks=2', `parallel.bucket=${bucket}`, 'train.steps=2', 'train.warmup=0'])).done, `2 ranks, bucket ${bucket}`);
      const recs = records(path.join(dir, 'events.jsonl'));
      const run = recs[0];
      const summary = recs.find((r) => r.type === 'summary')!;
      assert.ok(summary.peak_by_category.comm > 0, `bucket ${bucket}: a staging buffer is measured`);
      assert.equal(run.predicted.comm, summary.peak_by_category.comm, `bucket ${bucket}: comm bytes`);
      assert.equal(summary.peak_bytes, summary.predicted_peak_bytes, `bucket ${bucket}: the whole peak`);
      for (const l of recs.filter((r) => r.type === 'layer')) {
        for (const k of ['param', 'grad', 'optim', 'act', 'workspace', 'comm'])
          assert.equal(l.bytes[k], l.predicted[k], `bucket ${bucket}, ${l.name}: ${k}`);
      }
    }
  });

  test('communication records from both ranks: bytes, times, bandwidth, overlap; both ranks in the trace', async () => {
    requireMpi();
    // A deeper model and more steps than the equivalence runs: backward is
    // then long enough for the communication thread to start buckets under
    // it even on a loaded 2-core machine.
    const dir = path.join(work, 'comm');
    const nsteps = 20;
    assertOk(
      await mpirun(2, args(dir, ['parallel.ranks=2', 'parallel.bucket=64KB', `train.steps=${nsteps}`, 'model.layers=4', 'model.width=96'])).done,
      '2 ranks',
    );
    const recs0 = records(path.join(dir, 'events.jsonl'));
    const recs1 = records(path.join(dir, 'events.rank1.jsonl'));
    const run = recs0[0];
    assert.equal(run.type, 'run');
    assert.equal(run.ranks, 2);
    assert.equal(run.clock_offsets_us.length, 2);
    assert.equal(run.clock_offsets_us[0], 0);
    assert.ok(Number.isFinite(run.clock_offsets_us[1]));
    assert.equal(run.rank_pids.length, 2);
    assert.ok(run.buckets >= 3, `the model spans several 64KB buckets (${run.buckets})`);
    assert.ok(!recs1.some((r) => r.type === 'run' || r.type === 'summary'), 'rank 1 writes no run or summary record');
    const paramBytes = run.params * 4;
    for (const [rank, recs] of [[0, recs0], [1, recs1]] as const) {
      const comm = recs.filter((r) => r.type === 'comm');
      assert.equal(comm.length, nsteps * run.buckets, `rank ${rank}: comm records for every bucket of every step`);
      for (const c of comm) {
        assert.equal(c.rank, rank);
        assert.equal(c.op, 'allreduce');
        assert.ok(c.bytes > 0 && c.bytes <= 64000 && c.t1 >= c.t0, JSON.stringify(c));
        const algbw = c.bytes / (c.t1 - c.t0) / 1e3; // bytes/µs -> GB/s
        // The stream writes 9 significant digits: t0 and t1 carry a rounding
        // error of up to half a unit in their 9th digit each.
        const ulp = 10 ** (Math.floor(Math.log10(Math.max(1, c.t1))) - 8);
        const tol = algbw * ((1.5 * ulp) / (c.t1 - c.t0) + 1e-8);
        assert.ok(Math.abs(c.algbw - algbw) <= tol, `algbw ${c.algbw} vs bytes/time ${algbw} (${JSON.stringify(c)})`);
        assert.ok(Math.abs(c.busbw - c.algbw * (2 * (2 - 1)) / 2) <= 1e-9 * c.algbw + 1e-12, 'busbw = algbw * 2(n-1)/n');
      }
      for (let s = 1; s <= nsteps; ++s) {
        const mine = comm.filter((c) => c.step === s);
        assert.deepEqual(mine.map((c) => c.bucket), [...Array(run.buckets).keys()], `rank ${rank} step ${s}: buckets in order`);
        assert.equal(mine.reduce((n, c) => n + c.bytes, 0), paramBytes, 'all gradients reduced once');
      }
      const st = steps(recs);
      for (const s of st) {
        assert.ok(s.comm && s.comm.ms > 0 && s.comm.exposed_ms >= 0 && s.comm.exposed_ms <= s.comm.ms + 1e-9, JSON.stringify(s.comm));
        assert.ok(s.comm.overlap >= 0 && s.comm.overlap <= 100);
        assert.ok(s.phases.comm >= 0, 'a comm phase');
      }
      const best = Math.max(...st.map((s) => s.comm.overlap));
      assert.ok(best > 0, `rank ${rank}: some communication overlapped backward (best overlap ${best}%)`);
    }
    const trace = JSON.parse(readFileSync(path.join(dir, 'trace.json'), 'utf8'));
    const xs = trace.traceEvents.filter((e: Rec) => e.ph === 'X');
    for (const pid of [0, 1]) {
      assert.ok(xs.some((e: Rec) => e.pid === pid && e.tid === 1), `trace: layer spans of rank ${pid}`);
      assert.ok(xs.some((e: Rec) => e.pid === pid && e.tid === 2 && e.cat === 'comm'), `trace: comm spans of rank ${pid}`);
    }
  });

  test('launch errors are clear', async () => {
    requireMpi();
    const r3 = await mpirun(3, args(path.join(work, 'np3'), ['parallel.ranks=2'])).done;
    assert.notEqual(r3.code, 0);
    assert.match(r3.stderr, /parallel\.ranks is 2 but mpirun started 3 processes/);
    const r0 = await single(args(path.join(work, 'nompi'), ['parallel.ranks=2'])).done;
    assert.equal(r0.code, 2);
    assert.match(r0.stderr, /parallel\.ranks is 2 but the trainer was not started by mpirun: run it as `mpirun -np 2/);
    const rn = await single(args(path.join(work, 'nccl'), ['parallel.backend=nccl'])).done;
    assert.notEqual(rn.code, 0);
    assert.match(rn.stderr, /parallel\.backend nccl: cannot load libnccl\.so\.2: |parallel\.backend nccl \(NCCL [\d.]+\) all-reduces GPU memory, but this model trains on the cpu/);
  });

  test('a killed rank ends the job within 10 s, non-zero, nothing left running, records intact', async () => {
    requireMpi();
    const dir = path.join(work, 'kill');
    const job = mpirun(2, args(dir, ['parallel.ranks=2', 'train.steps=100000', 'train.warmup=0']), 120_000);
    const events = path.join(dir, 'events.jsonl');
    const before = await waitFor(events, (r) => steps(r).length >= 3, 60_000, 'three steps');
    const pids: number[] = before[0].rank_pids;
    process.kill(pids[1], 'SIGKILL');
    const t0 = Date.now();
    const r = await job.done;
    const s = (Date.now() - t0) / 1000;
    assert.ok(s < 10, `the job took ${s.toFixed(1)} s to end after rank 1 was killed`);
    assert.notEqual(r.code, 0, 'mpirun returns non-zero');
    assert.match(r.stderr, /rank 1/, `a message names rank 1:\n${r.stderr}`);
    for (let i = 0; i < 100 && pids.some(alive); ++i) await sleep(20);
    assert.deepEqual(pids.filter(alive), [], 'no rank is left running');
    // Every record up to the last finished step: whole lines, steps 1..n.
    const recs = records(events);
    const st = steps(recs);
    assert.ok(st.length >= 3);
    st.forEach((x, i) => assert.equal(x.step, i + 1, 'steps without gaps'));
    const r1 = steps(records(path.join(dir, 'events.rank1.jsonl')));
    r1.forEach((x, i) => assert.equal(x.step, i + 1, 'rank 1: steps without gaps'));
  });

  test('ranks launched with different configs refuse within 10 s, naming the keys that differ', async () => {
    requireMpi();
    // MPMD: each rank its own command line, as `mpirun -np 1 a.train : -np 1 b.train` runs.
    const mpmd = (out: string, sets0: string[], sets1: string[]) =>
      start('mpirun', [...mpi.flags, '-np', '1', trainer, ...args(out, sets0), ':', '-np', '1', trainer, ...args(out, sets1)], 30_000);
    const cases: { name: string; sets: string[]; want: RegExp; key: string }[] = [
      { name: 'steps', sets: ['train.steps=20'], want: /rank 1's config differs from rank 0's: train\.steps 20 vs 10/, key: 'train.steps' },
      { name: 'width', sets: ['model.width=32'], want: /rank 1's config differs from rank 0's: model\.width 32 vs 64/, key: 'model.width' },
      { name: 'lr', sets: ['train.lr=1e-3'], want: /rank 1's config differs from rank 0's: train\.lr 0\.001 vs 0\.003/, key: 'train.lr' },
    ];
    for (const c of cases) {
      const dir = path.join(work, `mpmd-${c.name}`);
      const t0 = Date.now();
      const r = await mpmd(dir, ['parallel.ranks=2'], ['parallel.ranks=2', ...c.sets]).done;
      const s = (Date.now() - t0) / 1000;
      assert.ok(s < 10, `${c.name}: the job took ${s.toFixed(1)} s`);
      assert.notEqual(r.code, 0, `${c.name}: mpirun returns non-zero`);
      assert.match(r.stderr, c.want, `${c.name}:\n${r.stderr}`);
      // Printed once (by rank 0), and in both ranks' streams as a failed start.
      assert.equal(r.stderr.split("config differs").length - 1, 1, `${c.name}: one message:\n${r.stderr}`);
      for (const f of ['events.jsonl', 'events.rank1.jsonl']) {
        const recs = records(path.join(dir, f));
        assert.deepEqual(recs.map((x) => x.type), ['error', 'summary'], `${c.name}: ${f}`);
        assert.match(recs[0].message, c.want);
        assert.equal(recs[0].key, c.key);
        assert.equal(recs[1].status, 'failed');
      }
    }
    // train.threads only sets a host's speed: it may differ.
    assertOk(await mpmd(path.join(work, 'mpmd-threads'), ['parallel.ranks=2', 'train.steps=3'], ['parallel.ranks=2', 'train.steps=3', 'train.threads=2']).done, 'different train.threads');
  });

  test('a hung rank: the watchdog ends the job, and rank 0\'s stream ends with an error record and a summary', async () => {
    requireMpi();
    const dir = path.join(work, 'hung');
    const job = mpirun(2, args(dir, ['parallel.ranks=2', 'train.steps=100000', 'train.warmup=0']), 60_000);
    const events = path.join(dir, 'events.jsonl');
    const before = await waitFor(events, (r) => steps(r).length >= 3, 30_000, 'three steps');
    const pids: number[] = before[0].rank_pids;
    process.kill(pids[1], 'SIGSTOP');
    try {
      const r = await job.done;
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /rank 1 \(pid \d+ on .*\) stopped responding/);
    } finally {
      if (alive(pids[1])) process.kill(pids[1], 'SIGKILL');
    }
    const recs = records(events);
    const n = steps(recs).length;
    const err = recs[recs.length - 2];
    const summary = recs[recs.length - 1];
    assert.equal(err.type, 'error', `the error record before the summary: ${JSON.stringify(err)}`);
    assert.match(err.message, /^rank 1 \(pid \d+ on .*\) stopped responding/);
    assert.equal(err.step, n + 1, 'the step that did not finish');
    assert.equal(summary.type, 'summary');
    assert.equal(summary.status, 'failed');
    assert.equal(summary.steps, n);
    assert.equal(typeof summary.ms_per_step, 'number', 'a full summary: the run had started');
    assert.equal(JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')).status, 'failed');
  });

  test('resume after SIGTERM gives the uninterrupted losses bitwise (1 rank)', async () => {
    requireMpi();
    const sets = ['train.steps=1500', 'train.save_every=100', 'train.warmup=20', 'train.accumulate=2', 'model.layers=1', 'model.width=32', 'train.batch=2'];
    const full = path.join(work, 'full1');
    const cut = path.join(work, 'cut1');
    const rest = path.join(work, 'rest1');
    const uninterrupted = single(args(full, sets)).done;
    const job = single(args(cut, sets));
    await waitFor(path.join(cut, 'events.jsonl'), (r) => steps(r).length >= 40, 60_000, '40 steps');
    job.child.kill('SIGTERM');
    const rc = await job.done;
    assert.equal(rc.code, 143, `interrupted: exit 143 (${rc.code}): ${rc.stderr}`);
    const cutSteps = steps(records(path.join(cut, 'events.jsonl')));
    const saved = records(path.join(cut, 'events.jsonl')).filter((x) => x.type === 'save');
    assert.equal(saved.at(-1)?.step, cutSteps.length, 'the interrupted run saved its last step');
    assertOk(await single(args(rest, sets, ['--resume', cut])).done, 'the resumed run');
    assertOk(await uninterrupted, 'the uninterrupted run');
    const a = steps(records(path.join(full, 'events.jsonl')));
    const b = [...cutSteps, ...steps(records(path.join(rest, 'events.jsonl')))];
    assert.equal(b.length, 1500);
    for (let i = 0; i < 1500; ++i) {
      assert.equal(b[i].step, i + 1);
      assert.equal(b[i].loss, a[i].loss, `step ${i + 1}: loss`);
      assert.equal(b[i].grad_norm, a[i].grad_norm, `step ${i + 1}: grad norm`);
    }
    const run = records(path.join(rest, 'events.jsonl'))[0];
    assert.equal(run.resumed_from.step, cutSteps.length);
  });

  test('resume after a rank was killed gives the uninterrupted losses (2 ranks)', async () => {
    requireMpi();
    const sets = ['train.steps=600', 'train.save_every=25', 'parallel.ranks=2', 'parallel.bucket=64KB', 'model.layers=1', 'model.width=32', 'train.batch=2'];
    const full = path.join(work, 'full2');
    const cut = path.join(work, 'cut2');
    const rest = path.join(work, 'rest2');
    const job = mpirun(2, args(cut, sets), 120_000);
    const recs = await waitFor(path.join(cut, 'events.jsonl'), (r) => r.some((x) => x.type === 'save' && x.step >= 50), 60_000, 'a snapshot at step 50');
    assert.ok(!recs.some((x) => x.type === 'summary'), 'the run is still going when rank 1 is killed');
    process.kill(recs[0].rank_pids[1], 'SIGKILL');
    const rc = await job.done;
    assert.notEqual(rc.code, 0);
    assertOk(await mpirun(2, args(full, sets)).done, 'the uninterrupted run');
    assertOk(await mpirun(2, args(rest, sets, ['--resume', cut])).done, 'the resumed run');
    const a = steps(records(path.join(full, 'events.jsonl')));
    const b = steps(records(path.join(rest, 'events.jsonl')));
    const from = records(path.join(rest, 'events.jsonl'))[0].resumed_from.step;
    assert.ok(from >= 50 && from % 25 === 0, `resumed from the last snapshot (step ${from})`);
    assert.equal(b.length, 600 - from);
    for (const s of b) assert.equal(s.loss, a[s.step - 1].loss, `step ${s.step}: loss`);
    const b1 = steps(records(path.join(rest, 'events.rank1.jsonl')));
    const a1 = steps(records(path.join(full, 'events.rank1.jsonl')));
    for (const s of b1) assert.equal(s.grad_norm, a1[s.step - 1].grad_norm, `rank 1 step ${s.step}: grad norm`);
  });
});
