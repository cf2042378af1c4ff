// The run model: folding events into columns, live deltas that rebuild the
// same model on the other side, bounded span samples; and the pure helpers
// the views draw with.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type {
  LayerRecord,
  RunRecord,
  SpanRecord,
  StepRecord,
  SummaryRecord,
  TrainerEvent,
} from '../common/events/schema';
import { formatBytes, formatCount, parseSize } from '../common/format';
import { applyDelta, emptyModel, type RankTimeline } from '../common/runModel';
import { RunModelBuilder } from '../extension/runs/runModelBuilder';
import { barColumns } from '../common/timelineBars';
import { withAlpha } from '../webview/color';
import { root } from './support/trainer';
import { bucketRanges, downsample } from '../webview/downsample';
import { checkpointFacts } from '../webview/views/checkpoints';
import { commFacts } from '../webview/views/commTimeline';

const bytes = { param: 1, grad: 1, optim: 2, act: 3, workspace: 4 };

function runRecord(steps: number, layers = 2, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    type: 'run',
    schema: 1,
    trainscope: '0.1.0',
    time: '2026-01-01T00:00:00Z',
    host: 'h',
    config_file: 'x.train',
    config: { model: { layers }, data: {}, train: { steps, checkpoint: 'none' }, parallel: { ranks: 1 } } as RunRecord['config'],
    model: 'gpt',
    params: 10,
    ranks: 1,
    device: 'cpu',
    threads: 1,
    blas: 'b',
    precision: 'fp32',
    tokens_per_step: 8,
    data: { source: 'synthetic', description: 'd', train_tokens: 0, val_tokens: 0 },
    layers: Array.from({ length: layers }, (_, i) => `l${i}`),
    predicted: { param: 1, grad: 1, optim: 2, peak_act_bytes: 3, peak_workspace_bytes: 4, peak_bytes: 11, params: 10, layers: [] },
    ...extra,
  };
}

function step(n: number, phases: Record<string, number> = { data: 0.1, fwd: 1, bwd: 2, optim: 0.5 }): StepRecord {
  return {
    type: 'step',
    step: n,
    loss: n === 3 ? null : 4 / n,
    lr: 0.001,
    grad_norm: 1,
    ms: 3.6,
    tokens_per_s: 1000 + n,
    phases: phases as unknown as StepRecord['phases'],
    mem: { live_bytes: 100, peak_bytes: 200 + n },
  };
}

function span(stepNo: number, layer: number, phase: string, ms: number): SpanRecord {
  return { type: 'span', rank: 0, step: stepNo, layer, name: `l${layer}`, phase, t0: stepNo * 1e6, t1: stepNo * 1e6 + ms * 1e3 };
}

function layer(index: number, checkpointed = false): LayerRecord {
  return { type: 'layer', index, name: `l${index}`, kind: 'block', params: 5, checkpointed, bytes, predicted: bytes };
}

const summary: SummaryRecord = {
  type: 'summary',
  status: 'completed',
  steps: 6,
  tokens: 48,
  ms_per_step: 3.6,
  tokens_per_s: 1000,
  wall_s: 1,
  peak_bytes: 300,
  peak_act_bytes: 3,
  peak_by_category: { param: 1 },
  predicted_peak_bytes: 11,
  predicted_peak_act_bytes: 3,
  rss_peak_bytes: 1000,
};

function stream(): TrainerEvent[] {
  return [
    runRecord(6),
    span(1, 0, 'fwd', 1),
    span(1, 1, 'fwd', 3),
    span(1, 1, 'bwd', 5),
    layer(0),
    layer(1),
    step(1),
    step(2),
    { type: 'eval', step: 2, val_loss: 2.5 },
    step(3),
    // A phase that appears mid-run (recompute) gets a column padded with 0.
    step(4, { data: 0.1, fwd: 1, recompute: 0.7, bwd: 2, optim: 0.5 }),
    span(5, 1, 'fwd', 1),
    step(5),
    step(6),
    { type: 'eval', step: 6, val_loss: null },
    summary,
  ];
}

