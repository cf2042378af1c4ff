// The communication view's geometry (webview/views/commTimeline.ts) and the
// run store's per-rank timeline: decimation of a million bars, the layout of
// a real 2-rank run (both ranks, all-reduces inside their step windows), and
// report.html carrying that run's communication data. vscode-free.
// The 2-rank run needs mpirun and a trainer built with MPI: without them the
// tests that need it fail saying so, as test/distributed.test.ts does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BAR_COMM, BAR_SPAN, type RankTimeline, type RunModel } from '../common/runModel';
import { RunModelBuilder } from '../extension/runs/runModelBuilder';
import { loadRun } from '../extension/runs/runStore';
import { barColumns, isPackedBars, isPackedBarsValue } from '../common/timelineBars';
import { REPORT_DATA_ID } from '../common/protocol';
import {
  bucketRows,
  coveredBy,
  decimate,
  intervalUnion,
  MAX_VISIBLE_BARS,
  maxDrawnBars,
  rankCommRows,
  timelineLayout,
} from '../webview/views/commTimeline';
import { root, tempDir, trainer } from './support/trainer';

describe('decimation', () => {
  test('10^6 bars become at most lanes × (width + 2), covering the same extent per lane', () => {
    const n = 1_000_000;
    const lanes = 4;
    const lane = new Uint16Array(n);
    const t0 = new Float64Array(n);
    const t1 = new Float64Array(n);
    const color = new Uint16Array(n);
    // Per lane, n / lanes bars of 1..3 µs with small gaps, in time order.
    const per = n / lanes;
    for (let l = 0; l < lanes; l++) {
      let t = l * 7;
      for (let k = 0; k < per; k++) {
        const i = l * per + k;
        lane[i] = l;
        t0[i] = t;
        t1[i] = t + 1 + (k % 3);
        color[i] = k % 5;
        t = t1[i] + (k % 2);
      }
    }
    let tMax = 0;
    for (let i = 0; i < n; i++) if (t1[i] > tMax) tMax = t1[i];
    const widthPx = 1000;
    const started = Date.now();
    const out = decimate({ lane, t0, t1, color }, n, { t0: 0, t1: tMax, widthPx });
    const ms = Date.now() - started;
    assert.equal(out.decimated, true);
    assert.ok(out.count <= lanes * (widthPx + 2), `${out.count} bars out`);
    assert.ok(out.count >= lanes, 'every lane keeps bars');
    assert.ok(ms < 5000, `took ${ms} ms`);
    const scale = widthPx / tMax;
    let mergedTotal = 0;
    for (let l = 0; l < lanes; l++) {
      let inLo = Infinity;
      let inHi = -Infinity;
      for (let k = 0; k < per; k++) {
        inLo = Math.min(inLo, t0[l * per + k]);
        inHi = Math.max(inHi, t1[l * per + k]);
      }
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = 0; k < out.count; k++) {
        if (out.lane[k] !== l) continue;
        lo = Math.min(lo, out.x0[k]);
        hi = Math.max(hi, out.x1[k]);
        mergedTotal += out.merged[k];
      }
      assert.ok(Math.abs(lo - inLo * scale) < 1e-6, `lane ${l} starts where its bars start`);
      assert.ok(Math.abs(hi - inHi * scale) < 1e-6, `lane ${l} ends where its bars end`);
    }
    assert.equal(mergedTotal, n, 'every bar is accounted for once');
  });

  test('more bars than a lane has pixels are merged, at most MAX_VISIBLE_BARS are drawn one by one', () => {
    assert.equal(maxDrawnBars(4, 1000), 4000);
    assert.equal(maxDrawnBars(1000, 1000), MAX_VISIBLE_BARS);
    const n = 8000;
    const bars = { lane: new Uint16Array(n), t0: new Float64Array(n), t1: new Float64Array(n), color: new Uint16Array(n) };
    for (let i = 0; i < n; i++) {
      bars.t0[i] = i;
      bars.t1[i] = i + 0.5;
    }
    const out = decimate(bars, n, { t0: 0, t1: n, widthPx: 1000 }, maxDrawnBars(1, 1000));
    assert.equal(out.decimated, true);
    assert.ok(out.count <= 1002, `${out.count} bars drawn for 1000 px`);
  });

  test('few visible bars are kept as they are; bars outside the view are dropped', () => {
    const bars = { lane: [0, 0, 1], t0: [0, 10, 5], t1: [5, 20, 6], color: [0, 1, 2] };
    const out = decimate(bars, 3, { t0: 0, t1: 8, widthPx: 80 });
    assert.equal(out.decimated, false);
    assert.equal(out.count, 2);
    assert.deepEqual([...out.x0.subarray(0, 2)], [0, 50]);
    assert.deepEqual([...out.x1.subarray(0, 2)], [50, 60]);
    // Forced decimation of the same bars: wide bars of different colours stay apart.
    const forced = decimate(bars, 3, { t0: 0, t1: 20, widthPx: 200 }, 0);
    assert.equal(forced.count, 3);
  });
});

