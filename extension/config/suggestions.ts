// What the editor offers to change in a `.train` config, each with its
// predicted effect from the trainer's own planner (the addon's analyze()):
// mixed precision, activation checkpointing, a checkpoint plan that fits a
// memory budget, gradient accumulation; and the warnings that go with them
// (the last run went over the budget; no plan fits the config's own
// `checkpoint budget`). A title names the edit as the file will read
// (`Set checkpoint sqrt (…)`), so what the user picks is what they then
// see written; and it promises numbers, so they come from the same models
// the trainer runs, never from estimates made here; this file only words
// them, from one analysis of the text.
// No `vscode` import: codeActions.ts turns these into editor objects.
import type { ResolvedConfig } from '../../common/config';
import type { PlanReport, PlanSchedule } from '../../common/events/schema';
import { formatBytes } from '../../common/format';
import { setKeyEdits, type TextEdit } from './edits';
import { findKey, findKeyLine, findSectionLine } from './outline';
import type { Analysis, Outline } from '../native/addon';
import { type Range, splitLines } from '../native/positions';

type ActionId =
  | 'budget'
  | 'configBudget'
  | 'raiseBudget'
  | 'leastPlan'
  | 'precision'
  | 'attention'
  | 'checkpoint'
  | 'accumulate'
  | 'accumulateFit'
  | 'noiseScale';

/** The `[train]` key an action is about. */
type ActionKey = 'precision' | 'attention' | 'checkpoint' | 'accumulate';

export interface ConfigAction {
  id: ActionId;
  key: ActionKey;
  title: string;
  /** Empty when disabled. */
  edits: TextEdit[];
  /** Why it cannot be applied: shown as a disabled action. */
  disabled?: string;
  /** 0-based lines the action is offered on: its keys' lines, or where they would go. */
  lines: number[];
  /** The planner's prediction after the edit. */
  predicted?: { peak_bytes: number; peak_act_bytes: number };
  /** The edit brings the predicted peak within the memory budget setting. */
  fitsBudget?: boolean;
}

type ConfigDiagnosticCode = 'over-budget' | 'budget-unfit';

interface ConfigDiagnostic {
  code: ConfigDiagnosticCode;
  range: Range;
  message: string;
}

/** What TrainScope knows of a config's last run (runFacts.ts reads it). */
export interface LastRunFacts {
  /** The run folder's name. */
  id: string;
  dir: string;
  /** The summary's measured peak, when the run wrote a full summary. */
  peakBytes?: number;
  /** The last step record's `suggested_accumulate` (gradient noise scale). */
  suggestedAccumulate?: number;
  /** The run record's resolved config, to tell whether the run still describes the text. */
  config?: ResolvedConfig;
}

export interface InsightsInput {
  text: string;
  /** The addon's analysis of `text`, made with `budgetBytes` as its memory budget. */
  analysis: Analysis;
  /** `trainscope.memoryBudget` in bytes: the memory a whole run may use. */
  budgetBytes: number | null;
  lastRun?: LastRunFacts;
}

export interface ConfigInsights {
  /** Undefined when the config has errors (the parser's diagnostics say which). */
  config?: ResolvedConfig;
  plan?: PlanReport;
  actions: ConfigAction[];
  diagnostics: ConfigDiagnostic[];
}

const MINUS = '\u2212';

/** "about +33% step time": recompute as a share of a step's FLOPs. */
export function stepTimePercent(recomputeFraction: number): number {
  return Math.round(recomputeFraction * 100);
}

/** The message when no checkpoint plan fits a budget. */
export function noPlanFitsMessage(budget: number, smallest: number): string {
  return `no checkpoint plan fits ${formatBytes(budget)}: the smallest is ${formatBytes(smallest)}`;
}

// Keys whose values set a run's memory: a run made with other values no
// longer describes the config, so its measurements say nothing about it.
const MEMORY_KEYS: Record<string, readonly string[] | 'all'> = {
  model: 'all',
  train: ['batch', 'precision', 'attention', 'checkpoint', 'accumulate', 'device'],
  parallel: ['ranks'],
};

