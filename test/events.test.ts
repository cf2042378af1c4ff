// The event stream contract (docs/events.md): the parser and validator of
// common/events/ on hand-made streams, then the real trainer's output
// (a short run, and an interrupted one) checked against the documented
// schema and ordering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { EventStreamParser, parseEventsFile } from '../common/events/parse';
import {
  type CommRecord,
  deviceLabel,
  type ErrorRecord,
  isShortSummary,
  type LayerRecord,
  type RunRecord,
  type SaveRecord,
  SCHEMA_VERSION,
  SHORT_SUMMARY_OMITS,
  type SpanRecord,
  type StepRecord,
  type SummaryRecord,
  type TrainerEvent,
} from '../common/events/schema';
import { parseSpanLine } from '../common/events/spanLine';
import { validateEvent } from '../common/events/validate';
import { type Finished, haveTrainer, NO_TRAINER, runTiny, tempDir, trainer } from './support/trainer';

// ---------------------------------------------------------------------------
// Hand-made records, shaped like the trainer's.

const layerBytes = { param: 6144, grad: 6144, optim: 12288, act: 8192, act_peak: 8192, workspace: 512 };

function runRecord(configFile = 'tiny.train'): Record<string, unknown> {
  return {
    type: 'run',
    schema: 1,
    trainscope: '0.1.0',
    time: '2026-01-31T12:00:00Z',
    host: 'box',
    config_file: configFile,
    config: {
      model: { type: 'gpt', vocab: 32, context: 16, layers: 1, width: 32, heads: 2 },
      data: { source: 'synthetic', path: '', val_fraction: 0.1, seed: 1234 },
      train: { steps: 2, batch: 4 },
      parallel: { ranks: 1, bucket: 4194304, backend: 'mpi' },
    },
    model: 'gpt',
    params: 27008,
    ranks: 1,
    device: 'cpu',
    threads: 2,
    blas: 'OpenBLAS',
    precision: 'fp32',
    checkpoint: 'none',
    tokens_per_step: 64,
    accumulate: 1,
    data: { source: 'synthetic', description: 'synthetic phrase task', train_tokens: 0, val_tokens: 0, entropy_floor: 0.43 },
    layers: ['embed', 'block.0', 'head'],
    predicted: {
      param: 108032,
      grad: 108032,
      optim: 216064,
      act_end_of_forward: 305920,
      peak_act_bytes: 305920,
      peak_workspace_bytes: 49664,
      peak_bytes: 770560,
      params: 27008,
      checkpoint: 'none',
      recompute_flops: 0,
      step_flops: 1.0616832e7,
      layers: [{ name: 'embed', params: 1536, checkpointed: false, segment_start: false, bytes: layerBytes }],
    },
  };
}

function stepRecord(step: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'step',
    step,
    loss: 3.4,
    t0: 1000 * step,
    t1: 1000 * step + 800,
    lr: 0.001,
    grad_norm: 1.5,
    ms: 0.8,
    tokens_per_s: 80000,
    phases: { data: 0.001, fwd: 0.3, bwd: 0.3, optim: 0.2 },
    mem: { live_bytes: 432640, peak_bytes: 770560 },
    ...extra,
  };
}

function summaryRecord(): Record<string, unknown> {
  return {
    type: 'summary',
    status: 'completed',
    steps: 2,
    tokens: 128,
    first_loss: 3.45,
    final_loss: 3.4,
    final_val_loss: 3.39,
    ms_per_step: 0.8,
    tokens_per_s: 80000,
    wall_s: 0.1,
    peak_bytes: 770560,
    peak_act_bytes: 305920,
    peak_by_category: { param: 108032, grad: 108032, optim: 216064, act: 305920, workspace: 49664, comm: 0 },
    predicted_peak_bytes: 770560,
    predicted_peak_act_bytes: 305920,
    rss_peak_bytes: 7933952,
  };
}

function sampleRecords(configFile = 'données/modèle→tiny.train'): Record<string, unknown>[] {
  return [
    runRecord(configFile),
    { type: 'span', rank: 0, step: 1, layer: 0, name: 'embed', phase: 'fwd', t0: 10.5, t1: 12.25 },
    {
      type: 'layer',
      index: 0,
      name: 'embed',
      kind: 'embed',
      params: 1536,
      checkpointed: false,
      segment_start: false,
      bytes: layerBytes,
      predicted: layerBytes,
    },
    stepRecord(1),
    stepRecord(2, {
      loss: null,
      note: 'ünïcödé ✓ 😀',
      accumulate: 2,
      loss_scale: 65536,
      skipped: false,
      noise_scale: 12.5,
      suggested_accumulate: 3,
      phases: { data: 0.001, fwd: 0.3, bwd: 0.2, optim: 0.2, recompute: 0.1 },
    }),
    { type: 'eval', step: 2, val_loss: 3.39 },
    summaryRecord(),
  ];
}

/** The short summary of a run that failed before it started. */
function shortSummary(): Record<string, unknown> {
  return { type: 'summary', status: 'failed', steps: 0, tokens: 0, wall_s: 0.0004 };
}

function toJsonl(records: unknown[], eol = '\n'): string {
  return records.map((r) => JSON.stringify(r) + eol).join('');
}

// ---------------------------------------------------------------------------
// Parser and validator.

test('whole-stream parse yields every record in order', () => {
  const records = sampleRecords();
  const { events, errors } = parseEventsFile(toJsonl(records));
  assert.deepEqual(errors, []);
  assert.deepEqual(events, records);
});

test('a Buffer split at every byte position yields the same events', () => {
  const records = sampleRecords();
  const bytes = Buffer.from(toJsonl(records), 'utf8');
  for (let i = 0; i <= bytes.length; i++) {
    const p = new EventStreamParser();
    const events = [...p.push(bytes.subarray(0, i)), ...p.push(bytes.subarray(i)), ...p.end()];
    assert.deepEqual(p.errors, [], `split at byte ${i}`);
    assert.deepEqual(events, records, `split at byte ${i}`);
  }
});

test('a string split at every position, and byte-by-byte feeding, yield the same events', () => {
  const records = sampleRecords();
  const text = toJsonl(records);
  for (let i = 0; i <= text.length; i++) {
    const p = new EventStreamParser();
    const events = [...p.push(text.slice(0, i)), ...p.push(text.slice(i)), ...p.end()];
    assert.deepEqual(events, records, `split at char ${i}`);
    assert.deepEqual(p.errors, []);
  }
  const bytes = Buffer.from(text, 'utf8');
  const p = new EventStreamParser();
  const events: TrainerEvent[] = [];
  for (let i = 0; i < bytes.length; i++) events.push(...p.push(bytes.subarray(i, i + 1)));
  events.push(...p.end());
  assert.deepEqual(events, records);
  assert.equal(p.linesRead, records.length);
});

test('a multi-byte character split across chunks is decoded intact', () => {
  const configFile = 'runs/é→x.train';
  const line = Buffer.from(JSON.stringify(runRecord(configFile)) + '\n', 'utf8');
  const arrow = line.indexOf(Buffer.from('→', 'utf8'));
  assert.ok(arrow > 0);
  for (const cut of [arrow + 1, arrow + 2, line.indexOf(Buffer.from('é', 'utf8')) + 1]) {
    const p = new EventStreamParser();
    const events = [...p.push(line.subarray(0, cut)), ...p.push(line.subarray(cut)), ...p.end()];
    assert.equal(events.length, 1);
    assert.equal((events[0] as RunRecord).config_file, configFile);
  }
});

test('\\r\\n line endings and blank lines are accepted', () => {
  const records = sampleRecords();
  const text = '\r\n' + toJsonl(records, '\r\n').replace('\r\n', '\r\n\r\n   \n');
  const { events, errors } = parseEventsFile(text);
  assert.deepEqual(errors, []);
  assert.deepEqual(events, records);
});

