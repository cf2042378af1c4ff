// Number and byte formatting shared by the extension host (status bar,
// messages) and the webview (charts, tables), and the parser of the
// `trainscope.memoryBudget` setting. No `vscode` and no Node import: the
// webview bundle includes this file.

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

type SizeParse = { ok: true; bytes: number } | { ok: false; error: string };

/**
 * Parses a byte size the way the config language writes one (docs/config.md,
 * "size"): a number and a case-sensitive unit, powers of 1000 for KB..TB and
 * of 1024 for KiB..TiB. A space before the unit is tolerated here, since this
 * is a setting typed into a settings box, not a config value.
 */
export function parseSize(text: string): SizeParse {
  const m = /^\s*((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  if (!m) return { ok: false, error: `'${text}' is not a size: write a number and a unit, as in 2GB or 512MiB` };
  const unit = m[2] === '' ? 'B' : m[2];
  const scale = SIZE_UNITS[unit];
  if (scale === undefined) {
    return { ok: false, error: `'${text}': unknown unit '${unit}' (expected B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)` };
  }
  const bytes = Math.round(Number(m[1]) * scale);
  if (!Number.isFinite(bytes) || bytes <= 0) return { ok: false, error: `'${text}' must be a positive size` };
  return { ok: true, bytes };
}

/**
 * The one byte formatter of host and webview: 1234567 -> "1.2 MB" (decimal
 * units, as the trainer prints them; 1 decimal below 1 GB, 2 from 1 GB).
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '–';
  const a = Math.abs(bytes);
  if (a >= 1e12) return `${(bytes / 1e12).toFixed(2)} TB`;
  if (a >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (a >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (a >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${Math.round(bytes)} B`;
}

/** Compact count: 812345 -> "812k", 1.2e6 -> "1.20M". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** Loss-like values: 4 significant decimals; null (non-finite in the stream) as "–". */
export function formatLoss(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(4);
}

/** Milliseconds with a precision that suits their size. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}