describe('overlap of all-reduces with backward', () => {
  // Deterministic pseudo-random intervals.
  const rng = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

  test('the union of intervals covers exactly what the intervals cover', () => {
    const r = rng(7);
    const list: [number, number][] = [];
    for (let i = 0; i < 300; i++) {
      const a = Math.floor(r() * 1000);
      list.push([a, a + Math.floor(r() * 20)]);
    }
    const brute = (a: number, b: number): number => {
      // Unit cells of [a, b) inside any interval (endpoints are integers).
      let n = 0;
      for (let t = a; t < b; t++) if (list.some(([s, e]) => s <= t && t + 1 <= e)) n++;
      return n;
    };
    const u = intervalUnion(list.map(([s, e]) => [s, e]));
    for (let k = 1; k < u.start.length; k++) assert.ok(u.start[k] > u.end[k - 1], 'runs are disjoint and sorted');
    for (let i = 0; i < 200; i++) {
      const a = Math.floor(r() * 1000);
      const b = a + Math.floor(r() * 80);
      assert.equal(coveredBy(u, a, b), brute(a, b), `[${a}, ${b}]`);
    }
  });

  test('bucket overlap of a 10^5-bar step matches the pairwise sum', () => {
    const b = new RunModelBuilder('big', { maxSpanSamples: 4 });
    const per = 25_000;
    const ev: Parameters<RunModelBuilder['add']>[0][number][] = [
      { type: 'run', schema: 1, ranks: 2, config: { train: {} }, layers: ['l0', 'l1', 'l2', 'l3', 'l4', 'l5'], predicted: {} } as unknown as Parameters<RunModelBuilder['add']>[0][number],
    ];
    for (const rank of [0, 1]) {
      for (let i = 0; i < per; i++) {
        const t = i * 40;
        ev.push({ type: 'span', rank, step: 1, layer: i % 6, name: 'l', phase: i % 3 ? 'bwd' : 'fwd', t0: t, t1: t + 30 });
        ev.push({ type: 'comm', rank, step: 1, op: 'allreduce', bucket: i, bytes: 4096, t0: t + 25, t1: t + 45, algbw: 1, busbw: 1 });
      }
    }
    b.add(ev);
    const tl = b.model.timeline!;
    const started = Date.now();
    const rows = bucketRows(tl, tl.samples[0]);
    const ms = Date.now() - started;
    assert.equal(rows.length, per);
    // Bucket i's all-reduce [40i+25, 40i+45] meets span i's [40i, 40i+30]
    // (5 µs) and span i+1's [40i+40, 40i+70] (5 µs), when they are backward.
    const bwd = (i: number): boolean => i < per && i % 3 !== 0;
    for (const i of [0, 1, 2, 3, 100, 999, per - 1]) {
      const want = ((bwd(i) ? 5 : 0) + (bwd(i + 1) ? 5 : 0)) / 20;
      assert.ok(Math.abs(rows[i].overlapBwd - want) < 1e-9, `bucket ${i}: ${rows[i].overlapBwd} vs ${want}`);
      assert.equal(rows[i].ranks, 2);
    }
    assert.ok(ms < 2000, `bucketRows took ${ms} ms for ${2 * per} all-reduces`);
  });
});