test('a garbled line is reported with its line number and parsing continues', () => {
  const lines = [JSON.stringify(runRecord()), '{"type":"step","step":1,"loss":3.4,', JSON.stringify(stepRecord(2)), 'not json at all'];
  const { events, errors } = parseEventsFile(lines.join('\n') + '\n');
  assert.deepEqual(
    events.map((e) => e.type),
    ['run', 'step'],
  );
  assert.equal(errors.length, 2);
  assert.equal(errors[0].line, 2);
  assert.equal(errors[0].kind, 'json');
  assert.match(errors[0].message, /^line 2 is not valid JSON/);
  assert.equal(errors[1].line, 4);
});

test('a truncated final line is reported by end(), not thrown', () => {
  const full = JSON.stringify(stepRecord(2));
  const text = toJsonl([runRecord(), stepRecord(1)]) + full.slice(0, 40);
  const p = new EventStreamParser();
  const events = p.push(text);
  assert.equal(events.length, 2);
  assert.equal(p.errors.length, 0); // still waiting for the rest of line 3
  assert.deepEqual(p.end(), []);
  assert.equal(p.errors.length, 1);
  assert.equal(p.errors[0].line, 3);
  assert.equal(p.errors[0].kind, 'truncated');
  assert.match(p.errors[0].message, /line 3 is truncated/);
  // A complete record that only lacks its newline is kept.
  const q = parseEventsFile(toJsonl([runRecord()]) + full);
  assert.deepEqual(q.errors, []);
  assert.equal(q.events.length, 2);
});

test('an overlong line is rejected and not buffered; the next line parses', () => {
  const p = new EventStreamParser({ maxLineLength: 2000 });
  const events: TrainerEvent[] = [];
  events.push(...p.push(JSON.stringify(runRecord()) + '\n'));
  for (let i = 0; i < 50; i++) events.push(...p.push('x'.repeat(100)));
  // Reported as soon as it crosses the limit, before its newline arrives.
  assert.equal(p.errors.length, 1);
  assert.equal(p.errors[0].kind, 'overlong');
  assert.equal(p.errors[0].line, 2);
  events.push(...p.push('yyy\n' + JSON.stringify(stepRecord(1)) + '\n'));
  events.push(...p.end());
  assert.deepEqual(
    events.map((e) => e.type),
    ['run', 'step'],
  );
  assert.equal(p.errors.length, 1);
  assert.equal(p.linesRead, 3);

  // The default limit (16 Mi), with a line that ends inside one chunk.
  const q = new EventStreamParser();
  const mib = 'z'.repeat(1 << 20);
  for (let i = 0; i < 17; i++) q.push(mib);
  assert.equal(q.errors.length, 1);
  const tail = q.push('\n' + JSON.stringify(stepRecord(1)) + '\n');
  assert.equal(tail.length, 1);
  assert.equal(q.errors.length, 1);
  const r = new EventStreamParser({ maxLineLength: 10 });
  assert.deepEqual(r.push('0123456789abc\n'), []);
  assert.equal(r.errors[0].line, 1);
});

test('an unknown record type is reported and skipped', () => {
  const { events, errors } = parseEventsFile(
    toJsonl([runRecord(), { type: 'checkpoint', rank: 0 }, { type: 'bogus' }, { step: 3 }, stepRecord(1)]),
  );
  assert.deepEqual(
    events.map((e) => e.type),
    ['run', 'step'],
  );
  assert.equal(errors.length, 3);
  assert.equal(errors[0].kind, 'unknown-type');
  assert.match(errors[0].message, /line 2: .*"checkpoint".*reserved/);
  assert.equal(errors[1].kind, 'unknown-type');
  assert.match(errors[1].message, /line 3: unknown record type "bogus"/);
  assert.equal(errors[2].kind, 'schema');
  assert.match(errors[2].message, /line 4: missing required field "type"/);
  const v = validateEvent({ type: 'bogus' });
  assert.equal(v.ok, false);
});

test('a missing or mistyped required field is reported by name', () => {
  const noLr = stepRecord(1);
  delete noLr.lr;
  const noFwd = stepRecord(1, { phases: { data: 0, bwd: 0, optim: 0 } });
  const cases: [unknown, RegExp][] = [
    [noLr, /^step record: missing required field "lr"$/],
    [noFwd, /missing required field "phases\.fwd"/],
    [stepRecord(1, { loss: '3.4' }), /field "loss" must be a finite number or null, got a string/],
    [stepRecord(0), /field "step" must be a positive integer/],
    [stepRecord(1, { ms: null }), /field "ms" must be a finite number, got null/],
    [{ ...summaryRecord(), status: 'exploded' }, /field "status" must be .*"exploded"/],
    [{ type: 'error' }, /^error record: missing required field "message"$/],
    [{ type: 'eval', step: 5 }, /missing required field "val_loss"/],
    [{ type: 'span', rank: 0, step: 1, layer: 0, name: 'embed', phase: 'fwd', t0: 5, t1: 4 }, /"t1" .* before "t0"/],
    [{ ...runRecord(), config: { model: {}, data: {}, train: {} } }, /missing required field "config\.parallel"/],
    [{ ...runRecord(), predicted: { ...(runRecord().predicted as object), layers: [{ name: 'x', params: 1 }] } }, /"predicted\.layers\[0\]\.bytes"/],
    [[1, 2], /must be a JSON object, got an array/],
    // Optional fields are checked when present.
    [stepRecord(1, { accumulate: 0 }), /field "accumulate" must be a positive integer/],
    [stepRecord(1, { skipped: 'no' }), /field "skipped" must be a boolean, got a string/],
    [stepRecord(1, { loss_scale: null }), /field "loss_scale" must be a finite number, got null/],
    [stepRecord(1, { noise_scale: 'big' }), /field "noise_scale" must be a finite number/],
    [stepRecord(1, { suggested_accumulate: 2.5 }), /field "suggested_accumulate" must be a positive integer/],
    [stepRecord(1, { phases: { data: 0, fwd: 0, bwd: 0, optim: 0, recompute: '1' } }), /field "phases\.recompute" must be a finite number/],
    [stepRecord(1, { t0: 10, t1: 5 }), /^step record: "t1" \(5\) is before "t0" \(10\)$/],
    [(() => { const r = stepRecord(1); delete r.t1; return r; })(), /missing required field "t1"/],
    [{ ...runRecord(), checkpoint: 3 }, /field "checkpoint" must be a string/],
    [{ ...runRecord(), accumulate: 0 }, /field "accumulate" must be a positive integer/],
    [{ ...runRecord(), predicted: { ...(runRecord().predicted as object), recompute_flops: -1 } }, /"predicted\.recompute_flops" must be a non-negative number/],
    [{ ...runRecord(), predicted: { ...(runRecord().predicted as object), act_end_of_forward: 1.5 } }, /"predicted\.act_end_of_forward" must be a non-negative integer/],
    [{ ...runRecord(), predicted: { ...(runRecord().predicted as object), error: false } }, /"predicted\.error" must be a string/],
    [
      { ...runRecord(), predicted: { ...(runRecord().predicted as object), layers: [{ name: 'x', params: 1, checkpointed: 1, bytes: layerBytes }] } },
      /"predicted\.layers\[0\]\.checkpointed" must be a boolean/,
    ],
    [
      { ...runRecord(), predicted: { ...(runRecord().predicted as object), layers: [{ name: 'x', params: 1, bytes: { ...layerBytes, act_peak: -4 } }] } },
      /"predicted\.layers\[0\]\.bytes\.act_peak" must be a non-negative integer/,
    ],
    [{ type: 'layer', index: 0, name: 'embed', kind: 'embed', params: 1, checkpointed: false, segment_start: 'yes', bytes: layerBytes, predicted: layerBytes }, /"segment_start" must be a boolean/],
    [{ type: 'layer', index: 0, name: 'embed', kind: 'embed', params: 1, checkpointed: false, bytes: layerBytes, predicted: { ...layerBytes, act_peak: null } }, /"predicted\.act_peak" must be a non-negative integer, got null/],
    [{ type: 'error', message: 'x', line: 0, file: 'a.train', col: 1 }, /field "line" must be a positive integer/],
    [{ type: 'error', message: 'x', file: 'a.train', line: 3 }, /missing required field "col" \(file, line and col come together\)/],
    [{ type: 'error', message: 'x', key: 7 }, /field "key" must be a string/],
    [{ type: 'error', message: 'x', step: 0 }, /field "step" must be a positive integer/],
    [{ ...summaryRecord(), skipped_steps: -1 }, /field "skipped_steps" must be a non-negative integer/],
    [{ ...summaryRecord(), loss_scale: 'x' }, /field "loss_scale" must be a finite number/],
    // Only a failed summary with no steps may leave its measurements out, and only all of them.
    [{ ...shortSummary(), status: 'interrupted' }, /^summary record: missing required field "ms_per_step"$/],
    [{ ...shortSummary(), steps: 1, tokens: 64 }, /missing required field "ms_per_step"/],
    [{ ...shortSummary(), peak_bytes: 5 }, /missing required field "ms_per_step"/],
    [(() => { const r = shortSummary(); delete r.wall_s; return r; })(), /missing required field "wall_s"/],
  ];
  for (const [value, re] of cases) {
    const r = validateEvent(value);
    assert.equal(r.ok, false, JSON.stringify(value));
    if (!r.ok) assert.match(r.error, re);
  }
  const { errors } = parseEventsFile(toJsonl([runRecord(), noLr]));
  assert.equal(errors.length, 1);
  assert.equal(errors[0].line, 2);
  assert.match(errors[0].message, /^line 2: step record: missing required field "lr"$/);
});

