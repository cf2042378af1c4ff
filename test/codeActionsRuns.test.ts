// What the code actions read from runs (the last run's measured peak and
// the noise scale's suggested accumulation, read from a real run folder)
// and what Apply and Re-profile shows after (Compare: before and after,
// with the change).
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SummaryRecord } from '../common/events/schema';
import { formatBytes, formatMs } from '../common/format';
import { readRunFacts } from '../extension/runs/runFacts';
import { emptyModel, type RunModel } from '../common/runModel';
import { EVENTS_FILE, loadRun, SUMMARY_FILE } from '../extension/runs/runStore';
import { chronological, compareRows, formatChange, memoryRows } from '../webview/views/compareTable';
import { haveTrainer, NO_TRAINER, root, runTrainer, TINY, tempDir } from './support/trainer';

describe('the last run of a config', { skip: haveTrainer ? false : NO_TRAINER }, () => {
  let tmp: string;
  let runDir: string;

  before(() => {
    tmp = tempDir();
    runDir = path.join(tmp, '20260101-000000-tiny-gpt');
    // The noise scale needs accumulation and ~10 applied steps.
    runTrainer(path.join(root, 'examples', 'tiny-gpt.train'), runDir, [...TINY, 'train.steps=14', 'train.accumulate=2', 'train.eval_every=0']);
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('peak, suggested accumulation and config', async () => {
    const facts = await readRunFacts(runDir);
    const summary = JSON.parse(readFileSync(path.join(runDir, SUMMARY_FILE), 'utf8')) as SummaryRecord;
    assert.equal(facts.id, '20260101-000000-tiny-gpt');
    assert.equal(facts.peakBytes, summary.peak_bytes);
    assert.equal(facts.config?.train.accumulate, 2);
    const steps = readFileSync(path.join(runDir, EVENTS_FILE), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"type":"step"'))
      .map((l) => JSON.parse(l) as { suggested_accumulate?: number });
    const last = steps.filter((s) => s.suggested_accumulate !== undefined).pop();
    assert.ok(last, 'the run has no suggested_accumulate');
    assert.equal(facts.suggestedAccumulate, last.suggested_accumulate);
  });

  test('without summary.json, the summary comes from the stream', async () => {
    const copy = path.join(tmp, 'no-summary');
    runTrainer(path.join(root, 'examples', 'tiny-gpt.train'), copy, [...TINY, 'train.steps=3']);
    const peak = (JSON.parse(readFileSync(path.join(copy, SUMMARY_FILE), 'utf8')) as SummaryRecord).peak_bytes;
    rmSync(path.join(copy, SUMMARY_FILE));
    const facts = await readRunFacts(copy);
    assert.equal(facts.peakBytes, peak);
    assert.equal(facts.suggestedAccumulate, undefined);
  });

  test('a run killed before its summary, and a run that failed before it started', async () => {
    const killed = path.join(tmp, 'killed');
    runTrainer(path.join(root, 'examples', 'tiny-gpt.train'), killed, [...TINY, 'train.steps=3']);
    rmSync(path.join(killed, SUMMARY_FILE));
    const lines = readFileSync(path.join(killed, EVENTS_FILE), 'utf8').split('\n').filter((l) => l && !l.includes('"type":"summary"'));
    writeFileSync(path.join(killed, EVENTS_FILE), `${lines.join('\n')}\n`);
    assert.equal((await readRunFacts(killed)).peakBytes, undefined);

    const short = path.join(tmp, 'short');
    runTrainer(path.join(root, 'examples', 'tiny-gpt.train'), short, [...TINY, 'train.steps=1']);
    writeFileSync(path.join(short, SUMMARY_FILE), '{"type":"summary","status":"failed","steps":0,"tokens":0,"wall_s":0.01}\n');
    const kept = readFileSync(path.join(short, EVENTS_FILE), 'utf8').split('\n').filter((l) => l && !l.includes('"type":"summary"'));
    writeFileSync(path.join(short, EVENTS_FILE), `${kept.join('\n')}\n`);
    assert.equal((await readRunFacts(short)).peakBytes, undefined);
  });

  test('a folder without a run reads as nothing known', async () => {
    const facts = await readRunFacts(path.join(tmp, 'missing'));
    assert.deepEqual(facts, { id: 'missing', dir: path.join(tmp, 'missing') });
  });

  test('Compare rows of two real runs: before, after, change', async () => {
    const a = (await loadRun(runDir)).model;
    const other = path.join(tmp, '20260102-000000-tiny-gpt');
    runTrainer(path.join(root, 'examples', 'tiny-gpt.train'), other, [...TINY, 'train.steps=14', 'train.accumulate=2', 'train.precision=bf16', 'train.eval_every=0']);
    const b = (await loadRun(other)).model;
    // Given after-first (as Apply and Re-profile opens it), shown oldest first.
    const rows = compareRows([b, a]);
    assert.deepEqual(
      rows.map((r) => r.run),
      [a.id, b.id, `change: ${b.id} vs ${a.id}`],
    );
    assert.equal(rows[0].ms, formatMs(a.summary!.ms_per_step));
    assert.equal(rows[1].peak, formatBytes(b.summary!.peak_bytes));
    assert.equal(rows[2].peak, formatChange(a.summary!.peak_bytes, b.summary!.peak_bytes));
    const mem = memoryRows([b, a]);
    assert.equal(mem[0].act, formatBytes(a.summary!.peak_by_category.act));
    assert.equal(mem[1].act, formatBytes(b.summary!.peak_by_category.act));
    // bf16 stores activations in 16 bits; parameters stay fp32.
    assert.ok(b.summary!.peak_by_category.act < a.summary!.peak_by_category.act);
    assert.equal(mem[2].act, formatChange(a.summary!.peak_by_category.act, b.summary!.peak_by_category.act));
    assert.match(mem[2].act, /^\u2212\d+%$/);
    assert.equal(mem[2].param, '±0%');
  });
});

function withSummary(id: string, s: Partial<SummaryRecord>): RunModel {
  const m = emptyModel(id, 'completed');
  m.summary = { type: 'summary', status: 'completed', steps: 10, tokens: 100, wall_s: 1, ...s } as SummaryRecord;
  return m;
}

describe('Compare rows', () => {
  test('the change row', () => {
    const before = withSummary('20260101-000000-x', {
      final_loss: 1.5,
      ms_per_step: 100,
      tokens_per_s: 1000,
      peak_bytes: 50e6,
      peak_by_category: { param: 1e6, grad: 1e6, optim: 2e6, act: 40e6, workspace: 3e6, comm: 0 },
    });
    const after = withSummary('20260101-000100-x', {
      final_loss: 1.25,
      ms_per_step: 133,
      tokens_per_s: 752,
      peak_bytes: 30e6,
      peak_by_category: { param: 1e6, grad: 1e6, optim: 2e6, act: 20e6, workspace: 3e6, comm: 0 },
    });
    const rows = compareRows([after, before]);
    assert.deepEqual(rows[2], {
      run: 'change: 20260101-000100-x vs 20260101-000000-x',
      status: '',
      params: '–',
      steps: '±0%',
      loss: '\u22120.2500',
      val: '–',
      ms: '+33%',
      tps: '\u221225%',
      peak: '\u221240%',
    });
    const mem = memoryRows([after, before]);
    assert.equal(mem[2].act, '\u221250%');
    assert.equal(mem[2].comm, '±0%');
  });

  test('runs without measurements, and a single run', () => {
    const short = withSummary('20260101-000000-x', { status: 'failed', steps: 0 });
    const rows = compareRows([short]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].ms, '–');
    assert.equal(memoryRows([short])[0].act, '–');
    assert.deepEqual(
      chronological([withSummary('b', {}), withSummary('a', {})]).map((m) => m.id),
      ['a', 'b'],
    );
  });

  test('formatChange', () => {
    assert.equal(formatChange(100, 105), '+5.0%');
    assert.equal(formatChange(100, 50), '\u221250%');
    assert.equal(formatChange(0, 5), '–');
    assert.equal(formatChange(undefined, 5), '–');
    assert.equal(formatChange(100, 100.001), '±0%');
  });
});