describe('RunModelBuilder', () => {
  test('folds a stream into columns', () => {
    const b = new RunModelBuilder('r');
    b.add(stream());
    const m = b.model;
    assert.equal(m.status, 'completed');
    assert.deepEqual(m.steps.step, [1, 2, 3, 4, 5, 6]);
    assert.equal(m.steps.loss[2], null);
    assert.deepEqual(m.steps.phaseNames, ['data', 'fwd', 'bwd', 'optim', 'recompute']);
    assert.deepEqual(m.steps.phaseMs[4], [0, 0, 0, 0.7, 0, 0]);
    assert.deepEqual(m.evals, { step: [2, 6], valLoss: [2.5, null] });
    assert.equal(m.layers.length, 2);
    assert.equal(m.layerTime.sampledSteps, 2);
    assert.deepEqual(m.layerTime.phases, ['fwd', 'bwd']);
    // layer 1 fwd: step 5's 1 ms (step 1, the warm-up, is left out once a
    // later sampled step has the span); bwd: only step 1 has it, 5 ms.
    assert.ok(Math.abs(m.layerTime.meanMs[0][1] - 1) < 1e-9);
    assert.ok(Math.abs(m.layerTime.meanMs[1][1] - 5) < 1e-9);
    assert.equal(m.summary, summary);
  });

  test('status: live until the end; without a summary, incomplete (or failed with an error record)', () => {
    const b = new RunModelBuilder('r', { live: true });
    assert.equal(b.model.status, 'live');
    b.add([runRecord(3), step(1)]);
    assert.equal(b.model.status, 'live');
    b.finish();
    assert.equal(b.model.status, 'incomplete');
    const f = new RunModelBuilder('f');
    f.add([{ type: 'error', message: 'x.train:1:1: error: bad data' }]);
    assert.equal(f.model.status, 'failed');
    assert.deepEqual(f.model.errors, ['x.train:1:1: error: bad data']);
  });

  test('deltas rebuild the same model, chunk by chunk', () => {
    const events = stream();
    for (const chunk of [1, 2, 3, 5, 100]) {
      const b = new RunModelBuilder('r', { live: true });
      const mirror = emptyModel('r', 'live');
      const cursor = b.cursor();
      for (let i = 0; i < events.length; i += chunk) {
        b.add(events.slice(i, i + chunk));
        const d = b.delta(cursor);
        // Through JSON, as postMessage would carry it.
        if (d) assert.equal(applyDelta(mirror, JSON.parse(JSON.stringify(d))), true);
        assert.equal(b.delta(cursor), undefined, 'a second delta with no new events is empty');
      }
      b.finish();
      const last = b.delta(cursor);
      if (last) applyDelta(mirror, JSON.parse(JSON.stringify(last)));
      const expected = JSON.parse(JSON.stringify(b.model));
      // Spans are not shipped live.
      expected.spans = mirror.spans;
      assert.deepEqual(JSON.parse(JSON.stringify(mirror)), expected, `chunk ${chunk}`);
    }
  });

  test('a delta that does not continue the model is refused', () => {
    const b = new RunModelBuilder('r', { live: true });
    const c = b.cursor();
    b.add([runRecord(3), step(1)]);
    b.delta(c);
    b.add([step(2)]);
    const d = b.delta(c)!;
    const stale = emptyModel('r', 'live');
    assert.equal(applyDelta(stale, d), false);
    assert.equal(stale.steps.step.length, 0);
    assert.equal(applyDelta(emptyModel('other'), d), false);
  });

  test('a 2-rank live run: rank 1 read ahead of rank 0 waits; deltas carry the timeline as it grows', () => {
    const STEPS = 24;
    // Per step and rank: two spans, two all-reduces, then the step record.
    const records = (rank: number, s: number): TrainerEvent[] => [
      { ...span(s, 0, 'fwd', 1), rank },
      { ...span(s, 1, 'bwd', 2), rank },
      { type: 'comm', rank, step: s, op: 'allreduce', bucket: 0, bytes: 64, t0: s * 1e6 + 100, t1: s * 1e6 + 900, algbw: 1, busbw: 1 },
      { type: 'comm', rank, step: s, op: 'allreduce', bucket: 1, bytes: 64, t0: s * 1e6 + 1000, t1: s * 1e6 + 1500, algbw: 1, busbw: 1 },
      { ...step(s), rank, comm: { ms: 1.3, exposed_ms: 0.2, overlap: 85 } },
    ];
    const run = runRecord(STEPS, 2, { ranks: 2 });
    const live = new RunModelBuilder('dp', { live: true, maxSpanSamples: 4 });
    const mirror = emptyModel('dp', 'live');
    const cursor = live.cursor();
    const ship = (): void => {
      const d = live.delta(cursor);
      // Through JSON, as postMessage carries it: bars packed.
      if (d) assert.equal(applyDelta(mirror, JSON.parse(JSON.stringify(d))), true);
    };
    live.add([run]);
    // Rank 1's file is read a step ahead of events.jsonl.
    live.addRank(records(1, 1));
    for (let s = 1; s <= STEPS; s++) {
      if (s < STEPS) live.addRank(records(1, s + 1));
      ship();
      live.add(records(0, s));
      ship();
    }
    live.finish();
    ship();
    // The same records read as loadRun reads them: rank 0's file, then rank 1's.
    const saved = new RunModelBuilder('dp', { maxSpanSamples: 4 });
    saved.add([run]);
    for (let s = 1; s <= STEPS; s++) saved.add(records(0, s));
    for (let s = 1; s <= STEPS; s++) saved.addRank(records(1, s));
    const decoded = (tl: RankTimeline | undefined) =>
      tl && { ...tl, samples: tl.samples.map((x) => ({ ...x, bars: Object.fromEntries(Object.entries(barColumns(x.bars)).map(([k, v]) => [k, Array.from(v)])) })) };
    const want = decoded(saved.model.timeline);
    assert.ok(want && want.samples.length >= 2, 'sampled steps kept');
    for (const x of want.samples) assert.equal(x.bars.rank.filter((r) => r === 1).length, 4, `step ${x.step}: rank 1's spans and all-reduces`);
    assert.deepEqual(decoded(live.model.timeline), want, 'live: the same timeline as loaded from disk');
    assert.deepEqual(decoded(mirror.timeline), want, 'the page: the same timeline, from deltas');
  });

  test('span samples stay bounded and evenly spread over a long run', () => {
    const b = new RunModelBuilder('r', { maxSpanSamples: 8 });
    for (let s = 1; s <= 1000; s++) b.add([span(s, 0, 'fwd', 1), span(s, 0, 'bwd', 2), step(s)]);
    const samples = b.model.spans.samples;
    assert.ok(samples.length <= 8 && samples.length >= 4, `${samples.length} samples`);
    assert.equal(samples[0].step, 1);
    const gaps = samples.slice(1).map((s, i) => s.step - samples[i].step);
    assert.ok(gaps.every((g) => g === gaps[0]), `uneven gaps ${gaps.join(',')}`);
    assert.ok(samples.every((s) => s.layer.length === 2));
    assert.equal(b.model.layerTime.sampledSteps, 1000);
    assert.ok(Math.abs(b.model.layerTime.meanMs[1][0] - 2) < 1e-9);
  });

  test('10^5 steps stay columns of numbers', () => {
    const b = new RunModelBuilder('r');
    const batch: TrainerEvent[] = [];
    for (let s = 1; s <= 100000; s++) batch.push(step(s));
    b.add(batch);
    assert.equal(b.model.steps.step.length, 100000);
    assert.ok(b.model.steps.phaseMs.every((c) => c.length === 100000));
  });
});