test('unknown fields are ignored; nullable fields accept null; optional fields may be absent', () => {
  const cases: unknown[] = [
    stepRecord(1, { loss: null, grad_norm: null, extra: { nested: [1] } }),
    { type: 'eval', step: 1, val_loss: null },
    (() => {
      const s = summaryRecord();
      delete s.first_loss;
      delete s.final_loss;
      delete s.final_val_loss;
      return { ...s, status: 'interrupted', steps: 0 };
    })(),
    (() => {
      const r = runRecord();
      (r.data as Record<string, unknown>).entropy_floor = undefined;
      return { ...r, future_field: true };
    })(),
    // The short summary of a run that failed before it started.
    shortSummary(),
    // Error records with and without a location.
    { type: 'error', message: "data.tokens: cannot open 'x.bin': No such file or directory", file: 'run.train', line: 8, col: 8, key: 'data.tokens' },
    { type: 'error', message: 'the loss is NaN at step 3 (try a lower train.lr or train.grad_clip)', key: 'train.lr', step: 3 },
    { type: 'error', message: 'out of memory at step 2 (predicted peak 1.0 GB)', step: 2 },
    // Fields added within schema 1 are optional: records of earlier builds lack them.
    (() => {
      const r = runRecord();
      delete r.checkpoint;
      delete r.accumulate;
      const p = r.predicted as Record<string, unknown>;
      for (const k of ['act_end_of_forward', 'checkpoint', 'recompute_flops', 'step_flops']) delete p[k];
      p.layers = [{ name: 'embed', params: 1536, bytes: { param: 1, grad: 1, optim: 2, act: 8, workspace: 0 } }];
      return r;
    })(),
    (() => {
      const r = stepRecord(1);
      delete r.t0;
      delete r.t1;
      return r;
    })(),
    {
      type: 'layer',
      index: 0,
      name: 'embed',
      kind: 'embed',
      params: 1,
      checkpointed: false,
      bytes: { param: 1, grad: 1, optim: 2, act: 8, workspace: 0 },
      predicted: { param: 1, grad: 1, optim: 2, act: 8, workspace: 0 },
    },
  ];
  for (const c of cases) {
    const r = validateEvent(c);
    assert.ok(r.ok, r.ok ? '' : r.error);
  }
});

// ---------------------------------------------------------------------------
// Data-parallel records (docs/events.md, Data-parallel runs) and snapshots.

function commRecord(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'comm',
    rank: 1,
    step: 7,
    op: 'allreduce',
    bucket: 2,
    bytes: 64000,
    t0: 531804.2,
    t1: 531838.9,
    algbw: 1.84438,
    busbw: 1.84438,
    ...extra,
  };
}

function saveRecord(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'save', step: 10, path: '/tmp/run/snapshot.bin', bytes: 324096, ms: 1.25, ...extra };
}

/** A rank's step record of a data-parallel run. */
function rankStep(step: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return stepRecord(step, {
    rank: 1,
    phases: { data: 0.001, fwd: 0.3, bwd: 0.2, optim: 0.2, comm: 0.1 },
    comm: { ms: 0.15, exposed_ms: 0.05, overlap: 66.7 },
    ...extra,
  });
}

function dpRunRecord(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...runRecord(),
    ranks: 2,
    tokens_per_step: 128,
    clock_offsets_us: [0, -12.5],
    rank_pids: [4242, 4243],
    rank_hosts: ['box', 'box'],
    mpi: 'Open MPI v4.1.4',
    comm_backend: 'mpi',
    buckets: 3,
    resumed_from: { snapshot: '/tmp/run/snapshot.bin', step: 5 },
    ...extra,
  };
}

function without(r: Record<string, unknown>, key: string): Record<string, unknown> {
  const c = { ...r };
  delete c[key];
  return c;
}

