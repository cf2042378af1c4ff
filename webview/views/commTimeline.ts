// The communication timeline's geometry, without the DOM (unit-tested under
// plain Node): lanes per rank, the bars of one sampled step, per-bucket
// statistics, decimation of more bars than pixels, and what the view says
// about a run's communication.
import { BAR_COMM, BAR_SPAN, type RankTimeline, type RunModel, type TimelineSample } from '../../common/runModel';
import { barColumns } from '../../common/timelineBars';

/** What the view says about a run's communication, from its step records. */
type CommFacts =
  | { kind: 'single-rank' }
  | { kind: 'no-records'; ranks: number }
  | { kind: 'timed'; ranks: number; commMs: number; share: number };

export function commFacts(m: RunModel): CommFacts {
  const ranks = m.run?.ranks ?? 1;
  const p = m.steps.phaseNames.indexOf('comm');
  if (p === -1 || !m.steps.step.length) return ranks > 1 ? { kind: 'no-records', ranks } : { kind: 'single-rank' };
  const comm = m.steps.phaseMs[p].reduce((a, b) => a + b, 0) / m.steps.step.length;
  const total = m.steps.ms.reduce((a, b) => a + b, 0) / m.steps.step.length;
  return { kind: 'timed', ranks, commMs: comm, share: total > 0 ? comm / total : 0 };
}

/** Bars with more than this many visible are always decimated. */
export const MAX_VISIBLE_BARS = 100_000;

/**
 * The most bars drawn one by one: more bars than a lane has pixels cannot
 * all be seen, and drawing 10^5 of them took most of a first render; past
 * this, sub-pixel bars are merged (decimate).
 */
export function maxDrawnBars(lanes: number, widthPx: number): number {
  return Math.min(MAX_VISIBLE_BARS, Math.max(1, lanes) * Math.ceil(widthPx));
}

/**
 * The bars of one sampled step on one time axis: lane 2r holds rank r's
 * compute spans, lane 2r + 1 its all-reduces.
 */
export interface TimelineLayout {
  step: number;
  ranks: number;
  lanes: number;
  /** Per bar (index = bar of the sample). */
  lane: Uint16Array;
  t0: Float64Array;
  t1: Float64Array;
  /** Colour index: span phase index; comm bars use `commColor`. */
  color: Uint16Array;
  commColor: number;
  /** µs: the union of every bar and step window. */
  tMin: number;
  tMax: number;
  /** Per rank, its step window, when the step record gave one. */
  stepWindows: ({ t0: number; t1: number } | null)[];
}

export function timelineLayout(tl: RankTimeline, sample: TimelineSample): TimelineLayout {
  const b = barColumns(sample.bars);
  const n = b.t0.length;
  let ranks = tl.ranks;
  for (let i = 0; i < n; i++) if (b.rank[i] + 1 > ranks) ranks = b.rank[i] + 1;
  const lane = new Uint16Array(n);
  const t0 = new Float64Array(n);
  const t1 = new Float64Array(n);
  const color = new Uint16Array(n);
  const commColor = tl.phases.length;
  let tMin = Infinity;
  let tMax = -Infinity;
  for (let i = 0; i < n; i++) {
    const comm = b.kind[i] === BAR_COMM;
    lane[i] = b.rank[i] * 2 + (comm ? 1 : 0);
    t0[i] = b.t0[i];
    t1[i] = b.t1[i];
    color[i] = comm ? commColor : b.tag[i];
    if (t0[i] < tMin) tMin = t0[i];
    if (t1[i] > tMax) tMax = t1[i];
  }
  const stepWindows: ({ t0: number; t1: number } | null)[] = [];
  for (let r = 0; r < ranks; r++) {
    const a = sample.stepT0[r];
    const b = sample.stepT1[r];
    if (a === null || a === undefined || b === null || b === undefined) {
      stepWindows.push(null);
      continue;
    }
    stepWindows.push({ t0: a, t1: b });
    if (a < tMin) tMin = a;
    if (b > tMax) tMax = b;
  }
  if (!Number.isFinite(tMin)) {
    tMin = 0;
    tMax = 1;
  }
  return { step: sample.step, ranks, lanes: ranks * 2, lane, t0, t1, color, commColor, tMin, tMax, stepWindows };
}

/** Bars in pixels, after decimation. */
export interface PixelBars {
  count: number;
  lane: Uint16Array;
  x0: Float64Array;
  x1: Float64Array;
  color: Uint16Array;
  /** The source bar (the longest one merged into it). */
  source: Uint32Array;
  /** How many source bars it stands for. */
  merged: Uint32Array;
  decimated: boolean;
}

interface Viewport {
  /** µs at the left and right edges. */
  t0: number;
  t1: number;
  widthPx: number;
}

