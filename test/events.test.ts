// The event stream contract (docs/events.md): the parser and validator of
// extension/events.ts on hand-made streams, then the real trainer's output
// (a short run, and an interrupted one) checked against the documented
// schema and ordering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  EventStreamParser,
  SCHEMA_VERSION,
  parseEventsFile,
  validateEvent,
  type LayerRecord,
  type RunRecord,
  type SpanRecord,
  type StepRecord,
  type SummaryRecord,
  type TrainerEvent,
} from '../extension/events';

// ---------------------------------------------------------------------------
// Hand-made records, shaped like the trainer's.

const layerBytes = { param: 6144, grad: 6144, optim: 12288, act: 8192, workspace: 512 };

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
    tokens_per_step: 64,
    data: { source: 'synthetic', description: 'synthetic phrase task', train_tokens: 0, val_tokens: 0, entropy_floor: 0.43 },
    layers: ['embed', 'block.0', 'head'],
    predicted: {
      param: 108032,
      grad: 108032,
      optim: 216064,
      peak_act_bytes: 305920,
      peak_workspace_bytes: 49664,
      peak_bytes: 770560,
      params: 27008,
      layers: [{ name: 'embed', params: 1536, bytes: layerBytes }],
    },
  };
}

function stepRecord(step: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'step',
    step,
    loss: 3.4,
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
      bytes: layerBytes,
      predicted: layerBytes,
    },
    stepRecord(1),
    stepRecord(2, { loss: null, note: 'ünïcödé ✓ 😀' }),
    { type: 'eval', step: 2, val_loss: 3.39 },
    summaryRecord(),
  ];
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
  const p = new EventStreamParser({ maxLineLength: 1000 });
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
    toJsonl([runRecord(), { type: 'comm', rank: 0 }, { type: 'bogus' }, { step: 3 }, stepRecord(1)]),
  );
  assert.deepEqual(
    events.map((e) => e.type),
    ['run', 'step'],
  );
  assert.equal(errors.length, 3);
  assert.equal(errors[0].kind, 'unknown-type');
  assert.match(errors[0].message, /line 2: .*"comm".*reserved/);
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
  ];
  for (const c of cases) {
    const r = validateEvent(c);
    assert.ok(r.ok, r.ok ? '' : r.error);
  }
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
// The real trainer.

function repoRoot(): string {
  const starts = [process.cwd(), path.dirname(fileURLToPath(import.meta.url))];
  for (const start of starts) {
    let dir = start;
    for (;;) {
      const pkg = path.join(dir, 'package.json');
      if (existsSync(pkg) && existsSync(path.join(dir, 'native'))) return dir;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error('cannot find the repository root (package.json beside native/)');
}

const trainer = path.join(repoRoot(), 'native', 'build', 'trainscope-train');

const tinyConfig =
  '[model]\nvocab 32\ncontext 16\nlayers 2\nwidth 32\nheads 2\n[train]\nsteps 12\nbatch 4\neval_every 5\nprofile_every 5\n';

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function requireTrainer(): void {
  assert.ok(existsSync(trainer), `${trainer} does not exist: build it first (npm run build)`);
}

function startTrainer(args: string[]): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(trainer, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    if (stderr.length < 100_000) stderr += s;
  });
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, done };
}

function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'trainscope-events-'));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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

test('a short run writes a stream, a trace and a summary that follow docs/events.md', { timeout: 20_000 }, async (t) => {
  requireTrainer();
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'tiny.train');
  writeFileSync(config, tinyConfig);
  const out = path.join(dir, 'out');
  const run = startTrainer([config, '--out', out, '--quiet']);
  t.after(() => stopChild(run.child));
  const fin = await run.done;
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
    assert.equal(l.bytes.param, l.predicted.param, `${l.name} param`);
    assert.equal(l.bytes.grad, l.predicted.grad, `${l.name} grad`);
    assert.equal(l.bytes.optim, l.predicted.optim, `${l.name} optim`);
    assert.ok(Math.abs(l.bytes.act - l.predicted.act) <= 0.01 * l.predicted.act, `${l.name} act ${l.bytes.act} vs ${l.predicted.act}`);
    assert.deepEqual(run0.predicted.layers[l.index].bytes, l.predicted);
  }

  const steps = events.filter((e): e is StepRecord => e.type === 'step');
  assert.deepEqual(
    steps.map((s) => s.step),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  for (const s of steps) {
    assert.ok(s.loss !== null && Number.isFinite(s.loss), `step ${s.step} loss`);
    for (const ph of ['data', 'fwd', 'bwd', 'optim'] as const) assert.ok(s.phases[ph] >= 0, `step ${s.step} ${ph}`);
    const sum = s.phases.data + s.phases.fwd + s.phases.bwd + s.phases.optim;
    assert.ok(Math.abs(sum - s.ms) <= 0.05 * s.ms + 0.05, `step ${s.step}: phases ${sum} ms vs ${s.ms} ms`);
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
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')), summary);

  const trace = JSON.parse(readFileSync(path.join(out, 'trace.json'), 'utf8')) as {
    traceEvents: { ph: string; name: string; pid: number; tid: number; ts?: number; dur?: number; cat?: string; args?: Record<string, unknown> }[];
    metadata: Record<string, unknown>;
  };
  assert.ok(Array.isArray(trace.traceEvents));
  assert.equal(trace.metadata.schema, SCHEMA_VERSION);
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

test('SIGINT ends a run with every record written and an "interrupted" summary', { timeout: 20_000 }, async (t) => {
  requireTrainer();
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'tiny.train');
  writeFileSync(config, tinyConfig);
  const out = path.join(dir, 'out');
  const eventsPath = path.join(out, 'events.jsonl');
  const run = startTrainer([config, '--out', out, '--quiet', '--set', 'train.steps=100000']);
  t.after(() => stopChild(run.child));
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
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')), summary);
});