test('comm and save records, and the data-parallel fields of run and step records, validate', () => {
  const valid: [Record<string, unknown>, string][] = [
    [commRecord(), 'comm'],
    [commRecord({ t1: 531804.2, algbw: 0, busbw: 0, future: 'x' }), 'comm'],
    [saveRecord(), 'save'],
    [rankStep(7), 'step'],
    [stepRecord(3, { rank: 0 }), 'step'],
    [dpRunRecord(), 'run'],
    [{ ...runRecord(), clock_offsets_us: [0] }, 'run'],
  ];
  for (const [value, type] of valid) {
    const r = validateEvent(value);
    assert.ok(r.ok, r.ok ? '' : `${JSON.stringify(value)}: ${r.error}`);
    if (r.ok) assert.equal(r.event.type, type);
  }
  // Typed as the union's members.
  const c = validateEvent(commRecord());
  if (c.ok && c.event.type === 'comm') {
    const comm: CommRecord = c.event;
    assert.equal(comm.busbw, 1.84438);
  } else assert.fail('comm');
  const sv = validateEvent(saveRecord());
  if (sv.ok && sv.event.type === 'save') {
    const save: SaveRecord = sv.event;
    assert.equal(save.path, '/tmp/run/snapshot.bin');
  } else assert.fail('save');
  const st = validateEvent(rankStep(7));
  if (st.ok && st.event.type === 'step') {
    assert.equal(st.event.rank, 1);
    assert.equal(st.event.comm?.overlap, 66.7);
    assert.equal(st.event.phases.comm, 0.1);
  } else assert.fail('step');
  const run = validateEvent(dpRunRecord());
  if (run.ok && run.event.type === 'run') {
    assert.deepEqual(run.event.rank_pids, [4242, 4243]);
    assert.deepEqual(run.event.resumed_from, { snapshot: '/tmp/run/snapshot.bin', step: 5 });
  } else assert.fail('run');
  // In a stream: a rank file's spans, comm and step records; rank 0's save after the step and eval.
  const { events, errors } = parseEventsFile(
    toJsonl([dpRunRecord(), commRecord({ rank: 0, step: 1 }), rankStep(1, { rank: 0 }), { type: 'eval', step: 1, val_loss: 3.3 }, saveRecord({ step: 1 }), summaryRecord()]),
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(
    events.map((e) => e.type),
    ['run', 'comm', 'step', 'eval', 'save', 'summary'],
  );
});

test('comm and save records: a missing or mistyped field is reported by name', () => {
  const cases: [unknown, RegExp][] = [
    // Every field of comm and save is required.
    ...['rank', 'step', 'op', 'bucket', 'bytes', 't0', 't1', 'algbw', 'busbw'].map(
      (k): [unknown, RegExp] => [without(commRecord(), k), new RegExp(`^comm record: missing required field "${k}"$`)],
    ),
    ...['step', 'path', 'bytes', 'ms'].map(
      (k): [unknown, RegExp] => [without(saveRecord(), k), new RegExp(`^save record: missing required field "${k}"$`)],
    ),
    [commRecord({ bytes: 1.5 }), /field "bytes" must be a non-negative integer/],
    [commRecord({ step: 0 }), /field "step" must be a positive integer/],
    [commRecord({ op: 1 }), /field "op" must be a string/],
    [commRecord({ algbw: -1 }), /field "algbw" must be a non-negative number/],
    [commRecord({ busbw: null }), /field "busbw" must be a non-negative number, got null/],
    [commRecord({ t0: 10, t1: 5 }), /^comm record: "t1" \(5\) is before "t0" \(10\)$/],
    [saveRecord({ path: null }), /field "path" must be a string, got null/],
    [saveRecord({ step: 0 }), /field "step" must be a positive integer/],
    // The data-parallel fields of step and run records are checked when present.
    [rankStep(1, { rank: -1 }), /field "rank" must be a non-negative integer/],
    [rankStep(1, { comm: 3 }), /field "comm" must be an object, got a number/],
    [rankStep(1, { comm: { ms: 0.1, overlap: 50 } }), /^step record: missing required field "comm\.exposed_ms"$/],
    [rankStep(1, { comm: { ms: 0.1, exposed_ms: 0, overlap: 'all' } }), /field "comm\.overlap" must be a finite number/],
    [rankStep(1, { phases: { data: 0, fwd: 0, bwd: 0, optim: 0, comm: null } }), /field "phases\.comm" must be a finite number, got null/],
    [dpRunRecord({ clock_offsets_us: 0 }), /field "clock_offsets_us" must be an array of finite numbers, got a number/],
    [dpRunRecord({ clock_offsets_us: [0, null] }), /field "clock_offsets_us\[1\]" must be a finite number, got null/],
    [dpRunRecord({ rank_pids: [1, -2] }), /field "rank_pids\[1\]" must be a non-negative integer/],
    [dpRunRecord({ rank_hosts: ['a', 2] }), /field "rank_hosts\[1\]" must be a string/],
    [dpRunRecord({ buckets: 1.5 }), /field "buckets" must be a non-negative integer/],
    [dpRunRecord({ resumed_from: { step: 5 } }), /^run record: missing required field "resumed_from\.snapshot"$/],
    [dpRunRecord({ resumed_from: { snapshot: 'c', step: '5' } }), /field "resumed_from\.step" must be a non-negative integer/],
  ];
  for (const [value, re] of cases) {
    const r = validateEvent(value);
    assert.equal(r.ok, false, JSON.stringify(value));
    if (!r.ok) assert.match(r.error, re);
  }
  // "comm" is no longer reserved: a bad comm record is a schema error, not an unknown type.
  const { errors } = parseEventsFile(toJsonl([runRecord(), { type: 'comm', rank: 0 }]));
  assert.equal(errors.length, 1);
  assert.equal(errors[0].kind, 'schema');
});

test('the run record\'s device: a word, and the full device_info when the trainer writes it', () => {
  const info = { type: 'cuda', requested: 'auto', name: 'NVIDIA H100 80GB HBM3', capacity_bytes: 85_031_714_816, free_bytes: 84_000_000_000, compute_capability: '9.0' };
  const fallback = { type: 'cpu', requested: 'auto', name: 'AMD EPYC', capacity_bytes: 16e9, note: 'train.device auto: no usable GPU (no driver); training on the cpu' };
  const ok = (r: Record<string, unknown>): RunRecord => {
    const v = validateEvent(r);
    assert.ok(v.ok, v.ok ? '' : v.error);
    return v.event as RunRecord;
  };
  // Older trainers: the word only.
  assert.equal(deviceLabel(ok(runRecord())), 'cpu');
  // A GPU is named; a CPU is "cpu" (its model name is in device_info.name).
  const gpu = ok({ ...runRecord(), device: 'cuda', device_info: info });
  assert.deepEqual(gpu.device_info, info);
  assert.equal(deviceLabel(gpu), 'NVIDIA H100 80GB HBM3');
  const cpu = ok({ ...runRecord(), device: 'cpu', device_info: fallback });
  assert.equal(cpu.device_info?.note, fallback.note);
  assert.equal(deviceLabel(cpu), 'cpu');
  // Neither: still a run record.
  assert.equal(deviceLabel(ok(without(runRecord(), 'device'))), undefined);

  const bad = (r: Record<string, unknown>, field: string) => {
    const v = validateEvent(r);
    assert.ok(!v.ok && v.error.includes(`"${field}"`), `${field}: ${v.ok ? 'accepted' : v.error}`);
  };
  bad({ ...runRecord(), device_info: { ...info, capacity_bytes: '80GB' } }, 'device_info.capacity_bytes');
  bad({ ...runRecord(), device_info: without(info, 'name') }, 'device_info.name');
  bad({ ...runRecord(), device_info: { ...fallback, note: 3 } }, 'device_info.note');
  bad({ ...runRecord(), device: fallback }, 'device');
});

test('isShortSummary tells the summary of a run that failed before it started', () => {
  const short = validateEvent(shortSummary());
  const full = validateEvent(summaryRecord());
  assert.ok(short.ok && full.ok);
  if (!short.ok || !full.ok) return;
  assert.equal(isShortSummary(short.event as SummaryRecord), true);
  assert.equal(isShortSummary(full.event as SummaryRecord), false);
  // A failed run that got as far as its run record writes a full summary, even with no steps.
  const failedEarly = validateEvent({ ...summaryRecord(), status: 'failed', steps: 0, tokens: 0 });
  assert.ok(failedEarly.ok);
  if (failedEarly.ok) assert.equal(isShortSummary(failedEarly.event as SummaryRecord), false);
  for (const k of SHORT_SUMMARY_OMITS) assert.ok(k in summaryRecord(), `${k} is a summary field`);
});

test('a newer schema is delivered with a warning', () => {
  const p = new EventStreamParser();
  const events = p.push(JSON.stringify({ ...runRecord(), schema: SCHEMA_VERSION + 1 }) + '\n');
  assert.equal(events.length, 1);
  assert.equal(p.schema, SCHEMA_VERSION + 1);
  assert.equal(p.errors[0].kind, 'version');
});

test('errors kept are bounded; all are counted', () => {
  const p = new EventStreamParser({ maxErrors: 5 });
  p.push('garbage\n'.repeat(100));
  assert.equal(p.errors.length, 5);
  assert.equal(p.errorCount, 100);
});

test('parses 100k records quickly', () => {
  const line = JSON.stringify(stepRecord(1)) + '\n';
  const text = line.repeat(100_000);
  const t = performance.now();
  const { events, errors } = parseEventsFile(text);
  const ms = performance.now() - t;
  assert.equal(events.length, 100_000);
  assert.equal(errors.length, 0);
  // Generous bound: this is a regression guard, not a benchmark.
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
});

// ---------------------------------------------------------------------------
// The span fast path: what it returns must be what JSON.parse and the
// validator give, and every other line must take the general path.

const SPAN_LINE = '{"type":"span","rank":0,"step":7,"layer":3,"name":"block.2","phase":"bwd","t0":19882.823,"t1":20141.067}';

/** What the general path makes of a line: the parsed record if it is a valid span. */
function generalSpan(line: string): TrainerEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  const r = validateEvent(v);
  return r.ok && r.event.type === 'span' ? r.event : undefined;
}