describe('checkpoint and communication facts', () => {
  test('no checkpointing and a single rank say so', () => {
    const b = new RunModelBuilder('r');
    b.add([runRecord(2), layer(0), layer(1), step(1), step(2)]);
    assert.equal(checkpointFacts(b.model), null);
    assert.deepEqual(commFacts(b.model), { kind: 'single-rank' });
  });

  test('checkpointed layers and recompute time are reported', () => {
    const r = runRecord(2);
    r.config.train.checkpoint = 'every 1';
    const b = new RunModelBuilder('r');
    b.add([r, layer(0, true), layer(1), step(1, { fwd: 1, recompute: 2, bwd: 1, optim: 1 }), step(2, { fwd: 1, recompute: 4, bwd: 1, optim: 1 })]);
    assert.deepEqual(checkpointFacts(b.model), { setting: 'every 1', checkpointed: [{ index: 0, name: 'l0' }], recomputeMs: 3 });
  });

  test('several ranks without comm timings, and with them', () => {
    const b = new RunModelBuilder('r');
    b.add([runRecord(2, 2, { ranks: 4 }), step(1)]);
    assert.deepEqual(commFacts(b.model), { kind: 'no-records', ranks: 4 });
    b.add([step(2, { data: 0, fwd: 1, bwd: 1, optim: 0.6, comm: 2 })]);
    const f = commFacts(b.model);
    assert.equal(f.kind, 'timed');
  });
});

