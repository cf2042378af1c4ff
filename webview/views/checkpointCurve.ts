// The memory-versus-recompute trade-off of activation checkpointing, from the
// planner's report in the run record (`plan`): one point per distinct
// schedule (none, every K, sqrt, the budget's plan), ordered by segment count.
// Pure logic, no DOM: the Checkpoints view draws it, the tests check it.
import type { PlanReport, PlanSchedule, RunRecord } from '../../common/events/schema';

export interface CurvePoint {
  /** What the point is called: the schedule names that share it ("sqrt / every 3"). */
  label: string;
  names: string[];
  /** The schedule in config-language form. */
  checkpoint: string;
  /** Checkpointed segments (0 for none). */
  segments: number;
  /** Blocks in those segments: each has its forward recomputed once. */
  blocks: number;
  /** Recompute as % of a step. */
  recomputePct: number;
  /** Peak activation memory, MB (10^6 bytes). */
  peakActMB: number;
  peakActBytes: number;
  peakBytes: number;
  sqrt: boolean;
  budget: boolean;
  /** The plan this run uses. */
  run: boolean;
}

export interface CheckpointCurve {
  points: CurvePoint[];
  /** The memory budget, MB, when the config asked for one. */
  budgetMB: number | null;
  /** Whether the budget could be met. */
  budgetFits: boolean | null;
}

function norm(checkpoint: string): string {
  return checkpoint.trim().replace(/\s+/g, ' ');
}

/** The plan a run uses, in config-language form. */
export function runCheckpoint(run: Pick<RunRecord, 'checkpoint' | 'predicted'>): string | undefined {
  return run.checkpoint ?? run.predicted?.checkpoint;
}

/**
 * The trade-off curve of a plan report: schedules with the same checkpoint
 * text are one point (sqrt often equals some every K); sorted by segment
 * count, then by recompute. `runPlan` is the run's own checkpoint text.
 */
export function checkpointCurve(plan: Pick<PlanReport, 'schedules' | 'budget'>, runPlan?: string): CheckpointCurve {
  const byKey = new Map<string, CurvePoint>();
  const add = (s: PlanSchedule, budget: boolean): void => {
    const key = norm(s.checkpoint);
    let p = byKey.get(key);
    if (!p) {
      p = {
        label: '',
        names: [],
        checkpoint: s.checkpoint,
        segments: Array.isArray(s.segments) ? s.segments.length : 0,
        blocks: Array.isArray(s.segments) ? s.segments.reduce((n, [first, last]) => n + last - first + 1, 0) : 0,
        recomputePct: (s.recompute_fraction ?? 0) * 100,
        peakActMB: s.peak_act_bytes / 1e6,
        peakActBytes: s.peak_act_bytes,
        peakBytes: s.peak_bytes,
        sqrt: false,
        budget: false,
        run: false,
      };
      byKey.set(key, p);
    }
    if (!p.names.includes(s.name)) p.names.push(s.name);
    if (s.name === 'sqrt') p.sqrt = true;
    if (budget) p.budget = true;
  };
  for (const s of plan.schedules) add(s, false);
  if (plan.budget?.plan) add(plan.budget.plan, true);
  const points = [...byKey.values()];
  const want = runPlan !== undefined ? norm(runPlan) : undefined;
  for (const p of points) {
    // sqrt first: it is the one the chart labels.
    p.names.sort((a, b) => Number(b === 'sqrt') - Number(a === 'sqrt'));
    p.label = p.names.join(' / ');
    p.run = want !== undefined && norm(p.checkpoint) === want;
  }
  points.sort((a, b) => a.segments - b.segments || a.recomputePct - b.recomputePct || b.peakActBytes - a.peakActBytes);
  const budget = plan.budget;
  return {
    points,
    budgetMB: budget && Number.isFinite(budget.bytes) ? budget.bytes / 1e6 : null,
    budgetFits: budget ? budget.fits : null,
  };
}

/** What a point is besides a schedule: sqrt(L), the budget's plan, the run's own plan. */
export function pointTags(p: Pick<CurvePoint, 'sqrt' | 'budget' | 'run'>): string[] {
  return [p.sqrt ? 'sqrt(L)' : '', p.budget ? 'budget plan' : '', p.run ? 'this run' : ''].filter(Boolean);
}

/**
 * The recompute every checkpointed schedule of the curve shares, when there
 * are two or more and they all recompute the same: the planner's fraction
 * is the FLOPs of one forward of each checkpointed block over a step's
 * (forward and backward, three forwards' worth, of every block and the LM
 * head), so schedules that checkpoint the same number of blocks recompute
 * the same however they group them. Null when they differ.
 */
export function sharedRecompute(curve: Pick<CheckpointCurve, 'points'>): { pct: number; blocks: number } | null {
  const [first, ...rest] = curve.points.filter((p) => p.segments > 0);
  if (!first || !rest.length) return null;
  // Sums of the same FLOPs in another order may differ in the last bits.
  const same = (p: CurvePoint) => p.blocks === first.blocks && Math.abs(p.recomputePct - first.recomputePct) <= 1e-9 * first.recomputePct;
  return rest.every(same) ? { pct: first.recomputePct, blocks: first.blocks } : null;
}
