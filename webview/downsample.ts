// Reduces long per-step series to what a chart can show: a canvas a few
// hundred pixels wide gains nothing from 10^5 points, and Chart.js slows
// down with them. Pure functions, unit-tested.

export interface Point {
  x: number;
  y: number | null;
}

/** Index ranges [start, end) splitting n rows into at most `buckets` nearly equal parts. */
export function bucketRanges(n: number, buckets: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (n <= 0 || buckets <= 0) return out;
  const k = Math.min(n, Math.floor(buckets));
  for (let b = 0; b < k; b++) {
    const start = Math.floor((b * n) / k);
    const end = Math.floor(((b + 1) * n) / k);
    if (end > start) out.push([start, end]);
  }
  return out;
}

/** Mean of the non-null, finite values of ys[start..end), or null when there are none. */
export function meanOf(ys: readonly (number | null)[], start: number, end: number): number | null {
  let sum = 0;
  let count = 0;
  for (let i = start; i < end; i++) {
    const y = ys[i];
    if (y !== null && Number.isFinite(y)) {
      sum += y;
      count++;
    }
  }
  return count ? sum / count : null;
}

/**
 * At most `maxPoints` points: each the mean x and mean y of a bucket of
 * consecutive rows (means smooth a noisy loss the way a reader would by
 * eye). Series short enough are returned point for point.
 */
export function downsample(xs: readonly number[], ys: readonly (number | null)[], maxPoints: number): Point[] {
  const n = Math.min(xs.length, ys.length);
  if (n <= maxPoints) {
    const out: Point[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const y = ys[i];
      out[i] = { x: xs[i], y: y !== null && Number.isFinite(y) ? y : null };
    }
    return out;
  }
  return bucketRanges(n, maxPoints).map(([s, e]) => ({ x: meanOf(xs, s, e) ?? xs[s], y: meanOf(ys, s, e) }));
}