/** Whether a run made with `runConfig` used the memory-relevant values of `config`. */
export function runDescribesConfig(runConfig: ResolvedConfig | undefined, config: ResolvedConfig): boolean {
  if (!runConfig) return false;
  const sections = runConfig as unknown as Partial<Record<string, Record<string, unknown>>>;
  for (const [section, keys] of Object.entries(MEMORY_KEYS)) {
    const want = config[section] as Record<string, unknown> | undefined;
    const got = sections[section];
    if (!want || !got) return false;
    for (const k of keys === 'all' ? Object.keys(want) : keys) {
      if (JSON.stringify(want[k]) !== JSON.stringify(got[k])) return false;
    }
  }
  return true;
}

/** The lines an action on `keys` is offered on: the keys' own lines, else the `[train]` header and the top of the file. */
function offerLines(outline: Outline, keys: readonly string[]): number[] {
  const set = keys.map((k) => findKeyLine(outline, 'train', k)).filter((l): l is number => l !== undefined);
  if (set.length) return set;
  const header = findSectionLine(outline, 'train');
  return header === undefined || header === 0 ? [0] : [header, 0];
}

/** The range of a key line from its key to the end of its value. */
function keyLineRange(outline: Outline, section: string, key: string): Range | undefined {
  const k = findKey(outline, section, key);
  if (!k) return undefined;
  return { start: { line: k.line, character: k.start }, end: { line: k.line, character: Math.max(k.end, k.valueEnd) } };
}

function valueRange(outline: Outline, section: string, key: string): Range | undefined {
  const k = findKey(outline, section, key);
  if (!k || k.valueStart === k.valueEnd) return keyLineRange(outline, section, key);
  return { start: { line: k.line, character: k.valueStart }, end: { line: k.line, character: k.valueEnd } };
}

/**
 * Where the over-budget warning goes: the `batch` line (the number that
 * scales activations), else the `[model]` header (the model's size), else
 * `[train]`, else the first line.
 */
function overBudgetRange(lines: readonly string[], outline: Outline): Range {
  const batch = keyLineRange(outline, 'train', 'batch');
  if (batch) return batch;
  const header = findSectionLine(outline, 'model') ?? findSectionLine(outline, 'train') ?? 0;
  return { start: { line: header, character: 0 }, end: { line: header, character: lines[header]?.length ?? 0 } };
}

/**
 * For a `checkpoint budget` that no plan fits: the disabled "Fit in" that
 * says why, and the two ways out the planner worked out: raise the budget
 * to the least any plan fits, or write that least-activation plan itself.
 */
function unfitBudgetActions(input: InsightsInput, plan: PlanReport, lines: number[]): ConfigAction[] {
  const { text, analysis } = input;
  const b = plan.budget;
  if (!b || b.fits) return [];
  const actions: ConfigAction[] = [
    {
      id: 'configBudget',
      key: 'checkpoint',
      title: `Fit in ${formatBytes(b.bytes)}: no checkpoint plan fits`,
      edits: [],
      disabled: noPlanFitsMessage(b.bytes, b.min_budget),
      lines,
    },
  ];
  if (b.raise) {
    const r = b.raise;
    actions.push({
      id: 'raiseBudget',
      key: 'checkpoint',
      // What is written is the budget; the plan it resolves to is named as
      // the planner's pick, so the title names no second `checkpoint` value.
      title: `Set checkpoint budget ${r.size}, the least any plan fits (the planner picks ${r.plan.checkpoint}, about +${stepTimePercent(r.plan.recompute_fraction)}% step time)`,
      edits: setKeyEdits(text, 'train', [['checkpoint', `budget ${r.size}`]], analysis.outline),
      lines,
      predicted: { peak_bytes: r.plan.peak_bytes, peak_act_bytes: r.plan.peak_act_bytes },
    });
  }
  if (b.least) {
    const least = b.least;
    actions.push({
      id: 'leastPlan',
      key: 'checkpoint',
      title: `Set checkpoint ${least.checkpoint}: the least activation memory (${formatBytes(least.peak_act_bytes)}, about +${stepTimePercent(least.recompute_fraction)}% step time)`,
      edits: setKeyEdits(text, 'train', [['checkpoint', least.checkpoint]], analysis.outline),
      lines,
      predicted: { peak_bytes: least.peak_bytes, peak_act_bytes: least.peak_act_bytes },
    });
  }
  return actions;
}

/**
 * Every action the planner supports for this config, and its warnings.
 * A config with errors gets none (the planner needs a valid config, and the
 * parser's diagnostics come first), except the fixes for a checkpoint
 * budget that no plan fits.
 */