test('span fast path: the trainer\'s form is read exactly as JSON.parse reads it', () => {
  const lines = [
    SPAN_LINE,
    SPAN_LINE.replace('"t0":19882.823', '"t0":0').replace('"t1":20141.067', '"t1":0'),
    SPAN_LINE.replace('"t0":19882.823', '"t0":-12.5'),
    SPAN_LINE.replace('"t1":20141.067', '"t1":123456789.123456'),
    SPAN_LINE.replace('"t0":19882.823', '"t0":0.1').replace('"t1":20141.067', '"t1":0.30000000000001'),
    SPAN_LINE.replace('"phase":"bwd"', '"phase":"recompute"'),
    SPAN_LINE.replace('"name":"block.2"', '"name":""'),
    SPAN_LINE.replace('"name":"block.2"', '"name":"ünïcode ✓"'),
    SPAN_LINE.replace('"rank":0', '"rank":65535'),
  ];
  for (const line of lines) {
    const fast = parseSpanLine(line);
    assert.ok(fast, `fast path: ${line}`);
    assert.deepEqual(fast, generalSpan(line), line);
    assert.ok(Object.is(fast.t0, (JSON.parse(line) as SpanRecord).t0), `t0 rounds like JSON.parse: ${line}`);
  }
  // Times of every magnitude and precision the fast path takes (≤ 15 digits).
  let seed = 12345;
  const digits = (n: number): string => {
    let d = '';
    for (let k = 0; k < n; k++) d += String((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 10);
    return d;
  };
  for (let k = 0; k < 20_000; k++) {
    const intDigits = 1 + (k % 9);
    const frac = k % 7;
    const int = String(Number(digits(intDigits)));
    const t = frac ? `${int}.${digits(frac)}` : int;
    const line = SPAN_LINE.replace('"t0":19882.823', `"t0":${t}`).replace('"t1":20141.067', `"t1":${t}`);
    const fast = parseSpanLine(line);
    assert.ok(fast && Object.is(fast.t0, Number(t)) && Object.is(fast.t1, Number(t)), `${t}: ${fast?.t0}`);
  }
  // Offsets: a line inside a chunk, with a \r before its newline.
  const chunk = `xx${SPAN_LINE}\r\nyy`;
  assert.deepEqual(parseSpanLine(chunk, 2, chunk.indexOf('\n')), JSON.parse(SPAN_LINE));
});

test('span fast path: any other form is left to the general path', () => {
  const others = [
    SPAN_LINE.replace('"step":7', '"step":0'), // invalid: the general path reports it
    SPAN_LINE.replace('"step":7', '"step":07'),
    SPAN_LINE.replace('"rank":0', '"rank":-1'),
    SPAN_LINE.replace('"t0":19882.823', '"t0":1.9882823e4'),
    SPAN_LINE.replace('"t0":19882.823', '"t0":19882.'),
    SPAN_LINE.replace('"t0":19882.823', '"t0":.5'),
    SPAN_LINE.replace('"t0":19882.823', '"t0":01.5'),
    SPAN_LINE.replace('"t1":20141.067', '"t1":2014106.7123456789'), // 17 digits
    SPAN_LINE.replace('"t1":20141.067', '"t1":1'), // t1 before t0
    SPAN_LINE.replace('"name":"block.2"', '"name":"a\\"b"'),
    SPAN_LINE.replace('"name":"block.2"', '"name":"tab\there"'),
    SPAN_LINE.replace('"phase":"bwd"', '"phase":"bwdx"'),
    SPAN_LINE.replace('"phase":"bwd"', '"phase":"backward"'),
    SPAN_LINE.replace(',"step"', ', "step"'),
    SPAN_LINE.replace('}', ',"extra":1}'),
    SPAN_LINE + ' ',
    SPAN_LINE + '}',
    SPAN_LINE.slice(0, -1),
    SPAN_LINE.slice(0, 40),
  ];
  for (const line of others) assert.equal(parseSpanLine(line), undefined, line);
  // Through the parser, the same lines come out as the general path says.
  const { events } = parseEventsFile(others.join('\n') + '\n');
  const general = others.map(generalSpan).filter((e) => e !== undefined);
  assert.deepEqual(events, general);
  assert.ok(general.length >= 4, 'some of them are valid spans in another form');
});

test('span fast path: single-character damage never yields a record the general path would not', () => {
  // Every position, a few replacement characters: the fast path either
  // declines or agrees with JSON.parse + validateEvent.
  const subs = ['0', '9', '-', '.', 'e', '"', '\\', ',', '}', ' ', 'x'];
  let agreed = 0;
  for (let i = 0; i < SPAN_LINE.length; i++) {
    for (const c of subs) {
      const line = SPAN_LINE.slice(0, i) + c + SPAN_LINE.slice(i + 1);
      const fast = parseSpanLine(line);
      if (fast === undefined) continue;
      assert.deepEqual(fast, generalSpan(line), line);
      agreed++;
    }
    const dropped = SPAN_LINE.slice(0, i) + SPAN_LINE.slice(i + 1);
    const fast = parseSpanLine(dropped);
    if (fast !== undefined) assert.deepEqual(fast, generalSpan(dropped), dropped);
  }
  assert.ok(agreed > 20, `digits changed in place still take the fast path (${agreed})`);
});

// ---------------------------------------------------------------------------
// The real trainer.

const tinyConfig =
  '[model]\nvocab 32\ncontext 16\nlayers 2\nwidth 32\nheads 2\n[train]\nsteps 12\nbatch 4\neval_every 5\nprofile_every 5\n';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A layer record beside the run record's prediction (docs/events.md, `layer`). */
function checkLayerAgainstPrediction(l: LayerRecord, run: RunRecord): void {
  const p = run.predicted.layers[l.index];
  assert.equal(l.bytes.param, l.predicted.param, `${l.name} param`);
  assert.equal(l.bytes.grad, l.predicted.grad, `${l.name} grad`);
  assert.equal(l.bytes.optim, l.predicted.optim, `${l.name} optim`);
  for (const k of ['act', 'act_peak'] as const) {
    const got = l.bytes[k];
    const want = l.predicted[k];
    assert.equal(typeof got, 'number', `${l.name} bytes.${k}`);
    assert.equal(typeof want, 'number', `${l.name} predicted.${k}`);
    assert.ok(Math.abs((got as number) - (want as number)) <= 0.01 * (want as number), `${l.name} ${k} ${got} vs ${want}`);
  }
  assert.ok(l.bytes.act <= (l.bytes.act_peak as number), `${l.name}: act ≤ act_peak`);
  assert.deepEqual(p.bytes, l.predicted, `${l.name}: the layer record's prediction is the run record's`);
  assert.equal(p.checkpointed, l.checkpointed, `${l.name} checkpointed`);
  assert.equal(p.segment_start, l.segment_start, `${l.name} segment_start`);
}

/** Step times: t0/t1 in µs since the run started, in order, and matching `ms`; phases add up to `ms`. */
function checkStepTimes(steps: StepRecord[]): void {
  let prevT1 = 0;
  for (const s of steps) {
    assert.equal(typeof s.t0, 'number', `step ${s.step} t0`);
    assert.equal(typeof s.t1, 'number', `step ${s.step} t1`);
    const t0 = s.t0 as number;
    const t1 = s.t1 as number;
    assert.ok(t0 >= prevT1, `step ${s.step} starts (${t0} µs) after step ${s.step - 1} ends (${prevT1} µs)`);
    assert.ok(Math.abs(t1 - t0 - 1000 * s.ms) <= 0.01 + 1e-6 * t1, `step ${s.step}: t1 - t0 = ${t1 - t0} µs vs ms ${s.ms}`);
    prevT1 = t1;
    const phases = s.phases as unknown as Record<string, number>;
    let sum = 0;
    for (const [name, v] of Object.entries(phases)) {
      assert.ok(v >= 0, `step ${s.step} ${name} ${v}`);
      sum += v;
    }
    assert.ok(Math.abs(sum - s.ms) <= 0.05 * s.ms + 0.05, `step ${s.step}: phases ${sum} ms vs ${s.ms} ms`);
  }
}

/** The ordering rules of docs/events.md, for a stream that has a run record. */
function checkOrdering(events: TrainerEvent[]): void {
  assert.equal(events[0]?.type, 'run', 'the run record comes first');
  assert.equal(events.filter((e) => e.type === 'run').length, 1, 'exactly one run record');
  const last = events[events.length - 1];
  assert.equal(last.type, 'summary', 'the summary comes last');
  assert.equal(events.filter((e) => e.type === 'summary').length, 1, 'exactly one summary');
  let lastStep = 0;
  let sawLayers = false;
  let sawError = false;
  for (let i = 1; i < events.length - 1; i++) {
    const e = events[i];
    switch (e.type) {
      case 'span':
        assert.equal(e.step, lastStep + 1, `span at index ${i} belongs to the coming step`);
        break;
      case 'layer':
        assert.equal(lastStep, 0, 'layer records come before step 1\'s step record');
        sawLayers = true;
        break;
      case 'step':
        assert.equal(e.step, lastStep + 1, 'steps are contiguous and in order');
        if (e.step === 1) assert.ok(sawLayers, 'layer records precede step 1\'s step record');
        lastStep = e.step;
        break;
      case 'eval':
        assert.equal(e.step, lastStep, 'an eval record follows its step');
        break;
      case 'error':
        sawError = true;
        break;
      default:
        assert.fail(`unexpected ${e.type} record at index ${i}`);
    }
  }
  const summary = last as SummaryRecord;
  assert.equal(summary.steps, lastStep, 'summary.steps counts the step records');
  assert.equal(sawError, summary.status === 'failed', 'an error record precedes exactly the failed summaries');
}

test('a short run writes a stream, a trace and a summary that follow docs/events.md', { timeout: 60_000 }, async (t) => {
  const { config, out, done } = runTiny(t, tinyConfig);
  const fin = await done;
  assert.equal(fin.code, 0, `trainer failed:\n${fin.stderr}`);

  const text = readFileSync(path.join(out, 'events.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'));
  const { events, errors } = parseEventsFile(text);
  assert.deepEqual(errors, []);
  assert.equal(events.length, text.split('\n').length - 1, 'every line is a valid record');
  checkOrdering(events);

  const run0 = events[0] as RunRecord;
  assert.equal(run0.schema, SCHEMA_VERSION);
  assert.equal(run0.config_file, config);
  assert.equal(run0.config.model.layers, 2);
  assert.equal(run0.config.train.steps, 12);
  const L = 2;
  assert.equal(run0.layers.length, L + 2);
  assert.equal(run0.predicted.layers.length, L + 2);
  // fp32, no checkpointing, no accumulation.
  assert.equal(run0.precision, 'fp32');
  assert.equal(run0.checkpoint, 'none');
  assert.equal(run0.accumulate, 1);
  assert.equal(run0.tokens_per_step, 4 * 16);
  assert.equal(run0.predicted.checkpoint, 'none');
  assert.equal(run0.predicted.recompute_flops, 0);
  assert.ok((run0.predicted.step_flops ?? 0) > 0);
  assert.equal(run0.predicted.error, undefined);
  assert.equal(run0.predicted.act_end_of_forward, run0.predicted.peak_act_bytes, 'without a plan the activation peak is the end of the forward pass');
  assert.equal(
    run0.predicted.act_end_of_forward,
    run0.predicted.layers.reduce((a, l) => a + l.bytes.act, 0),
  );

  const layers = events.filter((e): e is LayerRecord => e.type === 'layer');
  assert.deepEqual(
    layers.map((l) => l.index),
    [0, 1, 2, 3],
  );
  assert.deepEqual(
    layers.map((l) => l.name),
    run0.layers,
  );
  for (const l of layers) {
    checkLayerAgainstPrediction(l, run0);
    assert.equal(l.checkpointed, false);
    assert.equal(l.segment_start, false);
    assert.equal(l.bytes.act, l.bytes.act_peak, `${l.name}: not checkpointed, so act is its peak`);
    assert.equal(l.predicted.act, l.predicted.act_peak);
  }

  const steps = events.filter((e): e is StepRecord => e.type === 'step');
  assert.deepEqual(
    steps.map((s) => s.step),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  checkStepTimes(steps);
  for (const s of steps) {
    assert.ok(s.loss !== null && Number.isFinite(s.loss), `step ${s.step} loss`);
    // None of the optional fields of accumulation, fp16 or checkpointing.
    for (const k of ['accumulate', 'noise_scale', 'suggested_accumulate', 'loss_scale', 'skipped'] as const) {
      assert.equal(s[k], undefined, `step ${s.step} has no ${k}`);
    }
    assert.equal(s.phases.recompute, undefined, `step ${s.step} has no recompute phase`);
  }

  const spans = events.filter((e): e is SpanRecord => e.type === 'span');
  const sampled = [1, 5, 10];
  assert.deepEqual([...new Set(spans.map((s) => s.step))], sampled);
  for (const step of sampled) {
    for (let layer = 0; layer < L + 2; layer++) {
      for (const phase of ['fwd', 'bwd', 'optim']) {
        const found = spans.filter((s) => s.step === step && s.layer === layer && s.phase === phase);
        assert.equal(found.length, 1, `span step ${step} layer ${layer} ${phase}`);
        assert.equal(found[0].name, run0.layers[layer]);
        assert.ok(found[0].t1 >= found[0].t0);
      }
    }
  }
  assert.ok(!spans.some((s) => s.phase === 'recompute'), 'no recompute spans without a checkpoint plan');

  assert.deepEqual(
    events.filter((e) => e.type === 'eval').map((e) => (e as { step: number }).step),
    [5, 10, 12],
  );

  const summary = events[events.length - 1] as SummaryRecord;
  assert.equal(summary.status, 'completed');
  assert.equal(summary.steps, 12);
  assert.equal(summary.tokens, 12 * 4 * 16);
  assert.equal(summary.first_loss, steps[0].loss);
  assert.equal(summary.final_loss, steps[11].loss);
  assert.equal(summary.skipped_steps, undefined, 'fp32: no skipped_steps');
  assert.equal(summary.loss_scale, undefined, 'fp32: no loss_scale');
  assert.equal(isShortSummary(summary), false);
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')), summary);

  const trace = JSON.parse(readFileSync(path.join(out, 'trace.json'), 'utf8')) as {
    traceEvents: { ph: string; name: string; pid: number; tid: number; ts?: number; dur?: number; cat?: string; args?: Record<string, unknown> }[];
    metadata: Record<string, unknown>;
  };
  assert.ok(Array.isArray(trace.traceEvents));
  assert.equal(trace.metadata.schema, SCHEMA_VERSION);
  assert.equal((trace as Record<string, unknown>).trace_truncated_after_events, undefined, 'a short run is not truncated');
  const meta = trace.traceEvents.filter((e) => e.ph === 'M');
  assert.ok(meta.some((e) => e.name === 'process_name' && e.pid === 0));
  assert.ok(meta.some((e) => e.name === 'thread_name' && e.tid === 0 && e.args?.name === 'steps'));
  assert.ok(meta.some((e) => e.name === 'thread_name' && e.tid === 1 && e.args?.name === 'layers'));
  const xs = trace.traceEvents.filter((e) => e.ph === 'X');
  for (const x of xs) {
    assert.equal(typeof x.ts, 'number');
    assert.equal(typeof x.dur, 'number');
    assert.ok((x.dur as number) >= 0, `${x.name} dur`);
  }
  for (const name of run0.layers) {
    for (const phase of ['fwd', 'bwd', 'optim']) {
      const n = xs.filter((x) => x.tid === 1 && x.name === `${name} ${phase}` && x.cat === phase).length;
      assert.equal(n, sampled.length, `trace spans of ${name} ${phase}`);
    }
  }
  assert.deepEqual(
    xs.filter((x) => x.tid === 0).map((x) => x.name),
    sampled.map((s) => `step ${s}`),
  );
  assert.ok(trace.traceEvents.some((e) => e.ph === 'C' && e.name === 'memory (MB)'));
});

/** Blocks of each segment of a plan in the config's form: "none" or "layers 0-1,3". */
function planSegments(plan: string): [number, number][] {
  if (plan === 'none') return [];
  const m = /^layers (.+)$/.exec(plan);
  assert.ok(m, `plan "${plan}" is "none" or "layers ..."`);
  return m[1].split(',').map((item) => {
    const [a, b] = item.split('-').map(Number);
    assert.ok(Number.isInteger(a) && (b === undefined || Number.isInteger(b)), `plan item "${item}"`);
    return [a, b ?? a];
  });
}

test('checkpoint sqrt + accumulate 2 + fp16: the fields of checkpointing, accumulation and loss scaling', { timeout: 60_000 }, async (t) => {
  const K = 2;
  const { out, done } = runTiny(t, tinyConfig, ['train.checkpoint=sqrt', `train.accumulate=${K}`, 'train.precision=fp16']);
  const fin = await done;
  assert.equal(fin.code, 0, `trainer failed:\n${fin.stderr}`);

  const text = readFileSync(path.join(out, 'events.jsonl'), 'utf8');
  const { events, errors } = parseEventsFile(text);
  assert.deepEqual(errors, []);
  checkOrdering(events);

  // The run record.
  const run0 = events[0] as RunRecord;
  const L = 2;
  assert.equal(run0.precision, 'fp16');
  assert.equal(run0.config.train.precision, 'fp16');
  assert.equal(run0.config.train.checkpoint, 'sqrt', 'the config echo keeps the setting as written');
  assert.equal(run0.config.train.accumulate, K);
  assert.equal(run0.accumulate, K);
  assert.equal(run0.tokens_per_step, 4 * 16 * K, 'batch × context × accumulate');
  const plan = run0.checkpoint ?? '';
  assert.match(plan, /^layers \d+(-\d+)?(,\d+(-\d+)?)*$/, 'sqrt resolves to a plan of segments');
  const p = run0.predicted;
  assert.equal(p.checkpoint, plan);
  assert.equal(p.error, undefined);
  const segments = planSegments(plan);
  assert.ok(segments.length > 0);
  const ckpt = new Set<number>();
  const starts = new Set<number>();
  const ends = new Set<number>();
  for (const [a, b] of segments) {
    assert.ok(0 <= a && a <= b && b < L, `segment ${a}-${b} within blocks 0..${L - 1}`);
    for (let i = a; i <= b; i++) ckpt.add(i + 1); // layer index = block + 1
    starts.add(a + 1);
    ends.add(b + 1);
  }
  assert.ok((p.recompute_flops ?? 0) > 0, 'a plan recomputes something');
  assert.ok((p.step_flops ?? 0) > (p.recompute_flops ?? 0), 'recompute costs less than a step');
  assert.equal(p.act_end_of_forward, p.layers.reduce((a, l) => a + l.bytes.act, 0), 'act_end_of_forward sums the layers\' act');
  assert.ok(p.peak_act_bytes >= (p.act_end_of_forward ?? 0));
  p.layers.forEach((l, i) => {
    assert.equal(l.checkpointed, ckpt.has(i), `${l.name} checkpointed per the plan`);
    assert.equal(l.segment_start, starts.has(i), `${l.name} segment_start per the plan`);
    const peak = l.bytes.act_peak as number;
    assert.equal(typeof peak, 'number');
    if (!ckpt.has(i)) assert.equal(l.bytes.act, peak, `${l.name}: kept, so act is its peak`);
    else if (!ends.has(i)) assert.equal(l.bytes.act, 0, `${l.name}: inside a segment, holds nothing at the end of the forward pass`);
    else assert.ok(l.bytes.act > 0 && l.bytes.act < peak, `${l.name}: a segment's last block holds only its output`);
  });
  assert.equal(p.layers[0].checkpointed, false, 'embed is never checkpointed');
  assert.equal(p.layers[L + 1].checkpointed, false, 'head is never checkpointed');

  // Layer records: measured against predicted, flags as in the run record.
  const layers = events.filter((e): e is LayerRecord => e.type === 'layer');
  assert.equal(layers.length, L + 2);
  for (const l of layers) checkLayerAgainstPrediction(l, run0);

  // Step records.
  const steps = events.filter((e): e is StepRecord => e.type === 'step');
  assert.equal(steps.length, 12);
  checkStepTimes(steps);
  let scale: number | undefined;
  let skipped = 0;
  for (const s of steps) {
    assert.equal(s.accumulate, K, `step ${s.step} accumulate`);
    assert.equal(typeof s.phases.recompute, 'number', `step ${s.step} has a recompute phase`);
    assert.equal(typeof s.skipped, 'boolean', `step ${s.step} skipped`);
    assert.ok(typeof s.loss_scale === 'number' && s.loss_scale > 0, `step ${s.step} loss_scale`);
    if (scale === undefined) assert.equal(s.loss_scale, 65536, 'the loss scale starts at 2^16');
    else assert.equal(s.loss_scale, scale, `step ${s.step}: the scale halves after a skipped step and stays otherwise`);
    scale = s.skipped ? (s.loss_scale as number) / 2 : s.loss_scale;
    if (s.skipped) {
      skipped++;
      assert.equal(s.grad_norm, null, `step ${s.step}: a skipped step's gradient norm overflowed`);
    } else {
      assert.ok(s.grad_norm !== null && Number.isFinite(s.grad_norm), `step ${s.step} grad_norm`);
    }
    if (s.step < 10) assert.equal(s.noise_scale, undefined, `step ${s.step}: no noise scale before 10 steps`);
    if (s.noise_scale !== undefined) {
      assert.ok(s.noise_scale > 0, `step ${s.step} noise_scale ${s.noise_scale}`);
      assert.equal(s.suggested_accumulate, Math.max(K, Math.min(65536, Math.round(s.noise_scale / 4))), `step ${s.step} suggested_accumulate`);
    } else {
      assert.equal(s.suggested_accumulate, undefined, `step ${s.step}: suggested_accumulate comes with noise_scale`);
    }
  }
  assert.ok(steps.some((s) => s.noise_scale !== undefined), 'the noise scale appears within 12 steps of accumulate 2');

  // Spans: per layer, one fwd and bwd per micro-batch, one recompute per
  // micro-batch for checkpointed blocks, one optim unless the update was skipped.
  const spans = events.filter((e): e is SpanRecord => e.type === 'span');
  const sampled = [1, 5, 10];
  assert.deepEqual([...new Set(spans.map((s) => s.step))], sampled);
  for (const step of sampled) {
    const stepSkipped = steps[step - 1].skipped === true;
    for (let layer = 0; layer < L + 2; layer++) {
      const n = (phase: string) => spans.filter((s) => s.step === step && s.layer === layer && s.phase === phase).length;
      assert.equal(n('fwd'), K, `step ${step} layer ${layer} fwd`);
      assert.equal(n('bwd'), K, `step ${step} layer ${layer} bwd`);
      assert.equal(n('recompute'), ckpt.has(layer) ? K : 0, `step ${step} layer ${layer} recompute`);
      assert.equal(n('optim'), stepSkipped ? 0 : 1, `step ${step} layer ${layer} optim`);
    }
    const bwd = spans.filter((s) => s.step === step && s.phase === 'bwd');
    for (const r of spans.filter((s) => s.step === step && s.phase === 'recompute')) {
      assert.ok(!bwd.some((b) => b.t0 < r.t1 && r.t0 < b.t1), `step ${step}: recompute of layer ${r.layer} overlaps a bwd span`);
    }
  }

  // The summary.
  const summary = events[events.length - 1] as SummaryRecord;
  assert.equal(summary.status, 'completed');
  assert.equal(summary.steps, 12);
  assert.equal(summary.tokens, 12 * run0.tokens_per_step);
  assert.equal(summary.skipped_steps, skipped);
  assert.equal(summary.loss_scale, scale, 'the summary has the scale the next step would use');
  assert.equal(summary.predicted_peak_act_bytes, p.peak_act_bytes);

  // The trace has the recompute spans too.
  const trace = JSON.parse(readFileSync(path.join(out, 'trace.json'), 'utf8')) as { traceEvents: { ph: string; tid: number; cat?: string }[] };
  const rec = trace.traceEvents.filter((e) => e.ph === 'X' && e.tid === 1 && e.cat === 'recompute').length;
  assert.equal(rec, spans.filter((s) => s.phase === 'recompute').length);
});

/** Where `key`'s value is in a config text: 1-based line and column. */
function valueLocation(configText: string, key: string): { line: number; col: number } {
  const lines = configText.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = new RegExp(`^(\\s*${key}\\s+)\\S`).exec(lines[i]);
    if (m) return { line: i + 1, col: m[1].length + 1 };
  }
  throw new Error(`no '${key}' line`);
}

/** A stream of a run that failed before it started: an error record, then the short summary. */
function checkFailedBeforeStart(out: string): { error: ErrorRecord; summary: SummaryRecord } {
  const text = readFileSync(path.join(out, 'events.jsonl'), 'utf8');
  const { events, errors } = parseEventsFile(text);
  assert.deepEqual(errors, [], 'the short summary is a valid record');
  assert.deepEqual(
    events.map((e) => e.type),
    ['error', 'summary'],
    'exactly an error record and a summary, no run record',
  );
  const summary = events[1] as SummaryRecord;
  assert.deepEqual(Object.keys(summary).sort(), ['status', 'steps', 'tokens', 'type', 'wall_s']);
  assert.equal(summary.status, 'failed');
  assert.equal(summary.steps, 0);
  assert.equal(summary.tokens, 0);
  assert.ok(summary.wall_s >= 0);
  assert.ok(isShortSummary(summary));
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')), summary, 'summary.json too');
  assert.ok(!existsSync(path.join(out, 'trace.json')), 'no trace for a run that never started');
  return { error: events[0] as ErrorRecord, summary };
}

test('a run that fails before it starts writes an error record and a short summary', { timeout: 20_000 }, async (t) => {
  const text = tinyConfig + '[data]\ntokens missing.bin\n';
  const { dir, config, out, done } = runTiny(t, text, [], 'bad-data.train');
  const fin = await done;
  assert.equal(fin.code, 1, fin.stderr);
  const { error } = checkFailedBeforeStart(out);
  const at = valueLocation(text, 'tokens');
  assert.equal(error.file, config);
  assert.equal(error.line, at.line);
  assert.equal(error.col, at.col);
  assert.equal(error.key, 'data.tokens');
  assert.equal(error.step, undefined);
  assert.equal(error.message, `data.tokens: cannot open '${path.join(dir, 'missing.bin')}': No such file or directory`);
  assert.equal(fin.stderr.split('\n')[0], `${config}:${at.line}:${at.col}: error: ${error.message}`, 'stderr has the location in front');
});

test('a checkpoint budget no plan fits: exit 2, an error record at the --set override, a short summary', { timeout: 20_000 }, async (t) => {
  const ov = 'train.checkpoint=budget 1KB';
  const { out, done } = runTiny(t, tinyConfig, [ov]);
  const fin = await done;
  assert.equal(fin.code, 2, fin.stderr);
  const { error } = checkFailedBeforeStart(out);
  assert.equal(error.file, '--set');
  assert.equal(error.line, 1);
  assert.equal(error.col, ov.indexOf('=') + 2);
  assert.equal(error.key, 'train.checkpoint');
  assert.match(error.message, /^train\.checkpoint budget .* is too small/);
  assert.equal(fin.stderr.split('\n')[0], `--set:1:${error.col}: error: ${error.message}`);
});

test('SIGINT ends a run with every record written and an "interrupted" summary', { timeout: 20_000 }, async (t) => {
  const run = runTiny(t, tinyConfig, ['train.steps=100000']);
  const eventsPath = path.join(run.out, 'events.jsonl');
  let exited = false;
  void run.done.then(() => (exited = true));

  const deadline = Date.now() + 12_000;
  for (;;) {
    assert.ok(!exited, 'the trainer ended before it was interrupted');
    assert.ok(Date.now() < deadline, 'no 3 step records within 12 s');
    let text = '';
    try {
      text = readFileSync(eventsPath, 'utf8');
    } catch {
      // Not created yet.
    }
    let n = 0;
    for (let i = text.indexOf('"type":"step"'); i !== -1 && n < 3; i = text.indexOf('"type":"step"', i + 1)) n++;
    if (n >= 3) break;
    await sleep(20);
  }
  run.child.kill('SIGINT');
  const fin = await run.done;
  assert.equal(fin.code, 130, `exit ${fin.code} ${fin.signal}\n${fin.stderr}`);

  const text = readFileSync(eventsPath, 'utf8');
  assert.ok(text.endsWith('\n'), 'the stream ends with a whole line');
  const { events, errors } = parseEventsFile(text);
  assert.deepEqual(errors, []);
  checkOrdering(events);
  const steps = events.filter((e): e is StepRecord => e.type === 'step');
  assert.ok(steps.length >= 3);
  steps.forEach((s, i) => assert.equal(s.step, i + 1));
  const summary = events[events.length - 1] as SummaryRecord;
  assert.equal(summary.status, 'interrupted');
  assert.equal(summary.steps, steps.length);
  assert.ok(summary.steps < 100_000);
  assert.deepEqual(JSON.parse(readFileSync(path.join(run.out, 'summary.json'), 'utf8')), summary);
});

// ---------------------------------------------------------------------------
// A data-parallel run: every line of every rank's file follows the schema.
// Launched as test/distributed.test.ts launches its jobs (Open MPI needs
// --allow-run-as-root and --oversubscribe in CI); that file checks what the
// records say, this one only that they validate.

function mpirunFlags(): string[] | undefined {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error) return undefined;
  return /Open MPI|OpenRTE/i.test(`${r.stdout}${r.stderr}`) ? ['--allow-run-as-root', '--oversubscribe'] : [];
}

