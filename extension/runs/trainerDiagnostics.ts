// The trainer's error lines on stderr (`file:line:col: error: message`,
// docs/config.md "Diagnostics") turned into editor ranges. No `vscode`
// import: the host wraps the result in vscode.Diagnostic.
import { OVERRIDE_FILE } from '../native/addon';
import { byteColToUtf16, sourceLine } from '../native/positions';

export type TrainerMessage =
  /** Points into a file (a config line) or into the --set overrides. */
  | { kind: 'located'; file: string; line: number; col: number; severity: 'error' | 'warning'; message: string }
  /** `trainscope-train: error: ...`: about the run, not a line. */
  | { kind: 'general'; severity: 'error' | 'warning'; message: string };

// Greedy file part: a Windows path (C:\x.train) has a colon of its own, and
// the location is the last `:N:N: severity: ` before the message.
const LOCATED = /^(.+):(\d+):(\d+): (error|warning): (.*)$/;
const GENERAL = /^trainscope-train: (error|warning): (.*)$/;

/** Parses one stderr line; undefined for progress lines and anything else. */
export function parseTrainerLine(line: string): TrainerMessage | undefined {
  const m = LOCATED.exec(line);
  if (m) {
    return {
      kind: 'located',
      file: m[1],
      line: Number(m[2]),
      col: Number(m[3]),
      severity: m[4] as 'error' | 'warning',
      message: m[5],
    };
  }
  const g = GENERAL.exec(line);
  if (g) return { kind: 'general', severity: g[1] as 'error' | 'warning', message: g[2] };
  return undefined;
}

/** Whether a located message is about the --set overrides rather than a file. */
export function isOverrideMessage(m: TrainerMessage): boolean {
  return m.kind === 'located' && m.file === OVERRIDE_FILE;
}

interface LineRange {
  /** 0-based. */
  line: number;
  /** 0-based UTF-16 offsets. */
  start: number;
  end: number;
}

/**
 * The editor range of a 1-based line and byte column in `text`: from the
 * column to the end of the token there (the value or key the message is
 * about; a quoted path runs to its closing quote), or to the end of the line
 * when the column is at whitespace or past the end. A line past the end of
 * the text lands on the last line.
 */
export function rangeForColumn(text: string | readonly string[], line: number, byteCol: number): LineRange {
  const { index: l, text: s, bom } = sourceLine(text, line);
  const start = byteColToUtf16(s, byteCol);
  let end = start;
  if (s[start] === '"') {
    const close = s.indexOf('"', start + 1);
    end = close === -1 ? s.length : close + 1;
  } else {
    while (end < s.length && s[end] !== ' ' && s[end] !== '\t') end++;
  }
  if (end === start) {
    // Nothing at the column (a missing value): underline the line's text.
    const trimmed = s.replace(/\s+$/, '');
    return { line: l, start: bom, end: Math.max(bom, trimmed.length + bom) };
  }
  return { line: l, start: start + bom, end: end + bom };
}
