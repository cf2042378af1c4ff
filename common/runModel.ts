// The compact, serialisable model of one run that the host builds from the
// event stream and the webview draws: steps and evals as columns of numbers
// (a run of 10^5+ steps must not become 10^5 objects), per-layer records,
// aggregated layer timings and a bounded sample of spans. Live runs grow it
// incrementally and ship only what changed (`RunDelta`).
//
//
// No `vscode` and no Node import: the webview bundle and the report use the
// types and `applyDelta`; the host's builder (extension/runs/runModelBuilder.ts)
// makes the model.
import { type LayerRecord, type RunRecord, STEP_PHASES, type SummaryRecord } from './events/schema';
import type { PackedBars, TimelineBars } from './timelineBars';

/** `live` while the trainer runs; `incomplete`: it ended without a summary (killed). */
type RunStatus = 'live' | 'completed' | 'interrupted' | 'failed' | 'incomplete';

export const RUN_STATUSES: readonly RunStatus[] = ['live', 'completed', 'interrupted', 'failed', 'incomplete'];


export interface StepColumns {
  step: number[];
  /** null where the stream has null (a non-finite loss). */
  loss: (number | null)[];
  lr: number[];
  gradNorm: (number | null)[];
  ms: number[];
  tokensPerS: number[];
  liveBytes: number[];
  peakBytes: number[];
  /** Names of the `phaseMs` columns. */
  phaseNames: string[];
  /** phaseMs[p][row]: milliseconds of phase phaseNames[p] in that step (0 when the step lacks it). */
  phaseMs: number[][];
}

export interface EvalColumns {
  step: number[];
  valLoss: (number | null)[];
}

/** Mean per-layer time of each span phase over every sampled step. */
export interface LayerTime {
  phases: string[];
  /**
   * meanMs[p][layer]; 0 where a layer never ran that phase. The mean of the
   * sampled steps after the run's first: that one pays for first allocations
   * and warm-up (on a GPU, cuBLAS's set-up makes block 0's forward 10x its
   * usual time), as the step-time chart leaves step 1 out. Only while no
   * later sampled step has the (layer, phase) does the first one stand in.
   */
  meanMs: number[][];
  /** Sampled steps seen (all of them, not only those kept in `spans`). */
  sampledSteps: number;
}

/** The spans of one sampled step, as columns. */
export interface SpanSample {
  step: number;
  layer: number[];
  /** Index into `SpanSamples.phases`. */
  phase: number[];
  /** µs since the run started. */
  t0: number[];
  t1: number[];
}

export interface SpanSamples {
  phases: string[];
  /** An evenly thinned subset of the sampled steps (the first always kept). */
  samples: SpanSample[];
}

interface StreamProblems {
  /** All problems the parser met (bad lines, unknown types). */
  count: number;
  /** The first few messages. */
  messages: string[];
}

export interface RunModel {
  /** The run folder's name. */
  id: string;
  status: RunStatus;
  run: RunRecord | null;
  /** By index. */
  layers: LayerRecord[];
  steps: StepColumns;
  evals: EvalColumns;
  layerTime: LayerTime;
  spans: SpanSamples;
  summary: SummaryRecord | null;
  /** Messages of the stream's error records. */
  errors: string[];
  streamProblems: StreamProblems;
  /**
   * Data-parallel runs only (run record `ranks` > 1): every rank's spans and
   * all-reduces of the sampled steps kept in `spans`. Live, deltas carry
   * the samples that grew.
   */
  timeline?: RankTimeline;
}

/** Bar kinds of a timeline sample. */
export const BAR_SPAN = 0;
export const BAR_COMM = 1;

/**
 * One sampled step of every rank: its bars (spans and all-reduces) as
 * columns, and per rank the step record's figures.
 */
export interface TimelineSample {
  step: number;
  /**
   * Typed columns in the host; they serialise packed (common/timelineBars.ts)
   * and the view decodes a sample's bars when it shows them (`barColumns`).
   * Per bar: `rank`; `kind` BAR_SPAN or BAR_COMM; `t0`/`t1` µs since rank
   * 0's run start (aligned clocks); `tag` the span's phase index (into
   * `RankTimeline.phases`) or the comm's bucket; `value` the span's layer or
   * the bucket's bytes; `algbw`/`busbw` the comm's GB/s (10^9), 0 for spans.
   */
  bars: TimelineBars | PackedBars;
  /** Per rank (index = rank), from its step record; null until seen. */
  stepT0: (number | null)[];
  stepT1: (number | null)[];
  commMs: (number | null)[];
  exposedMs: (number | null)[];
  overlap: (number | null)[];
}

export interface RankTimeline {
  ranks: number;
  /** Span phase names (the `tag` of span bars). */
  phases: string[];
  samples: TimelineSample[];
}

