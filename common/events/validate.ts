// The event validator: checks one parsed JSON value against the record types
// of schema.ts and says what is wrong with it. Separate from the types so
// that what only reads records (the webview) does not carry the checks.
import {
  type RecordType,
  RESERVED_RECORD_TYPES,
  SHORT_SUMMARY_OMITS,
  type TrainerEvent,
  type ValidationResult,
} from './schema';

// Validation. Each check returns undefined when the field is fine and an
// error message otherwise, so a record's checks chain with `??` and stop at
// the first problem without allocating anything on the happy path (the
// extension validates up to a million records per run).

type Obj = Record<string, unknown>;
type Check = string | undefined;

export function isObj(v: unknown): v is Obj {
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
    count(b, 'workspace', q) ??
    optional(b, 'comm', count, q)
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
    optional(pr, 'comm', count, q) ??
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