/**
 * The visible bars of `lane/t0/t1/color` (n of them) in pixels. When more
 * than `maxBars` are visible, bars narrower than a pixel are merged per lane
 * with their neighbours: a new output bar starts only in a pixel column
 * after the previous one's start, so a lane yields at most widthPx + 2 bars,
 * and each lane still covers the same extent (its first start to its last
 * end). A merged bar takes the colour of its longest member.
 */
export function decimate(
  bars: { lane: ArrayLike<number>; t0: ArrayLike<number>; t1: ArrayLike<number>; color: ArrayLike<number> },
  n: number,
  view: Viewport,
  maxBars = MAX_VISIBLE_BARS,
): PixelBars {
  const span = view.t1 - view.t0;
  const scale = span > 0 ? view.widthPx / span : 0;
  const visible: number[] = [];
  for (let i = 0; i < n; i++) if (bars.t1[i] >= view.t0 && bars.t0[i] <= view.t1) visible.push(i);
  const px = (t: number): number => (t - view.t0) * scale;
  if (visible.length <= maxBars) {
    const out = allocBars(visible.length);
    visible.forEach((i, k) => {
      out.lane[k] = bars.lane[i];
      out.x0[k] = px(bars.t0[i]);
      out.x1[k] = px(bars.t1[i]);
      out.color[k] = bars.color[i];
      out.source[k] = i;
      out.merged[k] = 1;
    });
    out.count = visible.length;
    return out;
  }
  // By lane, then start.
  const order = Uint32Array.from(visible);
  let sorted = true;
  for (let k = 1; k < order.length && sorted; k++) {
    const a = order[k - 1];
    const b = order[k];
    if (bars.lane[a] > bars.lane[b] || (bars.lane[a] === bars.lane[b] && bars.t0[a] > bars.t0[b])) sorted = false;
  }
  if (!sorted) order.sort((a, b) => bars.lane[a] - bars.lane[b] || bars.t0[a] - bars.t0[b]);
  const out = allocBars(Math.min(order.length, 1024));
  let m = 0;
  let curLane = -1;
  let cx0 = 0;
  let cx1 = 0;
  let cColor = 0;
  let cSrc = 0;
  let cLen = -1;
  let cCount = 0;
  const flush = (): void => {
    if (curLane < 0) return;
    if (m === out.lane.length) grow(out);
    out.lane[m] = curLane;
    out.x0[m] = cx0;
    out.x1[m] = cx1;
    out.color[m] = cColor;
    out.source[m] = cSrc;
    out.merged[m] = cCount;
    m++;
  };
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    const l = bars.lane[i];
    const x0 = px(bars.t0[i]);
    const x1 = px(bars.t1[i]);
    const len = bars.t1[i] - bars.t0[i];
    const narrow = x1 - x0 < 1 || cx1 - cx0 < 1;
    const sameColumnRun = Math.floor(x0) <= Math.floor(cx1);
    const canStartNew = Math.floor(x0) > Math.floor(cx0);
    const merge = l === curLane && sameColumnRun && (narrow || bars.color[i] === cColor || !canStartNew);
    if (merge) {
      if (x1 > cx1) cx1 = x1;
      cCount++;
      if (len > cLen) {
        cLen = len;
        cColor = bars.color[i];
        cSrc = i;
      }
      continue;
    }
    flush();
    curLane = l;
    cx0 = x0;
    cx1 = x1;
    cColor = bars.color[i];
    cSrc = i;
    cLen = len;
    cCount = 1;
  }
  flush();
  out.count = m;
  out.decimated = true;
  return out;
}

function allocBars(n: number): PixelBars {
  return {
    count: 0,
    lane: new Uint16Array(n),
    x0: new Float64Array(n),
    x1: new Float64Array(n),
    color: new Uint16Array(n),
    source: new Uint32Array(n),
    merged: new Uint32Array(n),
    decimated: false,
  };
}

function grow(b: PixelBars): void {
  const n = b.lane.length * 2;
  const lane = new Uint16Array(n);
  lane.set(b.lane);
  const x0 = new Float64Array(n);
  x0.set(b.x0);
  const x1 = new Float64Array(n);
  x1.set(b.x1);
  const color = new Uint16Array(n);
  color.set(b.color);
  const source = new Uint32Array(n);
  source.set(b.source);
  const merged = new Uint32Array(n);
  merged.set(b.merged);
  Object.assign(b, { lane, x0, x1, color, source, merged });
}

/** One bucket of a sampled step, averaged over the ranks. */
interface BucketRow {
  bucket: number;
  bytes: number;
  /** Mean all-reduce time over the ranks. */
  ms: number;
  /** Mean bus bandwidth over the ranks, GB/s. */
  busbw: number;
  algbw: number;
  /** Mean fraction (0..1) of the all-reduce that ran while its rank was in backward. */
  overlapBwd: number;
  ranks: number;
}