export function configInsights(input: InsightsInput): ConfigInsights {
  const { text, analysis, budgetBytes } = input;
  const { outline } = analysis;
  const lines = splitLines(text);
  // Edits at the parser's spans; every other byte of the file stays.
  const set = (values: ReadonlyArray<readonly [string, string]>): TextEdit[] => setKeyEdits(text, 'train', values, outline);
  if (!analysis.ok || !analysis.config) {
    // A checkpoint budget no plan fits is the planner's error; the fixes
    // for it are the planner's too, which still plans such a config.
    const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
    const plan = analysis.plan;
    if (errors.length === 0 || errors.some((d) => d.key !== 'train.checkpoint') || !plan?.budget || plan.budget.fits) {
      return { actions: [], diagnostics: [] };
    }
    return { plan, actions: unfitBudgetActions(input, plan, offerLines(outline, ['checkpoint'])), diagnostics: [] };
  }
  const config = analysis.config;
  const plan = analysis.plan;
  if (!plan) return { config, actions: [], diagnostics: [] };
  const actions: ConfigAction[] = [];
  const diagnostics: ConfigDiagnostic[] = [];
  const train = config.train;
  const pct = (s: PlanSchedule): string => `about +${stepTimePercent(s.recompute_fraction)}% step time`;
  const fits = (peak: number): boolean | undefined => (budgetBytes === null ? undefined : peak <= budgetBytes);
  const checkpointLines = offerLines(outline, ['checkpoint']);

  const lastRun = input.lastRun;
  const runApplies = lastRun !== undefined && runDescribesConfig(lastRun.config, config);
  const measured = runApplies ? lastRun.peakBytes : undefined;
  // Over budget by the prediction, or by what the last run of these values measured.
  const overBudget =
    budgetBytes !== null && (plan.prediction.peak_bytes > budgetBytes || (measured !== undefined && measured > budgetBytes));

  // A plan for the memory budget setting (a whole-run peak).
  let budgetUnfit: string | undefined;
  if (overBudget && budgetBytes !== null && plan.fit?.bytes === budgetBytes) {
    const fit = plan.fit;
    if (fit.fits && fit.plan) {
      const s = fit.plan;
      actions.push({
        id: 'budget',
        key: 'checkpoint',
        title: `Fit in ${formatBytes(budgetBytes)}: set checkpoint ${s.checkpoint} (peak ${formatBytes(s.peak_bytes)}, ${pct(s)})`,
        edits: set([['checkpoint', s.checkpoint]]),
        lines: checkpointLines,
        predicted: { peak_bytes: s.peak_bytes, peak_act_bytes: s.peak_act_bytes },
        fitsBudget: true,
      });
    } else {
      budgetUnfit = noPlanFitsMessage(budgetBytes, fit.smallest ?? 0);
      actions.push({
        id: 'budget',
        key: 'checkpoint',
        title: `Fit in ${formatBytes(budgetBytes)}: no checkpoint plan fits`,
        edits: [],
        disabled: budgetUnfit,
        lines: checkpointLines,
      });
    }
  }

  // The config's own `checkpoint budget SIZE` (an activation budget, as the trainer reads it).
  if (plan.budget && train.checkpoint.startsWith('budget')) {
    const b = plan.budget;
    if (b.fits && b.plan) {
      actions.push({
        id: 'configBudget',
        key: 'checkpoint',
        title: `Fit in ${formatBytes(b.bytes)}: set checkpoint ${b.plan.checkpoint} (activations ${formatBytes(b.plan.peak_act_bytes)}, ${pct(b.plan)})`,
        edits: set([['checkpoint', b.plan.checkpoint]]),
        lines: checkpointLines,
        predicted: { peak_bytes: b.plan.peak_bytes, peak_act_bytes: b.plan.peak_act_bytes },
        fitsBudget: fits(b.plan.peak_bytes),
      });
    } else {
      // Only an addon whose parser does not check budgets gets here; a
      // newer one reports this as the parser's own error.
      actions.push(...unfitBudgetActions(input, plan, checkpointLines));
      const range = valueRange(outline, 'train', 'checkpoint');
      if (range) diagnostics.push({ code: 'budget-unfit', range, message: `train.checkpoint: ${noPlanFitsMessage(b.bytes, b.min_budget)}` });
    }
  }

  // Mixed precision: activations stored in 16 bits.
  if (train.precision === 'fp32') {
    const fp32 = plan.precisions.find((p) => p.precision === 'fp32');
    const bf16 = plan.precisions.find((p) => p.precision === 'bf16');
    if (fp32 && bf16 && bf16.peak_act_bytes < fp32.peak_act_bytes) {
      actions.push({
        id: 'precision',
        key: 'precision',
        title: `Set precision bf16 (mixed precision: activations ${MINUS}${formatBytes(fp32.peak_act_bytes - bf16.peak_act_bytes)})`,
        edits: set([['precision', 'bf16']]),
        lines: offerLines(outline, ['precision']),
        predicted: { peak_bytes: bf16.peak_bytes, peak_act_bytes: bf16.peak_act_bytes },
        fitsBudget: fits(bf16.peak_bytes),
      });
    }
  }

  // Fused attention on the GPU: each query's log-sum-exp kept instead of
  // the T x T probabilities, which backward recomputes.
  if (train.attention === 'materialized') {
    const kept = plan.attention?.find((a) => a.attention === 'materialized');
    const fused = plan.attention?.find((a) => a.attention === 'fused');
    if (kept && fused && fused.peak_act_bytes < kept.peak_act_bytes) {
      actions.push({
        id: 'attention',
        key: 'attention',
        title: `Set attention fused (on the GPU: activations ${MINUS}${formatBytes(kept.peak_act_bytes - fused.peak_act_bytes)}; backward recomputes the probabilities)`,
        edits: set([['attention', 'fused']]),
        lines: offerLines(outline, ['attention']),
        predicted: { peak_bytes: fused.peak_bytes, peak_act_bytes: fused.peak_act_bytes },
        fitsBudget: fits(fused.peak_bytes),
      });
    }
  }

  // Checkpoint every ceil(sqrt(L)) blocks: the classic memory/recompute balance.
  if (train.checkpoint === 'none') {
    const none = plan.schedules.find((s) => s.name === 'none');
    const sqrt = plan.schedules.find((s) => s.name === 'sqrt');
    if (none && sqrt && sqrt.peak_act_bytes < none.peak_act_bytes) {
      // `sqrt` is written (it stays sqrt(L) if the layers change); what it
      // means for this config is the planner's `every K` with the same
      // segments, or its segments themselves.
      const every = plan.schedules.find((s) => s.name.startsWith('every ') && s.checkpoint === sqrt.checkpoint);
      const L = config.model.layers;
      const shape = every ? `${every.name} of ${L} layer${L === 1 ? '' : 's'}` : sqrt.checkpoint;
      actions.push({
        id: 'checkpoint',
        key: 'checkpoint',
        title: `Set checkpoint sqrt (${shape}: activations ${MINUS}${formatBytes(none.peak_act_bytes - sqrt.peak_act_bytes)}, ${pct(sqrt)})`,
        edits: set([['checkpoint', 'sqrt']]),
        lines: checkpointLines,
        predicted: { peak_bytes: sqrt.peak_bytes, peak_act_bytes: sqrt.peak_act_bytes },
        fitsBudget: fits(sqrt.peak_bytes),
      });
    }
  }

  // Accumulation at the same global batch: smaller micro-batches, fewer activations.
  const accLines = offerLines(outline, ['accumulate', 'batch']);
  const current = plan.accumulate.find((a) => a.accumulate === train.accumulate);
  if (current) {
    const larger = plan.accumulate.filter((a) => a.accumulate > train.accumulate).sort((a, b) => a.accumulate - b.accumulate);
    const offer = (id: ActionId, a: (typeof larger)[number]): void => {
      actions.push({
        id,
        key: 'accumulate',
        title: `Set batch ${a.batch}, accumulate ${a.accumulate} (same global batch: activations ${MINUS}${formatBytes(current.peak_act_bytes - a.peak_act_bytes)})`,
        edits: set([
          ['batch', String(a.batch)],
          ['accumulate', String(a.accumulate)],
        ]),
        lines: accLines,
        predicted: { peak_bytes: a.peak_bytes, peak_act_bytes: a.peak_act_bytes },
        fitsBudget: fits(a.peak_bytes),
      });
    };
    const next = larger[0];
    if (next) offer('accumulate', next);
    // Over budget: also the least accumulation that fits, when the next does not.
    if (overBudget && budgetBytes !== null && next && next.peak_bytes > budgetBytes) {
      const fit = larger.find((a) => a.peak_bytes <= budgetBytes);
      if (fit) offer('accumulateFit', fit);
    }
  }

  // The gradient noise scale of the last run: a bigger global batch would
  // still pay off, so accumulate more of the same micro-batch. Its
  // suggestion counts ranks × batch × accumulate, so it holds only while
  // batch and ranks are those of the run.
  const suggested = lastRun?.suggestedAccumulate;
  if (
    suggested !== undefined &&
    suggested > train.accumulate &&
    lastRun?.config?.train?.batch === train.batch &&
    lastRun.config.parallel?.ranks === config.parallel.ranks
  ) {
    actions.push({
      id: 'noiseScale',
      key: 'accumulate',
      title: `Set accumulate ${suggested} (the last run's gradient noise scale suggests it)`,
      edits: set([['accumulate', String(suggested)]]),
      lines: accLines,
    });
  }

  if (budgetBytes !== null && measured !== undefined && measured > budgetBytes && lastRun) {
    let message = `The last run (${lastRun.id}) peaked at ${formatBytes(measured)}, above the memory budget of ${formatBytes(budgetBytes)} (trainscope.memoryBudget)`;
    if (budgetUnfit) message += `; ${budgetUnfit}`;
    diagnostics.push({ code: 'over-budget', range: overBudgetRange(lines, outline), message });
  }

  // A change to what the config already says is no change (the budget
  // plan may be the config's own explicit plan).
  return { config, plan, actions: actions.filter((a) => a.disabled !== undefined || a.edits.length > 0), diagnostics };
}

