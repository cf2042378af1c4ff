// The trainer's event stream (docs/events.md): record types, a validator and
// an incremental JSON Lines parser. No `vscode` import: the extension host,
// the webview and plain-Node tests all use this module.

export const SCHEMA_VERSION = 1;

/** Record types schema 1 defines. */
export const RECORD_TYPES = ['run', 'layer', 'step', 'eval', 'span', 'comm', 'save', 'summary', 'error'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** Names later trainer versions will use; their fields are not defined yet. */
export const RESERVED_RECORD_TYPES = ['checkpoint'] as const;

/** Per-category byte counts of one layer (measured or predicted). */
export interface LayerBytes {
  param: number;
  grad: number;
  optim: number;
  /** Activation bytes the layer holds when the forward pass ends (what checkpointing shrinks). */
  act: number;
  /**
   * The layer's largest live activation bytes (its forward, or its recompute
   * in backward). Equals `act` for a layer that is not checkpointed. Absent
   * in streams of trainers that predate checkpointing.
   */
  act_peak?: number;
  workspace: number;
}

export interface PredictedLayer {
  name: string;
  /** Elements, not bytes. */
  params: number;
  /** Absent in streams of trainers that predate checkpointing. */
  checkpointed?: boolean;
  /** First block of a checkpoint segment. */
  segment_start?: boolean;
  bytes: LayerBytes;
}

/** The memory model's prediction, as in the run record and `--predict`. */
export interface MemoryPrediction {
  param: number;
  grad: number;
  optim: number;
  /** Activation bytes live when the forward pass ends (sum of the layers' `act`). */
  act_end_of_forward?: number;
  /** The step's peak of live activation bytes (a segment's forward or recompute may exceed the end of the forward pass). */
  peak_act_bytes: number;
  peak_workspace_bytes: number;
  peak_bytes: number;
  params: number;
  /** The checkpoint plan the prediction assumes, in config-language form: `"none"`, `"layers 0-1,2-3"`. */
  checkpoint?: string;
  /** Extra forward FLOPs per micro-batch that the plan's recompute costs. */
  recompute_flops?: number;
  /** FLOPs of one micro-batch's forward and backward without recompute. */
  step_flops?: number;
  /** Why the config's checkpoint setting could not be planned (then the plan is "none"). */
  error?: string;
  layers: PredictedLayer[];
}

/** One checkpoint schedule the planner evaluated (run record `plan.schedules`). */
export interface PlanSchedule {
  /** `"none"`, `"sqrt"`, `"every K"`, or `"budget"` for the budget's plan. */
  name: string;
  /** The schedule in config-language form: `"none"`, `"layers 0-2,3-5"`. */
  checkpoint: string;
  /** Checkpointed segments, as inclusive `[first, last]` layer indices. */
  segments: [number, number][];
  peak_act_bytes: number;
  peak_bytes: number;
  recompute_flops: number;
  /** Recompute FLOPs as a fraction of a step's FLOPs. */
  recompute_fraction: number;
}

/**
 * The planner's report on checkpoint schedules, precisions and accumulation
 * (run record `plan`; the addon's `analyze()` returns the same JSON).
 */
export interface PlanReport {
  prediction: MemoryPrediction;
  schedules: PlanSchedule[];
  /** The smallest peak activation memory any checkpoint plan reaches. */
  min_peak_act_bytes: number;
  /**
   * The config's own `checkpoint budget …`: its plan, or when none fits the
   * two ways out: the least budget any plan fits, in config-language form
   * (`raise`), and the least-activation plan (`least`).
   */
  budget?: {
    bytes: number;
    fits: boolean;
    min_budget: number;
    plan?: PlanSchedule;
    raise?: { size: string; bytes: number; plan: PlanSchedule };
    least?: PlanSchedule;
  };
  /**
   * The editor's memory budget (trainscope.memoryBudget, a whole-run peak):
   * the plan with the least recompute whose whole predicted peak fits, or
   * the smallest whole peak any plan reaches. Only from the addon's analyze().
   */
  fit?: { bytes: number; fits: boolean; plan?: PlanSchedule; smallest?: number };
  precisions: { precision: 'fp32' | 'bf16' | 'fp16'; peak_act_bytes: number; peak_bytes: number }[];
  /**
   * train.attention's layouts on the GPU (configs whose train.device is not
   * cpu; fused only where the shape allows it). Absent from older addons.
   */
  attention?: { attention: 'materialized' | 'fused'; peak_act_bytes: number; peak_bytes: number }[];
  /** Same global batch as K micro-batches of batch/K. */
  accumulate: { accumulate: number; batch: number; peak_act_bytes: number; peak_bytes: number }[];
}

export interface RunData {
  source: string;
  description: string;
  train_tokens: number;
  val_tokens: number;
  entropy_floor?: number;
}

/**
 * The resolved config echo. Sections hold every key of docs/config.md; they
 * are left loosely typed here so that a new config key never makes a stream
 * invalid.
 */
export interface RunConfigEcho {
  model: Record<string, unknown>;
  data: Record<string, unknown>;
  train: Record<string, unknown>;
  parallel: Record<string, unknown>;
}

/** The device a run trains on (run record `device_info`). */
export interface DeviceInfo {
  /** `"cpu"` or `"cuda"`; kept as string so a new kind is not an error. */
  type: string;
  /** What the config asked for: `"cpu"`, `"cuda"` or `"auto"`. */
  requested?: string;
  /** The GPU's name, or the CPU's. */
  name: string;
  /** Memory the device has (a GPU's from cudaMemGetInfo), bytes. */
  capacity_bytes: number;
  /** Memory free when the run started, bytes. */
  free_bytes?: number;
  /** e.g. "8.0" for a GPU. */
  compute_capability?: string;
  /** Why the run is not on the device asked for (`auto` fell back to the CPU). */
  note?: string;
}

export interface RunRecord {
  type: 'run';
  schema: number;
  trainscope: string;
  /** ISO 8601 UTC, to the second. */
  time: string;
  host: string;
  config_file: string;
  config: RunConfigEcho;
  model: string;
  params: number;
  ranks: number;
  /** `"cpu"` or `"cuda"`: what the run trains on (optional for readers). */
  device?: string;
  /** The device in full. Absent in streams of trainers that predate the CUDA backend. */
  device_info?: DeviceInfo;
  threads: number;
  blas: string;
  precision: string;
  /** The checkpoint plan the run uses, in config-language form (`"none"`, `"layers 0-1,2-3"`). */
  checkpoint?: string;
  /** Micro-batches per optimizer step (`train.accumulate`). */
  accumulate?: number;
  /** The planner's report (trainers that predate it write none). */
  plan?: PlanReport;
  /** Tokens per optimizer step: batch × context × accumulate × ranks. */
  tokens_per_step: number;
  data: RunData;
  layers: string[];
  predicted: MemoryPrediction;
  /**
   * µs per rank: its clock's offset from rank 0's, measured before the first
   * step and already subtracted from every time the rank writes (`[0]` with
   * one rank). Absent in streams of trainers that predate data parallelism.
   */
  clock_offsets_us?: number[];
  /** Data-parallel runs only: each rank's process id, by rank. */
  rank_pids?: number[];
  /** Data-parallel runs only: each rank's host name, by rank. */
  rank_hosts?: string[];
  /** Data-parallel runs only: the MPI library, as it names itself. */
  mpi?: string;
  /** Data-parallel runs only: `"mpi"`. */
  comm_backend?: string;
  /** Data-parallel runs only: gradient buckets per step. */
  buckets?: number;
  /** The checkpoint a `--resume` run started from, and the steps it held. */
  resumed_from?: { snapshot: string; step: number };
}

export interface LayerRecord {
  type: 'layer';
  index: number;
  name: string;
  kind: string;
  params: number;
  /** Whether the layer recomputes its forward in backward. */
  checkpointed: boolean;
  /** First block of a checkpoint segment. Absent in streams of trainers that predate checkpointing. */
  segment_start?: boolean;
  /** Measured: `act` when the forward pass ends, `act_peak` the layer's peak; the others their peaks. */
  bytes: LayerBytes;
  predicted: LayerBytes;
}

/** Milliseconds per phase of a step. */
export interface StepPhases {
  data: number;
  fwd: number;
  /** Backward without the recompute. */
  bwd: number;
  optim: number;
  /** Recomputing checkpointed blocks in backward; only when a checkpoint plan is active. */
  recompute?: number;
  /** Data-parallel runs only: waiting for the all-reduces and the per-step agreement after backward. */
  comm?: number;
}

/** A data-parallel step's communication (the step record's `comm`). */
export interface StepComm {
  /** Time the step's all-reduces took: the union of their intervals. */
  ms: number;
  /** The part of `ms` no compute covered. */
  exposed_ms: number;
  /** Percent of `ms` hidden behind compute, 0–100. */
  overlap: number;
}

export interface StepRecord {
  type: 'step';
  step: number;
  /** Data-parallel runs only: the rank whose step this is (every rank writes its own). */
  rank?: number;
  /** null: the trainer saw a non-finite loss (JSON has no NaN). */
  loss: number | null;
  lr: number;
  /** null: the gradient norm overflowed. */
  grad_norm: number | null;
  ms: number;
  tokens_per_s: number;
  /** µs since the run started: when the step began and ended. */
  t0?: number;
  t1?: number;
  /** Micro-batches of the step; only when > 1. */
  accumulate?: number;
  /** Gradient noise scale B_simple (sequences), McCandlish et al. 2018; when accumulate > 1, after ~10 steps. */
  noise_scale?: number;
  /** The accumulate the noise scale suggests (never below the current one); with noise_scale. */
  suggested_accumulate?: number;
  /** fp16 only: the loss scale this step's backward used. */
  loss_scale?: number;
  /** fp16 only: whether the update was skipped (gradient overflow). */
  skipped?: boolean;
  phases: StepPhases;
  /** Data-parallel runs only. */
  comm?: StepComm;
  mem: { live_bytes: number; peak_bytes: number };
}

export interface EvalRecord {
  type: 'eval';
  step: number;
  val_loss: number | null;
}

/**
 * Phases a span can have: `recompute` only under a checkpoint plan. `comm` is
 * reserved: the trainer reports all-reduces as `comm` records, not spans.
 */
export type SpanPhase = 'fwd' | 'bwd' | 'optim' | 'recompute' | 'comm';

export interface SpanRecord {
  type: 'span';
  rank: number;
  step: number;
  layer: number;
  name: string;
  /** A SpanPhase today; kept as string so a new phase is not an error. */
  phase: string;
  /** µs since the run started. */
  t0: number;
  t1: number;
}

/** One gradient bucket's all-reduce on one rank and step (data-parallel runs). */
export interface CommRecord {
  type: 'comm';
  rank: number;
  step: number;
  /** `"allreduce"` today; kept as string so a new operation is not an error. */
  op: string;
  /** Bucket index, 0 = the first reduced (the head's end of the model). */
  bucket: number;
  bytes: number;
  /** µs since rank 0's run start (the rank's clock aligned). */
  t0: number;
  t1: number;
  /** GB/s (10^9): bytes / (t1 − t0). */
  algbw: number;
  /** GB/s: algbw × 2(ranks − 1)/ranks. */
  busbw: number;
}

/** A checkpoint rank 0 wrote (`train.save_every`). */
export interface SaveRecord {
  type: 'save';
  /** The steps the checkpoint holds. */
  step: number;
  path: string;
  /** Parameters and optimizer state written. */
  bytes: number;
  ms: number;
}

export type SummaryStatus = 'completed' | 'interrupted' | 'failed';

/**
 * The summary. A run that fails before its model exists (bad data, a
 * checkpoint budget no plan fits, out of memory building the model) writes a
 * short one: `status` "failed", `steps` 0, `tokens` 0 and `wall_s`, and none
 * of the fields in SHORT_SUMMARY_OMITS, although they are typed as required
 * here (every other summary has them). Check {@link isShortSummary} before
 * reading them from a failed summary.
 */
export interface SummaryRecord {
  type: 'summary';
  status: SummaryStatus;
  steps: number;
  tokens: number;
  /** fp16 only: optimizer updates skipped on a gradient overflow. */
  skipped_steps?: number;
  /** fp16 only: the loss scale at the end of the run. */
  loss_scale?: number;
  first_loss?: number;
  final_loss?: number;
  final_val_loss?: number | null;
  ms_per_step: number;
  tokens_per_s: number;
  wall_s: number;
  peak_bytes: number;
  peak_act_bytes: number;
  peak_by_category: Record<string, number>;
  predicted_peak_bytes: number;
  predicted_peak_act_bytes: number;
  rss_peak_bytes: number;
}

/** The fields a short summary (a run that failed before it started) leaves out. */
export const SHORT_SUMMARY_OMITS = [
  'ms_per_step',
  'tokens_per_s',
  'peak_bytes',
  'peak_act_bytes',
  'peak_by_category',
  'predicted_peak_bytes',
  'predicted_peak_act_bytes',
  'rss_peak_bytes',
] as const;

/**
 * Whether a (validated) summary is the short one of a run that failed before
 * it started: its measurement fields (SHORT_SUMMARY_OMITS) are absent,
 * whatever the type says.
 */
export function isShortSummary(s: SummaryRecord): boolean {
  return (s as Partial<SummaryRecord>).peak_by_category === undefined;
}

export interface ErrorRecord {
  type: 'error';
  /** What went wrong, without the location prefix that the trainer's stderr line has. */
  message: string;
  /**
   * Where the error points: the config file as given on the command line, or
   * `"--set"` for an override (then `line` is the override's number). `file`,
   * `line` and `col` come together, or not at all.
   */
  file?: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column in bytes (docs/config.md, Diagnostics). */
  col?: number;
  /** The config key that explains the error, `"section.key"` (e.g. `"data.tokens"`), when one does. */
  key?: string;
  /** The training step that failed. */
  step?: number;
}

export type TrainerEvent =
  | RunRecord
  | LayerRecord
  | StepRecord
  | EvalRecord
  | SpanRecord
  | CommRecord
  | SaveRecord
  | SummaryRecord
  | ErrorRecord;

export type ValidationResult = { ok: true; event: TrainerEvent } | { ok: false; error: string };

// ---------------------------------------------------------------------------
// Validation. Each check returns undefined when the field is fine and an
// error message otherwise, so a record's checks chain with `??` and stop at
// the first problem without allocating anything on the happy path (the
// extension validates up to a million records per run).

type Obj = Record<string, unknown>;
type Check = string | undefined;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function bad(path: string, v: unknown, want: string): string {
  return v === undefined
    ? `missing required field "${path}"`
    : `field "${path}" must be ${want}, got ${describe(v)}`;
}

function num(o: Obj, k: string, p = ''): Check {
  const v = o[k];
  return Number.isFinite(v) ? undefined : bad(p + k, v, 'a finite number');
}

function numOrNull(o: Obj, k: string, p = ''): Check {
  const v = o[k];
  return v === null || Number.isFinite(v) ? undefined : bad(p + k, v, 'a finite number or null');
}

function nonNegative(o: Obj, k: string, p = ''): Check {
  const v = o[k];
  return Number.isFinite(v) && (v as number) >= 0 ? undefined : bad(p + k, v, 'a non-negative number');
}

/** Non-negative integer: counts, bytes, indices. */
function count(o: Obj, k: string, p = ''): Check {
  const v = o[k];
  return Number.isInteger(v) && (v as number) >= 0 ? undefined : bad(p + k, v, 'a non-negative integer');
}

function positive(o: Obj, k: string, p = ''): Check {
  const v = o[k];
  return Number.isInteger(v) && (v as number) >= 1 ? undefined : bad(p + k, v, 'a positive integer');
}

function str(o: Obj, k: string, p = ''): Check {
  const v = o[k];
  return typeof v === 'string' ? undefined : bad(p + k, v, 'a string');
}

function bool(o: Obj, k: string, p = ''): Check {
  const v = o[k];
  return typeof v === 'boolean' ? undefined : bad(p + k, v, 'a boolean');
}

function obj(o: Obj, k: string, p = ''): Check {
  const v = o[k];
  return isObj(v) ? undefined : bad(p + k, v, 'an object');
}

function optional(o: Obj, k: string, check: (o: Obj, k: string, p?: string) => Check, p = ''): Check {
  return o[k] === undefined ? undefined : check(o, k, p);
}

function layerBytes(o: Obj, k: string, p = ''): Check {
  const e = obj(o, k, p);
  if (e) return e;
  const b = o[k] as Obj;
  const q = `${p}${k}.`;
  return (
    count(b, 'param', q) ??
    count(b, 'grad', q) ??
    count(b, 'optim', q) ??
    count(b, 'act', q) ??
    optional(b, 'act_peak', count, q) ??
    count(b, 'workspace', q)
  );
}

function prediction(o: Obj, k: string): Check {
  const e = obj(o, k);
  if (e) return e;
  const pr = o[k] as Obj;
  const q = `${k}.`;
  const e2 =
    count(pr, 'param', q) ??
    count(pr, 'grad', q) ??
    count(pr, 'optim', q) ??
    count(pr, 'peak_act_bytes', q) ??
    count(pr, 'peak_workspace_bytes', q) ??
    count(pr, 'peak_bytes', q) ??
    count(pr, 'params', q) ??
    optional(pr, 'act_end_of_forward', count, q) ??
    optional(pr, 'checkpoint', str, q) ??
    optional(pr, 'recompute_flops', nonNegative, q) ??
    optional(pr, 'step_flops', nonNegative, q) ??
    optional(pr, 'error', str, q);
  if (e2) return e2;
  const layers = pr.layers;
  if (!Array.isArray(layers)) return bad(`${q}layers`, layers, 'an array');
  for (let i = 0; i < layers.length; i++) {
    const l: unknown = layers[i];
    const lp = `${q}layers[${i}]`;
    if (!isObj(l)) return bad(lp, l, 'an object');
    const e3 =
      str(l, 'name', `${lp}.`) ??
      count(l, 'params', `${lp}.`) ??
      optional(l, 'checkpointed', bool, `${lp}.`) ??
      optional(l, 'segment_start', bool, `${lp}.`) ??
      layerBytes(l, 'bytes', `${lp}.`);
    if (e3) return e3;
  }
  return undefined;
}

function arrayOf(o: Obj, k: string, each: (v: unknown) => boolean, want: string): Check {
  const v = o[k];
  if (!Array.isArray(v)) return bad(k, v, `an array of ${want}s`);
  for (let i = 0; i < v.length; i++) {
    if (!each(v[i])) return bad(`${k}[${i}]`, v[i], `a ${want}`);
  }
  return undefined;
}

function numArray(o: Obj, k: string): Check {
  return arrayOf(o, k, Number.isFinite, 'finite number');
}

function countArray(o: Obj, k: string): Check {
  return arrayOf(o, k, (v) => Number.isInteger(v) && (v as number) >= 0, 'non-negative integer');
}

function strArray(o: Obj, k: string): Check {
  return arrayOf(o, k, (v) => typeof v === 'string', 'string');
}

function resumedFrom(o: Obj, k: string): Check {
  const e = obj(o, k);
  if (e) return e;
  const f = o[k] as Obj;
  return str(f, 'snapshot', `${k}.`) ?? count(f, 'step', `${k}.`);
}

function deviceInfo(o: Obj, k: string): Check {
  const e = obj(o, k);
  if (e) return e;
  const d = o[k] as Obj;
  const q = `${k}.`;
  return (
    str(d, 'type', q) ??
    optional(d, 'requested', str, q) ??
    str(d, 'name', q) ??
    count(d, 'capacity_bytes', q) ??
    optional(d, 'free_bytes', count, q) ??
    optional(d, 'compute_capability', str, q) ??
    optional(d, 'note', str, q)
  );
}

/** What the run trains on, in a word or a name: a GPU's name, else `device`. */
export function deviceLabel(run: Pick<RunRecord, 'device' | 'device_info'>): string | undefined {
  const d = run.device_info;
  if (d) return d.type === 'cpu' || !d.name ? d.type : d.name;
  return run.device;
}

function validateRun(r: Obj): Check {
  const e =
    positive(r, 'schema') ??
    str(r, 'trainscope') ??
    str(r, 'time') ??
    str(r, 'host') ??
    str(r, 'config_file') ??
    obj(r, 'config') ??
    str(r, 'model') ??
    count(r, 'params') ??
    positive(r, 'ranks') ??
    optional(r, 'device', str) ??
    optional(r, 'device_info', deviceInfo) ??
    positive(r, 'threads') ??
    str(r, 'blas') ??
    str(r, 'precision') ??
    optional(r, 'checkpoint', str) ??
    optional(r, 'accumulate', positive) ??
    count(r, 'tokens_per_step') ??
    optional(r, 'clock_offsets_us', numArray) ??
    optional(r, 'rank_pids', countArray) ??
    optional(r, 'rank_hosts', strArray) ??
    optional(r, 'mpi', str) ??
    optional(r, 'comm_backend', str) ??
    optional(r, 'buckets', count) ??
    optional(r, 'resumed_from', resumedFrom) ??
    obj(r, 'data');
  if (e) return e;
  const c = r.config as Obj;
  const ec = obj(c, 'model', 'config.') ?? obj(c, 'data', 'config.') ?? obj(c, 'train', 'config.') ?? obj(c, 'parallel', 'config.');
  if (ec) return ec;
  const d = r.data as Obj;
  const ed =
    str(d, 'source', 'data.') ??
    str(d, 'description', 'data.') ??
    count(d, 'train_tokens', 'data.') ??
    count(d, 'val_tokens', 'data.') ??
    optional(d, 'entropy_floor', (o, k) => num(o, k, 'data.'));
  if (ed) return ed;
  const layers = r.layers;
  if (!Array.isArray(layers)) return bad('layers', layers, 'an array of strings');
  for (let i = 0; i < layers.length; i++) {
    if (typeof layers[i] !== 'string') return bad(`layers[${i}]`, layers[i], 'a string');
  }
  return prediction(r, 'predicted');
}

function validateLayer(r: Obj): Check {
  return (
    count(r, 'index') ??
    str(r, 'name') ??
    str(r, 'kind') ??
    count(r, 'params') ??
    bool(r, 'checkpointed') ??
    optional(r, 'segment_start', bool) ??
    layerBytes(r, 'bytes') ??
    layerBytes(r, 'predicted')
  );
}

function validateStep(r: Obj): Check {
  const e =
    positive(r, 'step') ??
    optional(r, 'rank', count) ??
    numOrNull(r, 'loss') ??
    num(r, 'lr') ??
    numOrNull(r, 'grad_norm') ??
    num(r, 'ms') ??
    num(r, 'tokens_per_s') ??
    optional(r, 't0', num) ??
    optional(r, 't1', num) ??
    optional(r, 'accumulate', positive) ??
    optional(r, 'noise_scale', num) ??
    optional(r, 'suggested_accumulate', positive) ??
    optional(r, 'loss_scale', num) ??
    optional(r, 'skipped', bool) ??
    obj(r, 'phases') ??
    optional(r, 'comm', stepComm) ??
    obj(r, 'mem');
  if (e) return e;
  const ph = r.phases as Obj;
  const m = r.mem as Obj;
  return (
    num(ph, 'data', 'phases.') ??
    num(ph, 'fwd', 'phases.') ??
    num(ph, 'bwd', 'phases.') ??
    num(ph, 'optim', 'phases.') ??
    optional(ph, 'recompute', num, 'phases.') ??
    optional(ph, 'comm', num, 'phases.') ??
    count(m, 'live_bytes', 'mem.') ??
    count(m, 'peak_bytes', 'mem.') ??
    ordered(r)
  );
}

function stepComm(o: Obj, k: string): Check {
  const e = obj(o, k);
  if (e) return e;
  const c = o[k] as Obj;
  const q = `${k}.`;
  return num(c, 'ms', q) ?? num(c, 'exposed_ms', q) ?? num(c, 'overlap', q);
}

// t1 >= t0 when both are there (spans, and steps since they carry times).
function ordered(r: Obj): Check {
  if (r.t0 === undefined && r.t1 === undefined) return undefined;
  if (r.t0 === undefined) return bad('t0', undefined, '');
  if (r.t1 === undefined) return bad('t1', undefined, '');
  return (r.t1 as number) >= (r.t0 as number) ? undefined : `"t1" (${String(r.t1)}) is before "t0" (${String(r.t0)})`;
}

function validateEval(r: Obj): Check {
  return positive(r, 'step') ?? numOrNull(r, 'val_loss');
}

function validateSpan(r: Obj): Check {
  const e =
    count(r, 'rank') ??
    positive(r, 'step') ??
    count(r, 'layer') ??
    str(r, 'name') ??
    str(r, 'phase') ??
    num(r, 't0') ??
    num(r, 't1');
  return e ?? ordered(r);
}

function validateComm(r: Obj): Check {
  const e =
    count(r, 'rank') ??
    positive(r, 'step') ??
    str(r, 'op') ??
    count(r, 'bucket') ??
    count(r, 'bytes') ??
    num(r, 't0') ??
    num(r, 't1') ??
    nonNegative(r, 'algbw') ??
    nonNegative(r, 'busbw');
  return e ?? ordered(r);
}

function validateSave(r: Obj): Check {
  return positive(r, 'step') ?? str(r, 'path') ?? count(r, 'bytes') ?? nonNegative(r, 'ms');
}

function validateSummary(r: Obj): Check {
  const status = r.status;
  if (status !== 'completed' && status !== 'interrupted' && status !== 'failed') {
    return bad('status', status, '"completed", "interrupted" or "failed"') + (typeof status === 'string' ? ` "${status}"` : '');
  }
  const e =
    count(r, 'steps') ??
    count(r, 'tokens') ??
    optional(r, 'skipped_steps', count) ??
    optional(r, 'loss_scale', num) ??
    optional(r, 'first_loss', num) ??
    optional(r, 'final_loss', num) ??
    optional(r, 'final_val_loss', numOrNull) ??
    num(r, 'wall_s');
  if (e) return e;
  // A run that failed before it started writes a short summary: no
  // measurements at all. Otherwise every one of them is required.
  const short = status === 'failed' && r.steps === 0 && SHORT_SUMMARY_OMITS.every((k) => r[k] === undefined);
  if (short) return undefined;
  const e2 =
    num(r, 'ms_per_step') ??
    num(r, 'tokens_per_s') ??
    count(r, 'peak_bytes') ??
    count(r, 'peak_act_bytes') ??
    obj(r, 'peak_by_category') ??
    count(r, 'predicted_peak_bytes') ??
    count(r, 'predicted_peak_act_bytes') ??
    count(r, 'rss_peak_bytes');
  if (e2) return e2;
  const cats = r.peak_by_category as Obj;
  for (const k in cats) {
    const ek = count(cats, k, 'peak_by_category.');
    if (ek) return ek;
  }
  return undefined;
}

function validateError(r: Obj): Check {
  const e =
    str(r, 'message') ??
    optional(r, 'file', str) ??
    optional(r, 'line', positive) ??
    optional(r, 'col', positive) ??
    optional(r, 'key', str) ??
    optional(r, 'step', positive);
  if (e) return e;
  // A location is whole or absent: file, line and col come together.
  const n = (r.file !== undefined ? 1 : 0) + (r.line !== undefined ? 1 : 0) + (r.col !== undefined ? 1 : 0);
  if (n === 0 || n === 3) return undefined;
  return bad(r.file === undefined ? 'file' : r.line === undefined ? 'line' : 'col', undefined, '') + ' (file, line and col come together)';
}

const validators: Record<RecordType, (r: Obj) => Check> = {
  run: validateRun,
  layer: validateLayer,
  step: validateStep,
  eval: validateEval,
  span: validateSpan,
  comm: validateComm,
  save: validateSave,
  summary: validateSummary,
  error: validateError,
};

// Reserved names get their own message: a newer trainer wrote them on purpose.
function unknownTypeMessage(type: string): string {
  const reserved = (RESERVED_RECORD_TYPES as readonly string[]).includes(type);
  return reserved
    ? `record type "${type}" is reserved for a later schema; this reader skips it`
    : `unknown record type "${type}"`;
}

/**
 * Checks that a parsed JSON value is a record of schema 1: its `type` is
 * known and its required fields are present with the right types. Unknown
 * fields are ignored and kept. On success the same object is returned (no
 * copy), typed.
 */
export function validateEvent(value: unknown): ValidationResult {
  if (!isObj(value)) return { ok: false, error: `a record must be a JSON object, got ${describe(value)}` };
  const type = value.type;
  if (typeof type !== 'string') return { ok: false, error: bad('type', type, 'a string') };
  const validate = Object.prototype.hasOwnProperty.call(validators, type) ? validators[type as RecordType] : undefined;
  if (!validate) return { ok: false, error: unknownTypeMessage(type) };
  const error = validate(value);
  if (error !== undefined) return { ok: false, error: `${type} record: ${error}` };
  return { ok: true, event: value as unknown as TrainerEvent };
}

export function isTrainerEvent(value: unknown): value is TrainerEvent {
  return validateEvent(value).ok;
}

// ---------------------------------------------------------------------------
// The incremental parser.

/**
 * What went wrong with a line. `kind` lets a caller treat `unknown-type`
 * (expected from newer trainers; docs/events.md says to skip them) apart from
 * real damage.
 */
export type StreamErrorKind = 'json' | 'schema' | 'unknown-type' | 'overlong' | 'truncated' | 'version';

export interface StreamError {
  /** 1-based line number in the stream. */
  line: number;
  message: string;
  kind: StreamErrorKind;
}

export interface EventStreamParserOptions {
  /** Longest line kept, in UTF-16 code units (about bytes for this ASCII-heavy format). Default 16 Mi. */
  maxLineLength?: number;
  /**
   * Errors kept in `errors`; later ones are only counted in `errorCount`, so
   * a stream of garbage cannot grow memory without bound. Default 1000.
   */
  maxErrors?: number;
}

const DEFAULT_MAX_LINE = 16 * 1024 * 1024;
const DEFAULT_MAX_ERRORS = 1000;

/**
 * Splits a JSON Lines stream into validated records, chunk by chunk, as the
 * file grows. Lines end at `\n` (`\r\n` accepted); a partial last line is kept
 * until its newline arrives; blank lines are skipped. Bad lines are recorded
 * in `errors` and skipped: parsing never throws on bad input.
 */
export class EventStreamParser {
  /** The first `maxErrors` problems, in stream order. */
  readonly errors: StreamError[] = [];
  /** All problems, including those not kept in `errors`. */
  errorCount = 0;
  /** The run record's schema, once seen. */
  schema: number | undefined;

  private readonly maxLine: number;
  private readonly maxErrors: number;
  // TextDecoder with stream:true keeps a multi-byte character split across
  // Buffer chunks until its last byte arrives.
  private decoder: TextDecoder | undefined;
  private partial = '';
  /** Lines finished so far; the line being assembled is lineNo + 1. */
  private lineNo = 0;
  /** The current line is overlong: drop its text until its newline. */
  private discarding = false;
  private ended = false;

  constructor(options: EventStreamParserOptions = {}) {
    this.maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE;
    this.maxErrors = options.maxErrors ?? DEFAULT_MAX_ERRORS;
  }

  /** Lines completely read so far (including blank and bad ones). */
  get linesRead(): number {
    return this.lineNo;
  }

  /** Feeds more of the stream; returns the records its complete lines hold. */
  push(chunk: string | Uint8Array): TrainerEvent[] {
    if (this.ended) throw new Error('EventStreamParser: push() after end()');
    let text: string;
    if (typeof chunk === 'string') {
      // Bytes still held by the decoder belong before this text; flushing
      // turns an unfinished character into U+FFFD rather than losing order.
      text = this.decoder ? this.decoder.decode() + chunk : chunk;
      this.decoder = undefined;
    } else {
      this.decoder ??= new TextDecoder('utf-8');
      text = this.decoder.decode(chunk, { stream: true });
    }
    const out: TrainerEvent[] = [];
    this.consume(text, out);
    return out;
  }

  /**
   * Ends the stream: a last line without its newline is parsed if it is a
   * complete record (a JSON object cannot be a proper prefix of another), and
   * reported as truncated otherwise.
   */
  end(): TrainerEvent[] {
    if (this.ended) return [];
    const out: TrainerEvent[] = [];
    if (this.decoder) {
      const rest = this.decoder.decode();
      this.decoder = undefined;
      if (rest) this.consume(rest, out);
    }
    this.ended = true;
    if (this.discarding) {
      // Already reported when it crossed the limit.
      this.discarding = false;
      this.lineNo++;
      return out;
    }
    const line = this.partial;
    this.partial = '';
    if (line.length === 0) return out;
    this.lineNo++;
    const text = line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (text.trim() !== '') {
        this.error('truncated', this.lineNo, `line ${this.lineNo} is truncated (the stream ends in the middle of a record)`);
      }
      return out;
    }
    this.accept(value, out);
    return out;
  }

  private consume(text: string, out: TrainerEvent[]): void {
    let start = 0;
    const n = text.length;
    while (start < n) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) {
        this.keepPartial(text, start);
        return;
      }
      if (this.discarding) {
        this.discarding = false;
        this.lineNo++;
      } else if (this.partial.length + (nl - start) > this.maxLine) {
        this.partial = '';
        this.lineNo++;
        this.overlong(this.lineNo);
      } else if (this.partial.length !== 0) {
        const line = this.partial + text.slice(start, nl);
        this.partial = '';
        this.lineNo++;
        this.handleLine(line, 0, line.length, out);
      } else {
        this.lineNo++;
        this.handleLine(text, start, nl, out);
      }
      start = nl + 1;
    }
  }

  private keepPartial(text: string, start: number): void {
    if (this.discarding) return;
    if (this.partial.length + (text.length - start) > this.maxLine) {
      // Report now rather than at the newline, which may never come; the
      // rest of the line is dropped as it arrives.
      this.partial = '';
      this.discarding = true;
      this.overlong(this.lineNo + 1);
      return;
    }
    this.partial += text.slice(start);
  }

  private overlong(line: number): void {
    this.error('overlong', line, `line ${line} is longer than ${this.maxLine} characters; skipped`);
  }

  /** The line text[start, end), without its newline. */
  private handleLine(text: string, start: number, end: number, out: TrainerEvent[]): void {
    if (start === end) return;
    const span = parseSpanLine(text, start, end);
    if (span) {
      out.push(span);
      return;
    }
    const last = text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const line = text.slice(start, last);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      // Whitespace-only lines are blank, not garbled; checked only here so
      // the common path does not trim every line.
      if (line.trim() === '') return;
      this.error('json', this.lineNo, `line ${this.lineNo} is not valid JSON: ${(e as Error).message}`);
      return;
    }
    this.accept(value, out);
  }

  private accept(value: unknown, out: TrainerEvent[]): void {
    const r = validateEvent(value);
    if (!r.ok) {
      const type = isObj(value) ? value.type : undefined;
      const kind: StreamErrorKind =
        typeof type === 'string' && !Object.prototype.hasOwnProperty.call(validators, type) ? 'unknown-type' : 'schema';
      this.error(kind, this.lineNo, `line ${this.lineNo}: ${r.error}`);
      return;
    }
    const ev = r.event;
    if (ev.type === 'run') {
      this.schema = ev.schema;
      if (ev.schema > SCHEMA_VERSION) {
        // Still delivered: within the compatibility rules a newer stream
        // mostly reads fine, and the caller decides how loudly to warn.
        this.error(
          'version',
          this.lineNo,
          `line ${this.lineNo}: the stream has schema ${ev.schema}, newer than this reader's ${SCHEMA_VERSION}; some fields may be misread`,
        );
      }
    }
    out.push(ev);
  }

  private error(kind: StreamErrorKind, line: number, message: string): void {
    this.errorCount++;
    if (this.errors.length < this.maxErrors) this.errors.push({ line, message, kind });
  }
}