describe('view helpers', () => {
  test('bucketRanges covers every row once', () => {
    const r = bucketRanges(10, 3);
    assert.deepEqual(r, [
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    assert.deepEqual(bucketRanges(2, 5), [
      [0, 1],
      [1, 2],
    ]);
    assert.deepEqual(bucketRanges(0, 5), []);
  });

  test('downsample keeps short series and averages long ones, skipping nulls', () => {
    assert.deepEqual(downsample([1, 2, 3], [1, null, 3], 10), [
      { x: 1, y: 1 },
      { x: 2, y: null },
      { x: 3, y: 3 },
    ]);
    const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
    const ys = xs.map((x) => (x % 2 ? 1 : 3));
    const d = downsample(xs, ys, 100);
    assert.equal(d.length, 100);
    assert.ok(d.every((p) => p.y === 2));
    assert.equal(d[0].x, 5.5);
  });

  test('withAlpha', () => {
    assert.equal(withAlpha('#ff8000', 0.5), 'rgba(255, 128, 0, 0.5)');
    assert.equal(withAlpha('#f80', 0.5), 'rgba(255, 136, 0, 0.5)');
    assert.equal(withAlpha('rgb(1, 2, 3)', 0.2), 'rgba(1, 2, 3, 0.2)');
    assert.equal(withAlpha('rgba(1,2,3,0.9)', 0.2), 'rgba(1, 2, 3, 0.2)');
    assert.equal(withAlpha('red', 0.2), 'red');
  });

  test('parseSize reads the memory budget setting like config sizes', () => {
    assert.deepEqual(parseSize('2GB'), { ok: true, bytes: 2e9 });
    assert.deepEqual(parseSize(' 1.5KiB '), { ok: true, bytes: 1536 });
    assert.deepEqual(parseSize('512 MiB'), { ok: true, bytes: 512 * 1024 * 1024 });
    assert.deepEqual(parseSize('4096'), { ok: true, bytes: 4096 });
    assert.equal(parseSize('2gb').ok, false);
    assert.equal(parseSize('lots').ok, false);
    assert.equal(parseSize('0GB').ok, false);
  });

  test('formatting', () => {
    assert.equal(formatBytes(54_400_000), '54.4 MB');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatCount(812_345), '812k');
    assert.equal(formatCount(1_200_000), '1.20M');
  });
});

describe('a recorded GPU run (test/fixtures/gpu-run: GPT-2 124M on an H100)', () => {
  test('time per layer leaves out the warm-up step', () => {
    const file = path.join(root, 'test', 'fixtures', 'gpu-run', 'events.jsonl');
    const b = new RunModelBuilder('gpu');
    b.add(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainerEvent));
    const lt = b.model.layerTime;
    const fwd = lt.meanMs[lt.phases.indexOf('fwd')];
    // Step 1's block.0 forward pays for cuBLAS's set-up (about 27 ms); from
    // step 10 on it costs what block.1 does.
    assert.equal(lt.sampledSteps, 5);
    assert.ok(fwd[1] < 1.5 * fwd[2], `block.0 ${fwd[1]} ms vs block.1 ${fwd[2]} ms`);
  });
});
