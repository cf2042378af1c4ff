// Property-based fuzzing of the event-stream reader (issue 11): the parser
// and the run model face whatever a run folder holds, a live file read
// mid-write, a stream from another version, a crafted one. fast-check
// generates streams from a real run's records with fields replaced by
// hostile values, garbage lines and bytes spliced in, cut at arbitrary
// chunk boundaries, and shrinks any failure to a minimal stream.
//
// Properties a user relies on:
//   - nothing throws, whatever the bytes;
//   - the records read do not depend on where the chunks were cut (a live
//     run is read as it grows, in whatever pieces the file system gives);
//   - the model stays within what the run record declares (no array grown
//     to an index taken from a record) and counts every line it could not use.
// Runs per property: FUZZ_RUNS (default 200; `npm run fuzz` sets more).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { EventStreamParser } from '../common/events/parse';
import type { RunRecord, TrainerEvent } from '../common/events/schema';
import { RunModelBuilder } from '../extension/runs/runModelBuilder';
import { root } from './support/trainer';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const fixture = path.join(root, 'test', 'fixtures', 'gpu-run', 'events.jsonl');
/** A real run's records: run, layers, steps, spans, evals, summary. */
const realLines = readFileSync(fixture, 'utf8').trim().split('\n');
const real = realLines.map((l) => JSON.parse(l) as Record<string, unknown>);
const declared = real[0] as unknown as RunRecord;

/** Values that have broken readers before: huge and negative indices, wrong types, deep nesting. */
const hostile = fc.oneof(
  fc.constantFrom(2e9, -1, 0, 1e308, -0, 2 ** 53, Number.MAX_SAFE_INTEGER, 0.5, null, '', '__proto__', 'constructor', [], {}),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A real record with some fields replaced by hostile values (or removed). */
const mutatedRecord = fc
  .tuple(fc.nat(real.length - 1), fc.array(fc.tuple(fc.nat(), hostile, fc.boolean()), { maxLength: 3 }))
  .map(([i, edits]) => {
    const r: Record<string, unknown> = structuredClone(real[i]);
    const keys = Object.keys(r);
    for (const [k, v, drop] of edits) {
      const key = keys[k % keys.length];
      if (key === 'type') continue; // keep it recognisable: the schema checks behind it are the target
      if (drop) delete r[key];
      else r[key] = v;
    }
    return JSON.stringify(r);
  });

/** One line of a stream: a real record, a mutated one, or garbage. */
const line = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...realLines) },
  { weight: 4, arbitrary: mutatedRecord },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')) },
  { weight: 1, arbitrary: fc.constantFrom('{', '{"type":"span"}', '[]', 'null', '{"type":"run","schema":99}', '\r') },
);

/** A stream: the real run record first (usually), then lines, with or without a final newline. */
const stream = fc
  .tuple(fc.boolean(), fc.array(line, { maxLength: 60 }), fc.boolean())
  .map(([withRun, lines, lastNewline]) => {
    const all = withRun ? [realLines[0], ...lines] : lines;
    return Buffer.from(all.join('\n') + (lastNewline ? '\n' : ''), 'utf8');
  });

/** Cut points in a buffer of n bytes, sorted, which may split UTF-8 sequences and CRLFs. */
function chunksOf(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  out.push(bytes.subarray(from));
  return out;
}

function readAll(chunks: readonly Buffer[]): { events: TrainerEvent[]; parser: EventStreamParser } {
  const parser = new EventStreamParser();
  const events: TrainerEvent[] = [];
  for (const c of chunks) events.push(...parser.push(c));
  events.push(...parser.end());
  return { events, parser };
}

const params = { numRuns: RUNS, seed: SEED };

test('the records read do not depend on where the stream was cut into chunks', () => {
  fc.assert(
    fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
      const whole = readAll([bytes]);
      const cut = readAll(chunksOf(bytes, cuts));
      assert.deepEqual(cut.events, whole.events);
      assert.equal(cut.parser.errorCount, whole.parser.errorCount);
      assert.equal(cut.parser.linesRead, whole.parser.linesRead);
    }),
    params,
  );
});

test('every line is a record or a counted problem, and the run model stays within the run it declares', () => {
  fc.assert(
    fc.property(stream, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (bytes, cuts, live) => {
      const builder = new RunModelBuilder('fuzz', { live });
      const parser = new EventStreamParser();
      let records = 0;
      for (const c of chunksOf(bytes, cuts)) {
        const evs = parser.push(c);
        records += evs.length;
        builder.add(evs);
        builder.setStreamProblems(parser.errorCount, parser.errors.map((e) => e.message));
      }
      const last = parser.end();
      records += last.length;
      builder.add(last);
      builder.setStreamProblems(parser.errorCount, parser.errors.map((e) => e.message));
      builder.finish();
      const text = bytes.toString('utf8');
      const nonBlank = text.split('\n').filter((l) => l.replace(/\r$/, '').trim() !== '').length;
      assert.equal(records + parser.errorCount, nonBlank, 'a line neither read nor counted');

      const m = builder.model;
      const run = m.run;
      if (run) {
        assert.ok(m.layers.length <= run.layers.length, `${m.layers.length} layers kept, ${run.layers.length} declared`);
        assert.ok(m.steps.step.length <= records, 'more steps than records');
        const steps = (run.config.train as { steps?: unknown }).steps;
        if (Number.isInteger(steps) && (steps as number) >= 1) {
          for (const s of m.steps.step) assert.ok(s <= (steps as number), `step ${s} beyond train.steps ${steps}`);
        }
        if (m.timeline) assert.ok(m.timeline.ranks <= run.ranks, `${m.timeline.ranks} timeline ranks, ${run.ranks} declared`);
      }
      // Without a run record the builder holds records to its ceilings; either way
      // nothing is kept that no record brought.
      assert.ok(m.layers.length <= records, `${m.layers.length} layers from ${records} records`);
      assert.ok(m.streamProblems.messages.length <= 100, 'problem messages unbounded');
      assert.ok(m.streamProblems.count >= parser.errorCount, 'parser problems not counted in the model');
    }),
    params,
  );
});

test('the fixture the fuzzer starts from is a whole run (or the properties test nothing)', () => {
  const { events, parser } = readAll([Buffer.from(realLines.join('\n') + '\n')]);
  assert.equal(parser.errorCount, 0);
  assert.equal(events.length, realLines.length);
  assert.ok(declared.layers.length > 1);
  assert.ok(events.some((e) => e.type === 'span') && events.some((e) => e.type === 'step'));
});
