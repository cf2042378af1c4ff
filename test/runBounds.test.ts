// Schema-valid streams that lie about their run: records whose indices lie
// outside what the run record declares (a layer index of 2·10^9, a rank of
// 2·10^9, a new phase in every step) once grew the model's arrays to those
// indices and took the extension host's heap. They load in bounded memory
// and time now, with every such record counted as a stream problem, and a
// real run loads as it did.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { RunRecord } from '../common/events/schema';
import type { RunModel } from '../common/runModel';
import { loadRun } from '../extension/runs/runStore';
import { root, tempDir } from './support/trainer';

const fixture = path.join(root, 'test', 'fixtures', 'gpu-run', 'events.jsonl');
const fixtureLines = readFileSync(fixture, 'utf8').trim().split('\n');
/** The fixture's run record: 14 layers (embed, 12 blocks, head), 1 rank, 40 steps. */
const fixtureRun = JSON.parse(fixtureLines[0]) as RunRecord;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runRecord(change: (r: RunRecord) => void = () => {}): RunRecord {
  const r = structuredClone(fixtureRun);
  change(r);
  return r;
}

function span(step: number, layer: number, phase = 'fwd', rank = 0): object {
  return { type: 'span', rank, step, layer, name: 'block.0', phase, t0: step * 1000, t1: step * 1000 + 10 };
}

function step(n: number, extra: object = {}, phases: object = {}): object {
  return {
    type: 'step',
    step: n,
    loss: 3,
    lr: 1e-3,
    grad_norm: 1,
    ms: 2,
    tokens_per_s: 1000,
    phases: { data: 0.1, fwd: 0.5, bwd: 1, optim: 0.4, ...phases },
    mem: { live_bytes: 1, peak_bytes: 2 },
    ...extra,
  };
}