const dpConfig = `${tinyConfig}save_every 5\n[parallel]\nranks 2\nbucket 64KB\n`;

test('a 2-rank run under mpirun: every line of events.jsonl and events.rank1.jsonl validates', { timeout: 60_000 }, async (t) => {
  const flags = mpirunFlags();
  if (!flags) {
    t.skip('mpirun not found (apt-get install openmpi-bin libopenmpi-dev); test/distributed.test.ts fails on it');
    return;
  }
  assert.ok(haveTrainer, NO_TRAINER);
  const dir = tempDir('trainscope-events-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'dp.train');
  writeFileSync(config, dpConfig);
  const out = path.join(dir, 'out');
  // Its own process group, so that t.after can kill mpirun and the ranks it started.
  const child = spawn('mpirun', [...flags, '-np', '2', trainer, config, '--out', out, '--quiet'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  t.after(() => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 100_000) stderr += s;
  });
  const fin = await new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  assert.equal(fin.code, 0, `mpirun exited ${fin.code ?? fin.signal}\n${fin.stderr.slice(-3000)}`);

  const seen = new Map<string, number>();
  for (const name of ['events.jsonl', 'events.rank1.jsonl']) {
    const text = readFileSync(path.join(out, name), 'utf8');
    assert.ok(text.endsWith('\n'), `${name} ends with a whole line`);
    const lines = text.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 0, `${name} is not empty`);
    lines.forEach((line, i) => {
      const r = validateEvent(JSON.parse(line));
      assert.ok(r.ok, r.ok ? '' : `${name}:${i + 1}: ${r.error}\n${line.slice(0, 300)}`);
      seen.set(`${name} ${r.event.type}`, (seen.get(`${name} ${r.event.type}`) ?? 0) + 1);
    });
    assert.deepEqual(parseEventsFile(text).errors, [], name);
  }
  // The records this test exists for were there to validate.
  for (const k of ['events.jsonl run', 'events.jsonl comm', 'events.jsonl step', 'events.jsonl save', 'events.rank1.jsonl comm', 'events.rank1.jsonl step']) {
    assert.ok((seen.get(k) ?? 0) > 0, `no ${k} records (${[...seen].join(', ')})`);
  }
});