// ---------------------------------------------------------------------------
// The span fast path. Spans are ~95% of a profiled run's records, and
// JSON.parse plus validation took most of the time of loading one. The
// trainer writes every span with the same keys in the same order, so a
// line in exactly that form is read by a scanner; any other form (other
// order or spacing, escapes, exponents, long numbers, a value out of
// range) returns undefined and takes the general path, which parses,
// validates and reports it. What the scanner returns is what JSON.parse
// and validateEvent would: the same fields, and numbers rounded the same.

const SPAN_PREFIX = '{"type":"span","rank":';
const K_STEP = ',"step":';
const K_LAYER = ',"layer":';
const K_NAME = ',"name":"';
const K_PHASE = '","phase":"';
// The phase's closing quote starts K_T0, so "fwdx" is no phase.
const K_T0 = '","t0":';
const K_T1 = ',"t1":';
const SPAN_PHASES = ['fwd', 'bwd', 'optim', 'recompute', 'comm'] as const;
// Exact powers of ten: a decimal of at most 15 digits is an integer below
// 2^53, and one IEEE division by an exact 10^k (k ≤ 22) rounds correctly,
// as JSON.parse does (Clinger's fast path).
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

// The scanner's position and last value: module state, so that scanning
// allocates nothing but the record and its name.
let at = 0;
let value = 0;

