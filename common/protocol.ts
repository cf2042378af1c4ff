// The messages between the extension host and the profile webview, both
// ways, with type guards. Each side validates what it receives: a webview
// is a separate, less trusted context, and a stale webview (reloaded
// extension) may speak an older dialect. No `vscode` and no DOM import.
import type { EvalColumns, LayerTime, RankTimeline, RunDelta, RunModel, SpanSamples, StepColumns } from './runModel';
import { RUN_STATUSES } from './runModel';
import { isPackedBarsValue } from './timelineBars';

/** Id of the <script type="application/json"> holding a standalone report's InitMessage. */
export const REPORT_DATA_ID = 'trainscope-data';

export interface ViewSettings {
  /** `trainscope.memoryBudget` in bytes; null when unset. */
  budgetBytes: number | null;
}

/** The whole picture: sent on load, on "resync", and inlined in report.html. */
export interface InitMessage {
  type: 'init';
  model: RunModel;
  /** Other runs to compare against (Compare Runs); empty otherwise. */
  compare: RunModel[];
  settings: ViewSettings;
  /** A tab to show instead of the remembered one (e.g. "compare" after Apply and Re-profile). */
  focus?: string;
  /** What the host needs to show this again after a window reload; the page keeps it in its state. */
  restore?: PanelRestore;
}

/** The run folders a panel shows, kept in the webview's state across window reloads. */
export interface PanelRestore {
  dir: string;
  compare: string[];
}

/** The webview's saved state (vscode.getState), as the host reads it when it restores the panel. */
export interface PanelState {
  tab?: string;
  restore?: PanelRestore;
}

/** Runs one Compare shows besides the main one; the restore state carries no more. */
export const MAX_COMPARE_RUNS = 32;
/** Longest run folder path kept in a restore state (Linux's PATH_MAX). */
const MAX_RESTORE_PATH = 4096;

function isRestorePath(v: unknown): v is string {
  // A NUL cannot be in a path: one that has it is not a folder the host wrote.
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_RESTORE_PATH && !v.includes('\0');
}

/**
 * The shape of a restore state; whether its folders are run folders the
 * host would show is the host's check (extension/runs/runStore.ts,
 * acceptRunDir), since the page's state is the page's to write.
 */
export function isPanelRestore(v: unknown): v is PanelRestore {
  return (
    isObj(v) &&
    isRestorePath(v.dir) &&
    Array.isArray(v.compare) &&
    v.compare.length <= MAX_COMPARE_RUNS &&
    v.compare.every(isRestorePath)
  );
}

/** What a live run added since the last message. */
interface DeltaMessage {
  type: 'delta';
  delta: RunDelta;
}

interface SettingsMessage {
  type: 'settings';
  settings: ViewSettings;
}

/**
 * What the config line under the editor's cursor refers to: the panel
 * highlights the elements that show that key and those layers.
 */
export interface PanelFocus {
  /** `"section.key"` (`"train.checkpoint"`), or `"section"` on a header line. */
  key: string;
  /** Indices into the run's layers (`run.layers`) the line is about. */
  layers: number[];
}

/** The editor's cursor moved: highlight `focus`, or nothing (null). */
interface FocusMessage {
  type: 'focus';
  focus: PanelFocus | null;
}

export type HostMessage = InitMessage | DeltaMessage | SettingsMessage | FocusMessage;

const WEBVIEW_ACTIONS = ['stop', 'exportTrace', 'openRunFolder'] as const;
export type WebviewAction = (typeof WEBVIEW_ACTIONS)[number];

export type WebviewMessage =
  /** The page is loaded and listening: send an init. */
  | { type: 'ready' }
  /** A delta did not continue the model the page has: send an init again. */
  | { type: 'resync' }
  /** Show the config line that shapes this layer. */
  | { type: 'revealLayer'; index: number; name: string }
  | { type: 'action'; action: WebviewAction };

// ---------------------------------------------------------------------------
// Guards

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNumArray(v: unknown, nullable = false): v is number[] {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (!(typeof x === 'number' || (nullable && x === null))) return false;
  return true;
}

function isStrArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function isStepColumns(v: unknown): v is StepColumns {
  if (!isObj(v)) return false;
  const n = Array.isArray(v.step) ? v.step.length : -1;
  const same = (a: unknown, nullable = false): boolean => isNumArray(a, nullable) && a.length === n;
  return (
    same(v.step) &&
    same(v.loss, true) &&
    same(v.lr) &&
    same(v.gradNorm, true) &&
    same(v.ms) &&
    same(v.tokensPerS) &&
    same(v.liveBytes) &&
    same(v.peakBytes) &&
    isStrArray(v.phaseNames) &&
    Array.isArray(v.phaseMs) &&
    v.phaseMs.length === v.phaseNames.length &&
    v.phaseMs.every((c) => same(c))
  );
}

function isEvalColumns(v: unknown): v is EvalColumns {
  return isObj(v) && isNumArray(v.step) && isNumArray(v.valLoss, true) && v.step.length === v.valLoss.length;
}

function isLayerTime(v: unknown): v is LayerTime {
  return (
    isObj(v) &&
    isStrArray(v.phases) &&
    Array.isArray(v.meanMs) &&
    v.meanMs.length === v.phases.length &&
    v.meanMs.every((c) => isNumArray(c)) &&
    typeof v.sampledSteps === 'number'
  );
}