describe('timeline builder', () => {
  test('single-rank runs have no timeline; thinning keeps timeline and span samples together', () => {
    const run = (ranks: number) =>
      ({ type: 'run', schema: 1, ranks, config: { train: {} }, layers: ['l'], predicted: {} }) as unknown as Parameters<RunModelBuilder['add']>[0][number];
    const one = new RunModelBuilder('a');
    one.add([run(1)]);
    assert.equal(one.model.timeline, undefined);
    const b = new RunModelBuilder('b', { maxSpanSamples: 4 });
    const ev: Parameters<RunModelBuilder['add']>[0][number][] = [run(2)];
    for (let s = 1; s <= 20; s++) {
      ev.push({ type: 'span', rank: 0, step: s, layer: 0, name: 'l', phase: 'bwd', t0: s * 100, t1: s * 100 + 10 });
      ev.push({ type: 'comm', rank: 0, step: s, op: 'allreduce', bucket: 0, bytes: 64, t0: s * 100 + 5, t1: s * 100 + 20, algbw: 1, busbw: 1 });
    }
    b.add(ev);
    const tl = b.model.timeline!;
    assert.deepEqual(
      tl.samples.map((x) => x.step),
      b.model.spans.samples.map((x) => x.step),
    );
    assert.ok(tl.samples.length <= 4);
    for (const x of tl.samples) assert.deepEqual(Array.from(barColumns(x.bars).kind), [BAR_SPAN, BAR_COMM]);
    // Typed columns serialise packed, and decode to the same values.
    const json = JSON.parse(JSON.stringify(tl)) as RankTimeline;
    const packed = json.samples[0].bars;
    assert.ok(isPackedBarsValue(packed), 'packed in JSON');
    const host = barColumns(tl.samples[0].bars);
    const back = barColumns(packed);
    for (const k of Object.keys(host) as (keyof typeof host)[]) {
      assert.equal(back[k].constructor, host[k].constructor, `${k} keeps its element type`);
      assert.deepEqual(Array.from(back[k]), Array.from(host[k]), k);
    }
  });
});

// ---------------------------------------------------------------------------
// A real 2-rank run.

function mpiFlags(): { ok: boolean; why: string; flags: string[] } {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `mpirun not found (${r.error.message}): install Open MPI (apt-get install openmpi-bin libopenmpi-dev)`, flags: [] };
  const flags = /Open MPI|OpenRTE/i.test(`${r.stdout}${r.stderr}`) ? ['--allow-run-as-root', '--oversubscribe'] : [];
  return { ok: true, why: '', flags };
}

const CONFIG = `[model]
type gpt
vocab 64
context 32
layers 4
width 64
heads 4

[data]
synthetic
val_fraction 0.1

[train]
steps 12
batch 4
lr 3e-3
profile_every 4

[parallel]
ranks 2
bucket 64KB
`;