/**
 * Markdown for a hover on `precision`, `attention`, `checkpoint` or `accumulate`: the
 * planner's prediction for each choice, the config's own marked.
 */
export function predictionNotes(plan: PlanReport, config: ResolvedConfig, key: string): string | undefined {
  const mark = (b: boolean): string => (b ? ' ←' : '');
  switch (key) {
    case 'precision': {
      const rows = plan.precisions.map(
        (p) => `| ${p.precision}${mark(p.precision === config.train.precision)} | ${formatBytes(p.peak_act_bytes)} | ${formatBytes(p.peak_bytes)} |`,
      );
      return ['Predicted:', '', '| precision | activations | peak |', '| --- | --- | --- |', ...rows].join('\n');
    }
    case 'checkpoint': {
      // The config's own schedule: by name (none, sqrt, every K), or the
      // first schedule with the same explicit layers.
      const setting = config.train.checkpoint;
      let marked = false;
      const current = (s: PlanSchedule): boolean => {
        const hit = !marked && (s.name === setting || (setting.startsWith('layers') && s.checkpoint === setting));
        if (hit) marked = true;
        return hit;
      };
      const rows = plan.schedules.map(
        (s) =>
          `| ${s.name}${mark(current(s))} | ${s.checkpoint} | ${formatBytes(s.peak_act_bytes)} | ${formatBytes(s.peak_bytes)} | +${stepTimePercent(s.recompute_fraction)}% |`,
      );
      if (plan.budget?.plan) {
        const b = plan.budget.plan;
        rows.push(
          `| budget ${formatBytes(plan.budget.bytes)}${mark(setting.startsWith('budget'))} | ${b.checkpoint} | ${formatBytes(b.peak_act_bytes)} | ${formatBytes(b.peak_bytes)} | +${stepTimePercent(b.recompute_fraction)}% |`,
        );
      }
      return ['Predicted:', '', '| schedule | plan | activations | peak | step time |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
    }
    case 'attention': {
      if (!plan.attention?.length) return undefined;
      const rows = plan.attention.map(
        (a) => `| ${a.attention}${mark(a.attention === config.train.attention)} | ${formatBytes(a.peak_act_bytes)} | ${formatBytes(a.peak_bytes)} |`,
      );
      return ['Predicted on the GPU:', '', '| attention | activations | peak |', '| --- | --- | --- |', ...rows].join('\n');
    }
    case 'accumulate': {
      const rows = plan.accumulate.map(
        (a) => `| ${a.accumulate}${mark(a.accumulate === config.train.accumulate)} | ${a.batch} | ${formatBytes(a.peak_act_bytes)} | ${formatBytes(a.peak_bytes)} |`,
      );
      return ['Predicted, same global batch:', '', '| accumulate | batch | activations | peak |', '| --- | --- | --- | --- |', ...rows].join('\n');
    }
    default:
      return undefined;
  }
}
