// The rows of the Compare view, apart from the DOM so the tests can check
// them: runs in the order they ran (before → after), and a last row with
// the change from the first run to the last, which is what "Apply and
// re-profile" is for: did the change do what its title predicted?
import type { SummaryRecord } from '../../common/events/schema';
import { formatBytes, formatCount, formatLoss, formatMs } from '../../common/format';
import type { RunModel } from '../../common/runModel';

/** Peak memory categories of a summary, in the Memory view's order. */
const PEAK_CATEGORIES = ['param', 'grad', 'optim', 'act', 'workspace', 'comm'] as const;
type PeakCategory = (typeof PEAK_CATEGORIES)[number];

export interface CompareRow {
  run: string;
  status: string;
  params: string;
  steps: string;
  loss: string;
  val: string;
  ms: string;
  tps: string;
  peak: string;
}

export type MemoryRow = { run: string; peak: string } & Record<PeakCategory, string>;

/** The numbers of a run that Compare sets side by side; undefined where the run has none. */
interface CompareNumbers {
  loss?: number;
  val?: number;
  ms?: number;
  tps?: number;
  peak?: number;
  categories: Partial<Record<PeakCategory, number>>;
}

function compareNumbers(m: RunModel): CompareNumbers {
  const s = m.summary;
  const n = m.steps.step.length;
  const out: CompareNumbers = { categories: {} };
  const loss = s?.final_loss ?? (n ? m.steps.loss[n - 1] : null);
  if (typeof loss === 'number') out.loss = loss;
  if (typeof s?.final_val_loss === 'number') out.val = s.final_val_loss;
  // A run that failed before it started has a summary without measurements.
  if (s && typeof (s as Partial<SummaryRecord>).peak_by_category === 'object') {
    out.ms = s.ms_per_step;
    out.tps = s.tokens_per_s;
    out.peak = s.peak_bytes;
    for (const c of PEAK_CATEGORIES) {
      const v = s.peak_by_category[c];
      if (typeof v === 'number') out.categories[c] = v;
    }
  }
  return out;
}

/** "+12%", "−48%", "±0%": the change from `before` to `after`; "–" when either is missing. */
export function formatChange(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined) return '–';
  if (before === after) return '±0%';
  if (before === 0) return '–';
  const pct = ((after - before) / Math.abs(before)) * 100;
  const digits = Math.abs(pct) >= 10 ? 0 : 1;
  const text = Math.abs(pct).toFixed(digits);
  if (Number(text) === 0) return '±0%';
  return `${pct > 0 ? '+' : '\u2212'}${text}%`;
}

/** A loss difference: "−0.0123". */
function formatLossChange(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined) return '–';
  const d = after - before;
  return `${d > 0 ? '+' : d < 0 ? '\u2212' : '±'}${Math.abs(d).toFixed(4)}`;
}

/** Runs in the order they ran: folder names start with the start time (runStore.runDirName). */
export function chronological(models: readonly RunModel[]): RunModel[] {
  return [...models].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function changeLabel(first: RunModel, last: RunModel): string {
  return `change: ${last.id} vs ${first.id}`;
}

/** The headline rows, oldest run first, then the change from the first to the last. */
export function compareRows(models: readonly RunModel[]): CompareRow[] {
  const runs = chronological(models);
  const rows: CompareRow[] = runs.map((m) => {
    const x = compareNumbers(m);
    return {
      run: m.id,
      status: m.status,
      params: m.run ? formatCount(m.run.params) : '–',
      steps: formatCount(m.steps.step.length),
      loss: formatLoss(x.loss),
      val: formatLoss(x.val),
      ms: x.ms === undefined ? '–' : formatMs(x.ms),
      tps: x.tps === undefined ? '–' : formatCount(x.tps),
      peak: x.peak === undefined ? '–' : formatBytes(x.peak),
    };
  });
  if (runs.length >= 2) {
    const first = runs[0];
    const last = runs[runs.length - 1];
    const a = compareNumbers(first);
    const b = compareNumbers(last);
    rows.push({
      run: changeLabel(first, last),
      status: '',
      params: formatChange(first.run?.params, last.run?.params),
      steps: formatChange(first.steps.step.length, last.steps.step.length),
      loss: formatLossChange(a.loss, b.loss),
      val: formatLossChange(a.val, b.val),
      ms: formatChange(a.ms, b.ms),
      tps: formatChange(a.tps, b.tps),
      peak: formatChange(a.peak, b.peak),
    });
  }
  return rows;
}

/** Peak memory by category, oldest run first, then the change from the first to the last. */
export function memoryRows(models: readonly RunModel[]): MemoryRow[] {
  const runs = chronological(models);
  const row = (run: string, cell: (c: PeakCategory | 'peak') => string): MemoryRow => {
    const r = { run, peak: cell('peak') } as MemoryRow;
    for (const c of PEAK_CATEGORIES) r[c] = cell(c);
    return r;
  };
  const pick = (x: CompareNumbers, c: PeakCategory | 'peak'): number | undefined => (c === 'peak' ? x.peak : x.categories[c]);
  const rows = runs.map((m) => {
    const x = compareNumbers(m);
    return row(m.id, (c) => {
      const v = pick(x, c);
      return v === undefined ? '–' : formatBytes(v);
    });
  });
  if (runs.length >= 2) {
    const a = compareNumbers(runs[0]);
    const b = compareNumbers(runs[runs.length - 1]);
    rows.push(row(changeLabel(runs[0], runs[runs.length - 1]), (c) => formatChange(pick(a, c), pick(b, c))));
  }
  return rows;
}
