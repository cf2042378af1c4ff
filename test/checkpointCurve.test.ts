// The Checkpoints view's memory-versus-recompute curve, from the planner's
// report in a real run record (trainer runs of bench-gpt: sqrt, and a budget).
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseEventsFile } from '../common/events/parse';
import type { PlanReport, RunRecord } from '../common/events/schema';
import { checkpointCurve, pointTags, runCheckpoint } from '../webview/views/checkpointCurve';
import { haveTrainer, NO_TRAINER, root, runTrainer, tempDir } from './support/trainer';

function runRecordOf(dir: string): RunRecord {
  const { events } = parseEventsFile(readFileSync(path.join(dir, 'events.jsonl'), 'utf8'));
  const run = events.find((e) => e.type === 'run');
  assert.ok(run && run.type === 'run', 'a run record');
  return run;
}

describe('checkpoint curve of a real run', { skip: haveTrainer ? false : NO_TRAINER }, () => {
  let tmp: string;
  let sqrtRun: RunRecord;
  let budgetRun: RunRecord;
  const config = path.join(root, 'examples', 'bench-gpt.train');

  before(() => {
    tmp = tempDir();
    runTrainer(config, path.join(tmp, 'sqrt'), ['train.steps=1', 'train.checkpoint=sqrt']);
    runTrainer(config, path.join(tmp, 'budget'), ['train.steps=1', 'train.checkpoint=budget 60MB']);
    sqrtRun = runRecordOf(path.join(tmp, 'sqrt'));
    budgetRun = runRecordOf(path.join(tmp, 'budget'));
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('one point per distinct schedule, sorted by segment count, sqrt and the run flagged', () => {
    const plan = sqrtRun.plan;
    assert.ok(plan, 'the run record carries the plan');
    const c = checkpointCurve(plan, runCheckpoint(sqrtRun));
    const segs = c.points.map((p) => p.segments);
    assert.deepEqual(segs, [...segs].sort((a, b) => a - b));
    // Distinct checkpoint texts only.
    assert.equal(new Set(c.points.map((p) => p.checkpoint)).size, c.points.length);
    assert.equal(c.points.length, new Set(plan.schedules.map((s) => s.checkpoint)).size);
    // none first: nothing recomputed, the most activation memory.
    assert.equal(c.points[0].checkpoint, 'none');
    assert.equal(c.points[0].segments, 0);
    assert.equal(c.points[0].recomputePct, 0);
    // every K gives ceil(L / K) segments, L the checkpointable layers.
    const L = Math.max(...plan.schedules.map((s) => s.segments.length));
    for (const s of plan.schedules) {
      const m = /^every (\d+)$/.exec(s.name);
      if (!m) continue;
      const p = c.points.find((q) => q.names.includes(s.name));
      assert.ok(p);
      assert.equal(p.segments, Math.ceil(L / Number(m[1])));
      assert.equal(p.peakActBytes, s.peak_act_bytes);
      assert.ok(Math.abs(p.recomputePct - s.recompute_fraction * 100) < 1e-9);
      assert.equal(p.peakActMB, s.peak_act_bytes / 1e6);
    }
    const sqrt = c.points.filter((p) => p.sqrt);
    assert.equal(sqrt.length, 1);
    assert.equal(sqrt[0].names[0], 'sqrt');
    assert.equal(sqrt[0].checkpoint, plan.schedules.find((s) => s.name === 'sqrt')!.checkpoint);
    // The run uses sqrt.
    const mine = c.points.filter((p) => p.run);
    assert.equal(mine.length, 1);
    assert.equal(mine[0], sqrt[0]);
    assert.equal(mine[0].checkpoint, sqrtRun.checkpoint);
    assert.ok(c.points.every((p) => !p.budget));
    assert.equal(c.budgetMB, null);
    assert.equal(c.budgetFits, null);
  });

  test('the budget plan and the budget line', () => {
    const plan = budgetRun.plan;
    assert.ok(plan?.budget?.plan, 'the run record carries the budget plan');
    const c = checkpointCurve(plan, runCheckpoint(budgetRun));
    assert.equal(c.budgetMB, 60);
    assert.equal(c.budgetFits, plan.budget.fits);
    const b = c.points.filter((p) => p.budget);
    assert.equal(b.length, 1);
    assert.equal(b[0].checkpoint, plan.budget.plan.checkpoint);
    assert.equal(b[0].segments, plan.budget.plan.segments.length);
    if (plan.budget.fits) assert.ok(b[0].peakActBytes <= plan.budget.bytes);
    // The run uses its budget plan.
    assert.deepEqual(
      c.points.filter((p) => p.run).map((p) => p.checkpoint),
      [budgetRun.checkpoint],
    );
    assert.ok(b[0].run);
    const segs = c.points.map((p) => p.segments);
    assert.deepEqual(segs, [...segs].sort((a, b2) => a - b2));
  });
});

describe('checkpoint curve (synthetic)', () => {
  const sched = (name: string, checkpoint: string, segments: [number, number][], act: number, frac: number) => ({
    name,
    checkpoint,
    segments,
    peak_act_bytes: act,
    peak_bytes: act + 100,
    recompute_flops: frac * 1000,
    recompute_fraction: frac,
  });

  test('a run without a matching plan flags nothing; the budget plan becomes its own point', () => {
    const plan: Pick<PlanReport, 'schedules' | 'budget'> = {
      schedules: [
        sched('every 1', 'layers 0,1', [[0, 0], [1, 1]], 10, 0.3),
        sched('none', 'none', [], 40, 0),
        sched('every 2', 'layers 0-1', [[0, 1]], 30, 0.3),
        sched('sqrt', 'layers 0-1', [[0, 1]], 30, 0.3),
      ],
      budget: { bytes: 25e6, fits: true, min_budget: 10e6, plan: sched('budget', 'layers 0', [[0, 0]], 20, 0.15) },
    };
    const c = checkpointCurve(plan, 'layers 5');
    assert.deepEqual(
      c.points.map((p) => [p.label, p.segments]),
      [
        ['none', 0],
        ['budget', 1],
        ['sqrt / every 2', 1],
        ['every 1', 2],
      ],
    );
    assert.ok(c.points.every((p) => !p.run));
    assert.deepEqual(c.points.filter((p) => p.budget).map((p) => p.checkpoint), ['layers 0']);
    assert.equal(c.budgetMB, 25);
    assert.equal(checkpointCurve(plan, 'none').points.filter((p) => p.run).length, 1);
  });
});

describe('point captions', () => {
  test('sqrt(L), the budget plan and this run are named; other schedules get nothing', () => {
    assert.deepEqual(pointTags({ sqrt: true, budget: false, run: true }), ['sqrt(L)', 'this run']);
    assert.deepEqual(pointTags({ sqrt: false, budget: true, run: false }), ['budget plan']);
    assert.deepEqual(pointTags({ sqrt: false, budget: false, run: false }), []);
  });
});