/** Per-bucket table of a sample: bytes, ms, bandwidth, overlap with the rank's backward (and recompute) spans. */
export function bucketRows(tl: RankTimeline, sample: TimelineSample): BucketRow[] {
  const b = barColumns(sample.bars);
  const bwdPhases = new Set<number>();
  tl.phases.forEach((p, i) => {
    if (p === 'bwd' || p === 'recompute') bwdPhases.add(i);
  });
  // Per rank: backward intervals, then their union as disjoint sorted runs,
  // so each all-reduce finds the runs it meets by binary search (a step may
  // hold 10^4+ of each: comparing every pair took seconds).
  const bwd = new Map<number, [number, number][]>();
  const n = b.t0.length;
  for (let i = 0; i < n; i++) {
    if (b.kind[i] !== BAR_SPAN || !bwdPhases.has(b.tag[i])) continue;
    const r = b.rank[i];
    let list = bwd.get(r);
    if (!list) bwd.set(r, (list = []));
    list.push([b.t0[i], b.t1[i]]);
  }
  const unions = new Map<number, IntervalUnion>();
  for (const [r, list] of bwd) unions.set(r, intervalUnion(list));
  const acc = new Map<number, { bytes: number; ms: number; busbw: number; algbw: number; ov: number; n: number }>();
  for (let i = 0; i < n; i++) {
    if (b.kind[i] !== BAR_COMM) continue;
    const a = b.t0[i];
    const e = b.t1[i];
    const dur = e - a;
    const u = unions.get(b.rank[i]);
    const covered = u ? coveredBy(u, a, e) : 0;
    const k = b.tag[i];
    let r = acc.get(k);
    if (!r) acc.set(k, (r = { bytes: b.value[i], ms: 0, busbw: 0, algbw: 0, ov: 0, n: 0 }));
    r.ms += dur / 1e3;
    r.busbw += b.busbw[i];
    r.algbw += b.algbw[i];
    r.ov += dur > 0 ? covered / dur : 0;
    r.n++;
  }
  return [...acc.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([bucket, r]) => ({
      bucket,
      bytes: r.bytes,
      ms: r.ms / r.n,
      busbw: r.busbw / r.n,
      algbw: r.algbw / r.n,
      overlapBwd: r.ov / r.n,
      ranks: r.n,
    }));
}

/** Disjoint intervals, sorted: run k is [start[k], end[k]). */
interface IntervalUnion {
  start: Float64Array;
  end: Float64Array;
}

export function intervalUnion(list: [number, number][]): IntervalUnion {
  list.sort((x, y) => x[0] - y[0]);
  const start: number[] = [];
  const end: number[] = [];
  for (const [s, e] of list) {
    const last = end.length - 1;
    if (last >= 0 && s <= end[last]) {
      if (e > end[last]) end[last] = e;
    } else {
      start.push(s);
      end.push(e);
    }
  }
  return { start: Float64Array.from(start), end: Float64Array.from(end) };
}

/** Length of [a, b] that the union covers. */
export function coveredBy(u: IntervalUnion, a: number, b: number): number {
  // The first run that ends after a.
  let lo = 0;
  let hi = u.end.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (u.end[mid] <= a) lo = mid + 1;
    else hi = mid;
  }
  let covered = 0;
  for (let k = lo; k < u.start.length && u.start[k] < b; k++) {
    covered += Math.min(u.end[k], b) - Math.max(u.start[k], a);
  }
  return covered;
}

/** Per rank of a sample: the step record's communication figures. */
interface RankCommRow {
  rank: number;
  commMs: number | null;
  exposedMs: number | null;
  overlap: number | null;
}

export function rankCommRows(sample: TimelineSample): RankCommRow[] {
  return sample.commMs.map((commMs, rank) => ({
    rank,
    commMs,
    exposedMs: sample.exposedMs[rank] ?? null,
    overlap: sample.overlap[rank] ?? null,
  }));
}

/** The bar under a pixel (x in px, lane), or -1: the nearest within `slop` px. */
export function hitTest(bars: PixelBars, lane: number, x: number, slop = 2): number {
  let best = -1;
  let bestD = slop;
  for (let k = 0; k < bars.count; k++) {
    if (bars.lane[k] !== lane) continue;
    const d = x < bars.x0[k] ? bars.x0[k] - x : x > bars.x1[k] ? x - bars.x1[k] : 0;
    if (d < bestD || (d === 0 && bestD === 0 && best === -1)) {
      best = k;
      bestD = d;
      if (d === 0) break;
    }
  }
  return best;
}