function isSpanSamples(v: unknown): v is SpanSamples {
  if (!isObj(v) || !isStrArray(v.phases) || !Array.isArray(v.samples)) return false;
  return v.samples.every(
    (s) =>
      isObj(s) &&
      typeof s.step === 'number' &&
      isNumArray(s.layer) &&
      isNumArray(s.phase) &&
      isNumArray(s.t0) &&
      isNumArray(s.t1) &&
      s.layer.length === s.phase.length &&
      s.layer.length === s.t0.length &&
      s.layer.length === s.t1.length,
  );
}

// Bars arrive packed (common/timelineBars.ts): checked by length and
// alphabet here, decoded only when the Communication view shows the sample.
function isRankTimeline(v: unknown): v is RankTimeline {
  if (!isObj(v) || !Number.isInteger(v.ranks) || (v.ranks as number) < 1 || !isStrArray(v.phases) || !Array.isArray(v.samples)) return false;
  return v.samples.every(
    (s) =>
      isObj(s) &&
      typeof s.step === 'number' &&
      isPackedBarsValue(s.bars) &&
      isNumArray(s.stepT0, true) &&
      isNumArray(s.stepT1, true) &&
      isNumArray(s.commMs, true) &&
      isNumArray(s.exposedMs, true) &&
      isNumArray(s.overlap, true),
  );
}

// Records inside the model were validated against the event schema when
// they were parsed (common/events/); here only their container shape
// and the fields the views index by are checked.
function isRecordLike(v: unknown, type: string): boolean {
  return isObj(v) && v.type === type;
}

function isLayers(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    v.every((l) => isRecordLike(l, 'layer') && typeof (l as Obj).index === 'number' && isObj((l as Obj).bytes) && isObj((l as Obj).predicted))
  );
}

function isProblems(v: unknown): boolean {
  return isObj(v) && typeof v.count === 'number' && isStrArray(v.messages);
}

function isStatus(v: unknown): boolean {
  return typeof v === 'string' && (RUN_STATUSES as readonly string[]).includes(v);
}

export function isRunModel(v: unknown): v is RunModel {
  return (
    isObj(v) &&
    typeof v.id === 'string' &&
    isStatus(v.status) &&
    (v.run === null || isRecordLike(v.run, 'run')) &&
    isLayers(v.layers) &&
    isStepColumns(v.steps) &&
    isEvalColumns(v.evals) &&
    isLayerTime(v.layerTime) &&
    isSpanSamples(v.spans) &&
    (v.timeline === undefined || isRankTimeline(v.timeline)) &&
    (v.summary === null || isRecordLike(v.summary, 'summary')) &&
    isStrArray(v.errors) &&
    isProblems(v.streamProblems)
  );
}

function isRunDelta(v: unknown): v is RunDelta {
  if (!isObj(v) || typeof v.id !== 'string' || !isStatus(v.status)) return false;
  if (v.run !== undefined && !isRecordLike(v.run, 'run')) return false;
  if (v.layers !== undefined && !isLayers(v.layers)) return false;
  if (v.steps !== undefined && !(isObj(v.steps) && typeof v.steps.from === 'number' && isStepColumns(v.steps.columns))) return false;
  if (v.evals !== undefined && !(isObj(v.evals) && typeof v.evals.from === 'number' && isEvalColumns(v.evals.columns))) return false;
  if (v.layerTime !== undefined && !isLayerTime(v.layerTime)) return false;
  if (v.summary !== undefined && !isRecordLike(v.summary, 'summary')) return false;
  if (v.errors !== undefined && !isStrArray(v.errors)) return false;
  if (v.streamProblems !== undefined && !isProblems(v.streamProblems)) return false;
  if (v.timeline !== undefined && !(isRankTimeline(v.timeline) && isObj(v.timeline) && isNumArray(v.timeline.steps))) return false;
  return true;
}

function isSettings(v: unknown): v is ViewSettings {
  return isObj(v) && (v.budgetBytes === null || (typeof v.budgetBytes === 'number' && v.budgetBytes > 0));
}

export function isHostMessage(v: unknown): v is HostMessage {
  if (!isObj(v)) return false;
  switch (v.type) {
    case 'init':
      return (
        isRunModel(v.model) &&
        Array.isArray(v.compare) &&
        v.compare.every(isRunModel) &&
        isSettings(v.settings) &&
        (v.focus === undefined || typeof v.focus === 'string') &&
        (v.restore === undefined || isPanelRestore(v.restore))
      );
    case 'delta':
      return isRunDelta(v.delta);
    case 'settings':
      return isSettings(v.settings);
    case 'focus':
      return v.focus === null || isPanelFocus(v.focus);
    default:
      return false;
  }
}

const MAX_FOCUS_LAYERS = 100_000;

function isPanelFocus(v: unknown): v is PanelFocus {
  return (
    isObj(v) &&
    typeof v.key === 'string' &&
    /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(v.key) &&
    Array.isArray(v.layers) &&
    v.layers.length <= MAX_FOCUS_LAYERS &&
    v.layers.every((i) => Number.isInteger(i) && (i as number) >= 0)
  );
}

export function isWebviewMessage(v: unknown): v is WebviewMessage {
  if (!isObj(v)) return false;
  switch (v.type) {
    case 'ready':
    case 'resync':
      return true;
    case 'revealLayer':
      return Number.isInteger(v.index) && (v.index as number) >= 0 && typeof v.name === 'string' && v.name.length < 256;
    case 'action':
      return typeof v.action === 'string' && (WEBVIEW_ACTIONS as readonly string[]).includes(v.action);
    default:
      return false;
  }
}