/** A JSON integer ≥ 0 without leading zeros at `at`; false if none. */
function scanCount(s: string): boolean {
  let i = at;
  const first = s.charCodeAt(i);
  if (first === 48) {
    // "0" alone; "01" is not JSON.
    const next = s.charCodeAt(i + 1);
    if (next >= 48 && next <= 57) return false;
    value = 0;
    at = i + 1;
    return true;
  }
  if (!(first >= 49 && first <= 57)) return false;
  let v = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  if (i - at > 15) return false;
  value = v;
  at = i;
  return true;
}

/** A JSON number at `at` of at most 15 digits and no exponent; false otherwise. */
function scanNumber(s: string): boolean {
  let i = at;
  const neg = s.charCodeAt(i) === 45;
  if (neg) i++;
  const intStart = i;
  let m = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    m = m * 10 + (c - 48);
  }
  const intDigits = i - intStart;
  if (intDigits === 0 || (intDigits > 1 && s.charCodeAt(intStart) === 48)) return false;
  let frac = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    const fracStart = i;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      m = m * 10 + (c - 48);
    }
    frac = i - fracStart;
    if (frac === 0) return false;
  }
  const c = s.charCodeAt(i);
  if (c === 101 || c === 69 || intDigits + frac > 15) return false;
  const v = frac ? m / POW10[frac] : m;
  value = neg ? -v : v;
  at = i;
  return true;
}