/** What changed since a cursor; spans are not shipped live (only in full models). */
export interface RunDelta {
  id: string;
  status: RunStatus;
  run?: RunRecord;
  layers?: LayerRecord[];
  /** Rows from index `from` on; `columns.phaseNames` lists every phase known so far. */
  steps?: { from: number; columns: StepColumns };
  evals?: { from: number; columns: EvalColumns };
  layerTime?: LayerTime;
  summary?: SummaryRecord;
  errors?: string[];
  streamProblems?: StreamProblems;
  /**
   * Data-parallel runs: the sampled steps the timeline keeps, in order, and
   * the samples that are new or grew (other ranks' records arrive later).
   */
  timeline?: TimelineDelta;
}

interface TimelineDelta {
  ranks: number;
  phases: string[];
  steps: number[];
  samples: TimelineSample[];
}

/** Where a consumer of deltas stands. Opaque to callers. */
export interface DeltaCursor {
  steps: number;
  evals: number;
  layersVersion: number;
  layerTimeVersion: number;
  runSent: boolean;
  summarySent: boolean;
  errors: number;
  streamProblems: number;
  status: RunStatus | undefined;
  /** Per timeline sample (by step): the version sent. */
  timeline: Map<number, number>;
}

function emptyStepColumns(): StepColumns {
  return { step: [], loss: [], lr: [], gradNorm: [], ms: [], tokensPerS: [], liveBytes: [], peakBytes: [], phaseNames: [], phaseMs: [] };
}

export function emptyModel(id: string, status: RunStatus = 'incomplete'): RunModel {
  return {
    id,
    status,
    run: null,
    layers: [],
    steps: emptyStepColumns(),
    evals: { step: [], valLoss: [] },
    layerTime: { phases: [], meanMs: [], sampledSteps: 0 },
    spans: { phases: [], samples: [] },
    summary: null,
    errors: [],
    streamProblems: { count: 0, messages: [] },
  };
}

// Adds a phase column (zeros for the rows before it appeared) at its
// canonical position (schema order; phases a later trainer adds come after
// those, as first seen), and returns its index.
export function insertPhase(s: StepColumns, name: string, rows: number): number {
  const rank = (n: string): number => {
    const k = (STEP_PHASES as readonly string[]).indexOf(n);
    return k === -1 ? STEP_PHASES.length : k;
  };
  let at = s.phaseNames.length;
  if (rank(name) < STEP_PHASES.length) {
    at = s.phaseNames.findIndex((n) => rank(n) > rank(name));
    if (at === -1) at = s.phaseNames.length;
  }
  s.phaseNames.splice(at, 0, name);
  s.phaseMs.splice(at, 0, new Array<number>(rows).fill(0));
  return at;
}

function append<T>(to: T[], from: readonly T[]): void {
  for (const x of from) to.push(x);
}

/**
 * Applies a delta to a model that has everything before it. Returns false,
 * changing nothing, when the delta does not continue this model (a lost
 * message): the caller should ask for the whole model again.
 */
export function applyDelta(m: RunModel, d: RunDelta): boolean {
  if (d.id !== m.id) return false;
  if (d.steps && d.steps.from !== m.steps.step.length) return false;
  if (d.evals && d.evals.from !== m.evals.step.length) return false;
  let timeline: RankTimeline | undefined;
  if (d.timeline) {
    // Kept samples come from the delta or from what the model has.
    const byStep = new Map((m.timeline?.samples ?? []).map((x) => [x.step, x]));
    for (const x of d.timeline.samples) byStep.set(x.step, x);
    const samples = d.timeline.steps.map((step) => byStep.get(step));
    if (samples.some((x) => x === undefined)) return false;
    timeline = { ranks: d.timeline.ranks, phases: d.timeline.phases, samples: samples as TimelineSample[] };
  }
  if (timeline) m.timeline = timeline;
  m.status = d.status;
  if (d.run) m.run = d.run;
  if (d.layers) m.layers = d.layers;
  if (d.steps) {
    const s = m.steps;
    const c = d.steps.columns;
    const rows = s.step.length;
    for (const name of c.phaseNames) if (!s.phaseNames.includes(name)) insertPhase(s, name, rows);
    append(s.step, c.step);
    append(s.loss, c.loss);
    append(s.lr, c.lr);
    append(s.gradNorm, c.gradNorm);
    append(s.ms, c.ms);
    append(s.tokensPerS, c.tokensPerS);
    append(s.liveBytes, c.liveBytes);
    append(s.peakBytes, c.peakBytes);
    s.phaseNames.forEach((name, p) => {
      const src = c.phaseNames.indexOf(name);
      if (src !== -1) append(s.phaseMs[p], c.phaseMs[src]);
      else for (let i = 0; i < c.step.length; i++) s.phaseMs[p].push(0);
    });
  }
  if (d.evals) {
    append(m.evals.step, d.evals.columns.step);
    append(m.evals.valLoss, d.evals.columns.valLoss);
  }
  if (d.layerTime) m.layerTime = d.layerTime;
  if (d.summary) m.summary = d.summary;
  if (d.errors) m.errors = d.errors;
  if (d.streamProblems) m.streamProblems = d.streamProblems;
  return true;
}
