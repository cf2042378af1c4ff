// The trainer's event stream (docs/events.md): the record types of schema 1.
// Types and constants only, so that the host, the webview and plain-Node
// tests read the same definitions; validate.ts checks a record against them
// and parse.ts reads a stream of them.
import type { ResolvedConfig } from '../config';

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
  /**
   * Communication buffers charged to the layer: layer 0 holds the gradient
   * all-reduce's staging buffer in runs of several ranks, 0 elsewhere.
   * Absent in streams of trainers that predate it.
   */
  comm?: number;
}

interface PredictedLayer {
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
  /** Communication buffers, live the whole run (0 for one rank; absent in older streams). */
  comm?: number;
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

interface RunData {
  source: string;
  description: string;
  train_tokens: number;
  val_tokens: number;
  entropy_floor?: number;
}

/** The device a run trains on (run record `device_info`). */
interface DeviceInfo {
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
  /** What of the device is not as asked: `auto` fell back to the CPU; train.threads above the cores. */
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
  config: ResolvedConfig;
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
  /** The snapshot a `--resume` run started from, and the steps it held. */
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

/**
 * The phases schema 1 defines, in display order: a step record's `phases`
 * keys, and a span's `phase`. A later trainer may add phases (readers keep
 * them, after these), so a reader bounds how many unknown ones it keeps.
 */
export const STEP_PHASES = ['data', 'fwd', 'bwd', 'optim', 'recompute', 'comm'] as const;
export const SPAN_PHASES = ['fwd', 'bwd', 'optim', 'recompute', 'comm'] as const;

/** Milliseconds per phase of a step. */
interface StepPhases {
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
interface StepComm {
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

interface EvalRecord {
  type: 'eval';
  step: number;
  val_loss: number | null;
}

export interface SpanRecord {
  type: 'span';
  rank: number;
  step: number;
  layer: number;
  name: string;
  /**
   * Today 'fwd', 'bwd', 'optim' or 'recompute' (only under a checkpoint
   * plan); 'comm' is reserved (the trainer reports all-reduces as `comm`
   * records, not spans). Kept as string so a new phase is not an error.
   */
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

type SummaryStatus = 'completed' | 'interrupted' | 'failed';

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

/** What the run trains on, in a word or a name: a GPU's name, else `device`. */
export function deviceLabel(run: Pick<RunRecord, 'device' | 'device_info'>): string | undefined {
  const d = run.device_info;
  if (d) return d.type === 'cpu' || !d.name ? d.type : d.name;
  return run.device;
}