// charCodeAt by charCodeAt: String.prototype.startsWith costs several times more here.
function scanLiteral(s: string, lit: string): boolean {
  const n = lit.length;
  if (at + n > s.length) return false;
  for (let k = 0; k < n; k++) if (s.charCodeAt(at + k) !== lit.charCodeAt(k)) return false;
  at += n;
  return true;
}

/**
 * The span record on line[start, end) (a line without its newline) if it is
 * in the trainer's own form, or undefined. Offsets, so that the parser
 * scans spans inside a chunk without cutting a string per line.
 */
export function parseSpanLine(line: string, start = 0, end = line.length): SpanRecord | undefined {
  at = start;
  if (!scanLiteral(line, SPAN_PREFIX)) return undefined;
  if (!scanCount(line)) return undefined;
  const rank = value;
  if (!scanLiteral(line, K_STEP) || !scanCount(line) || value < 1) return undefined;
  const step = value;
  if (!scanLiteral(line, K_LAYER) || !scanCount(line)) return undefined;
  const layer = value;
  if (!scanLiteral(line, K_NAME)) return undefined;
  const nameStart = at;
  for (; at < end; at++) {
    const c = line.charCodeAt(at);
    // An escape or a control character: the general path decides.
    if (c === 34) break;
    if (c === 92 || c < 32) return undefined;
  }
  const name = line.slice(nameStart, at);
  if (!scanLiteral(line, K_PHASE)) return undefined;
  let phase: string | undefined;
  for (let k = 0; k < SPAN_PHASES.length && phase === undefined; k++) {
    if (scanLiteral(line, SPAN_PHASES[k])) phase = SPAN_PHASES[k];
  }
  if (phase === undefined || !scanLiteral(line, K_T0) || !scanNumber(line)) return undefined;
  const t0 = value;
  if (!scanLiteral(line, K_T1) || !scanNumber(line)) return undefined;
  const t1 = value;
  if (line.charCodeAt(at) !== 125) return undefined;
  const rest = end - at - 1;
  // The line ends at the brace (a \r before the \n is allowed).
  if (rest !== 0 && !(rest === 1 && line.charCodeAt(at + 1) === 13)) return undefined;
  if (!(t1 >= t0)) return undefined;
  return { type: 'span', rank, step, layer, name, phase, t0, t1 };
}

export interface ParsedEvents {
  events: TrainerEvent[];
  errors: StreamError[];
}

/** Parses a whole events.jsonl text at once. */
export function parseEventsFile(text: string, options?: EventStreamParserOptions): ParsedEvents {
  const parser = new EventStreamParser(options);
  const events = parser.push(text);
  for (const e of parser.end()) events.push(e);
  return { events, errors: parser.errors };
}