describe('a 2-rank run', () => {
  let tmp = '';
  let dir = '';
  let why = '';
  let model: RunModel | undefined;

  before(async () => {
    const mpi = mpiFlags();
    if (!mpi.ok) return void (why = mpi.why);
    if (!existsSync(trainer)) return void (why = `no trainer at ${trainer} (npm run build)`);
    tmp = tempDir('trainscope-commview-');
    const cfg = path.join(tmp, 'dp.train');
    writeFileSync(cfg, CONFIG);
    dir = path.join(tmp, 'run');
    const r = spawnSync('mpirun', [...mpi.flags, '-np', '2', trainer, cfg, '--out', dir], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
      timeout: 120_000,
    });
    if (r.status !== 0) return void (why = `mpirun exited ${r.status}: ${r.stderr.slice(-2000)}`);
    model = (await loadRun(dir)).model;
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the store keeps both ranks’ spans and all-reduces of the sampled steps', () => {
    if (!model) assert.fail(why);
    assert.equal(model.streamProblems.count, 0, model.streamProblems.messages.join('\n'));
    const tl = model.timeline;
    assert.ok(tl, 'a timeline');
    assert.equal(tl.ranks, 2);
    assert.deepEqual(
      tl.samples.map((x) => x.step),
      [1, 4, 8, 12],
    );
    const bars = tl.samples[0].bars;
    assert.ok(!isPackedBars(bars) && bars.rank instanceof Uint16Array && bars.t0 instanceof Float64Array, 'typed columns');
    // Rank 0's step columns are not doubled by rank 1's step records.
    assert.deepEqual(model.steps.step, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test('layout: both ranks on one axis, every all-reduce inside its rank’s step window', () => {
    if (!model) assert.fail(why);
    const tl = model.timeline!;
    for (const sample of tl.samples) {
      const L = timelineLayout(tl, sample);
      assert.equal(L.ranks, 2);
      assert.equal(L.lanes, 4);
      const lanesSeen = new Set(L.lane);
      for (const l of [0, 1, 2, 3]) assert.ok(lanesSeen.has(l), `step ${sample.step}: lane ${l} has bars`);
      for (let r = 0; r < 2; r++) assert.ok(L.stepWindows[r], `step ${sample.step}: rank ${r} has a step window`);
      let comm = 0;
      for (let i = 0; i < L.t0.length; i++) {
        assert.ok(L.t0[i] >= L.tMin && L.t1[i] <= L.tMax);
        if (L.lane[i] % 2 !== 1) continue;
        comm++;
        assert.equal(L.color[i], L.commColor);
        const w = L.stepWindows[(L.lane[i] - 1) / 2]!;
        assert.ok(L.t0[i] >= w.t0 && L.t1[i] <= w.t1, `step ${sample.step}: bucket [${L.t0[i]}, ${L.t1[i]}] in [${w.t0}, ${w.t1}]`);
      }
      assert.ok(comm >= 2, 'all-reduces on both ranks');
      const rows = bucketRows(tl, sample);
      assert.ok(rows.length >= 1);
      for (const b of rows) {
        assert.equal(b.ranks, 2, `bucket ${b.bucket} measured on both ranks`);
        assert.ok(b.bytes > 0 && b.ms > 0 && b.busbw > 0);
        assert.ok(b.overlapBwd >= 0 && b.overlapBwd <= 1);
      }
      const per = rankCommRows(sample);
      assert.equal(per.length, 2);
      for (const r of per) {
        assert.ok(r.commMs !== null && r.exposedMs !== null && r.overlap !== null);
        assert.ok(r.overlap >= 0 && r.overlap <= 100);
      }
    }
  });

  test('report.html carries the communication data', () => {
    if (!model) assert.fail(why);
    const cli = path.join(root, 'out', 'report.js');
    assert.ok(existsSync(cli) && existsSync(path.join(root, 'out', 'webview.js')), 'out/report.js and out/webview.js (npm run build)');
    const r = spawnSync(process.execPath, [cli, dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    const m = new RegExp(`<script type="application/json" id="${REPORT_DATA_ID}">([\\s\\S]*?)</script>`).exec(html);
    assert.ok(m, 'the inlined data');
    const data = JSON.parse(m[1]) as { model: RunModel };
    const tl = data.model.timeline;
    assert.ok(tl, 'the report has the timeline');
    assert.equal(tl.samples.length, model.timeline!.samples.length);
    for (const sample of tl.samples) {
      assert.ok(isPackedBarsValue(sample.bars), 'bars packed in JSON');
      const b = barColumns(sample.bars);
      for (const rank of [0, 1]) {
        let n = 0;
        for (let i = 0; i < b.kind.length; i++) if (b.kind[i] === BAR_COMM && b.rank[i] === rank) n++;
        assert.ok(n > 0, `step ${sample.step}: rank ${rank}'s all-reduces`);
      }
      assert.equal(sample.overlap.length, 2);
    }
    // The bundle that draws it: the communication view's table.
    assert.ok(html.includes('overlap with backward'), 'the communication view is in the page');
  });
});