/** Writes the records as a run folder's events.jsonl, loads it, and says what it cost. */
async function load(records: readonly object[]): Promise<{ model: RunModel; ms: number; heapGrowth: number }> {
  const dir = tempDir();
  dirs.push(dir);
  writeFileSync(path.join(dir, 'events.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const { model } = await loadRun(dir);
  return { model, ms: performance.now() - t0, heapGrowth: process.memoryUsage().heapUsed - heap0 };
}

// Generous for a shared machine; the unbounded model needed gigabytes and
// minutes (or died) on each of these streams.
const MAX_MS = 10_000;
const MAX_HEAP = 256 * 1024 * 1024;

function assertBounded(r: { ms: number; heapGrowth: number }): void {
  assert.ok(r.ms < MAX_MS, `loaded in ${Math.round(r.ms)} ms`);
  assert.ok(r.heapGrowth < MAX_HEAP, `heap grew ${Math.round(r.heapGrowth / 2 ** 20)} MiB`);
}

describe('records outside the run record are counted, not folded in', () => {
  test('a span of layer 2·10^9', async () => {
    const r = await load([runRecord(), span(1, 1), span(1, 2_000_000_000), step(1)]);
    assertBounded(r);
    const m = r.model;
    assert.equal(m.streamProblems.count, 1, m.streamProblems.messages.join('\n'));
    assert.match(m.streamProblems.messages[0], /layer 2000000000 is not one of the run's 14 layers/);
    for (const col of m.layerTime.meanMs) assert.ok(col.length <= 14, `a layer-time column of ${col.length}`);
    assert.deepEqual(m.spans.samples[0].layer, [1]);
    assert.deepEqual(m.steps.step, [1]);
  });

  test('a step of rank 2·10^9 in a two-rank run', async () => {
    const run = runRecord((x) => (x.ranks = 2));
    const r = await load([run, span(1, 1), step(1, { rank: 0 }), step(1, { rank: 2_000_000_000 })]);
    assertBounded(r);
    const m = r.model;
    assert.equal(m.streamProblems.count, 1, m.streamProblems.messages.join('\n'));
    assert.match(m.streamProblems.messages[0], /rank 2000000000 is not one of the run's 2 ranks/);
    assert.equal(m.timeline?.ranks, 2);
    assert.ok(m.timeline!.samples[0].stepT0.length <= 2);
    assert.deepEqual(m.steps.step, [1]);
  });

  test('20,000 steps, each naming a new phase: four unknown phases are kept, the rest left out', async () => {
    const N = 20_000;
    const records: object[] = [runRecord((x) => (x.config.train.steps = N))];
    for (let s = 1; s <= N; s++) records.push(step(s, {}, { [`phase${s}`]: 1 }));
    const r = await load(records);
    assertBounded(r);
    const m = r.model;
    assert.equal(m.steps.step.length, N, 'every step record is kept');
    assert.deepEqual(m.steps.phaseNames, ['data', 'fwd', 'bwd', 'optim', 'phase1', 'phase2', 'phase3', 'phase4']);
    assert.ok(m.steps.phaseMs.every((c) => c.length === N));
    assert.equal(m.streamProblems.count, N - 4);
    assert.match(m.streamProblems.messages[0], /step 5: phase "phase5" is past the 4 phases/);
    assert.ok(m.streamProblems.messages.length <= 20, 'only the first few are described');
  });

  test('span phases: schema 1 and four others kept', async () => {
    const names = ['fwd', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
    const r = await load([runRecord(), ...names.map((p) => span(1, 1, p)), step(1)]);
    const m = r.model;
    assert.deepEqual(m.layerTime.phases, names.slice(0, 5));
    assert.deepEqual(m.spans.phases, names.slice(0, 5));
    assert.equal(m.streamProblems.count, 2);
  });

  test('layer indices, step numbers past train.steps, a second run record', async () => {
    const layer = (index: number): object => {
      const l = { param: 1, grad: 1, optim: 1, act: 1, workspace: 1 };
      return { type: 'layer', index, name: `l${index}`, kind: 'block', params: 1, checkpointed: false, bytes: l, predicted: l };
    };
    const r = await load([
      runRecord(),
      layer(0),
      layer(13),
      layer(14),
      step(1),
      step(40),
      step(41),
      { type: 'eval', step: 1_000_000_000, val_loss: 1 },
      { type: 'save', step: 99, path: 'snapshot.bin', bytes: 1, ms: 1 },
      runRecord((x) => (x.layers = Array.from({ length: 1000 }, (_, i) => `l${i}`))),
      span(1, 500),
    ]);
    const m = r.model;
    assert.deepEqual(
      m.layers.map((l) => l.index),
      [0, 13],
    );
    assert.deepEqual(m.steps.step, [1, 40]);
    assert.deepEqual(m.evals.step, []);
    assert.equal(m.run?.layers.length, 14, 'the first run record stands');
    assert.equal(m.streamProblems.count, 6, m.streamProblems.messages.join('\n'));
    assert.ok(m.streamProblems.messages.some((x) => /second run record/.test(x)));
    assert.ok(m.streamProblems.messages.some((x) => /step 41: the run has 40 steps/.test(x)));
  });

  test('error records past the first 100 are counted, not kept', async () => {
    const errors = Array.from({ length: 150 }, (_, i) => ({ type: 'error', message: `failure ${i}` }));
    const m = (await load([runRecord(), ...errors])).model;
    assert.equal(m.errors.length, 100);
    assert.equal(m.errors[99], 'failure 99');
    assert.equal(m.streamProblems.count, 50);
  });

  test('a stream without a run record is held to the config language\'s limits', async () => {
    const r = await load([span(1, 5), span(1, 2_000_000_000), step(1)]);
    assertBounded(r);
    assert.equal(r.model.streamProblems.count, 1);
    assert.deepEqual(r.model.spans.samples[0].layer, [5]);
  });
});

describe('a real run loads as before', () => {
  test('test/fixtures/gpu-run: no problems, every record in', async () => {
    const dir = tempDir();
    dirs.push(dir);
    writeFileSync(path.join(dir, 'events.jsonl'), readFileSync(fixture));
    const { model: m } = await loadRun(dir);
    const count = (type: string): number => fixtureLines.filter((l) => JSON.parse(l).type === type).length;
    assert.equal(m.streamProblems.count, 0, m.streamProblems.messages.join('\n'));
    assert.equal(m.status, 'completed');
    assert.equal(m.layers.length, 14);
    assert.equal(m.steps.step.length, count('step'));
    assert.deepEqual(m.steps.step, Array.from({ length: 40 }, (_, i) => i + 1));
    assert.deepEqual(m.steps.phaseNames, ['data', 'fwd', 'bwd', 'optim']);
    assert.equal(m.layerTime.sampledSteps, 5);
    const spans = m.spans.samples.reduce((n, s) => n + s.layer.length, 0);
    assert.equal(spans, count('span'), 'every span of every sampled step kept (5 samples, under the bound)');
  });
});
