// Byte columns -> UTF-16 positions. The addon and the trainer give 1-based
// lines and BYTE columns (UTF-8, as the C++ counts); an editor wants 0-based
// lines and UTF-16 offsets. These helpers convert, given the text that was
// parsed, and split lines as the C++ parser does. No `vscode` import: the
// tests use them under plain Node.

/** The lines as the C++ parser splits them: on '\n', without a trailing '\r'. */
export function splitLines(text: string): string[] {
  return text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

// UTF-8 length of the code point at s[i], and how many UTF-16 units it takes.
// A lone surrogate is sent to the addon as U+FFFD (3 bytes).
function unitAt(s: string, i: number): { bytes: number; units: number } {
  const c = s.charCodeAt(i);
  if (c < 0x80) return { bytes: 1, units: 1 };
  if (c < 0x800) return { bytes: 2, units: 1 };
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return { bytes: 4, units: 2 };
  }
  return { bytes: 3, units: 1 };
}

/**
 * 1-based byte column on `line` -> 0-based UTF-16 character offset. A column
 * inside a multi-byte character maps to that character's start, or with
 * `roundUp` to its end (for range ends); past the end maps to the line's end.
 */
export function byteColToUtf16(line: string, byteCol: number, roundUp = false): number {
  const target = Math.max(0, byteCol - 1);
  let bytes = 0;
  let i = 0;
  while (i < line.length && bytes < target) {
    const u = unitAt(line, i);
    if (bytes + u.bytes > target && !roundUp) break;
    bytes += u.bytes;
    i += u.units;
  }
  return i;
}

export interface Position {
  /** 0-based. */
  line: number;
  /** 0-based UTF-16 offset. */
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/**
 * The line the trainer's 1-based `line` names in `text` (clamped to the
 * text's lines), 0-based, without the UTF-8 byte-order mark the trainer's
 * columns start after; `bom` is the UTF-16 units it took (0 or 1).
 */
export function sourceLine(text: string | readonly string[], line: number): { index: number; text: string; bom: number } {
  const lines = typeof text === 'string' ? splitLines(text) : text;
  const index = Math.min(Math.max(0, line - 1), Math.max(0, lines.length - 1));
  const s = lines[index] ?? '';
  return index === 0 && s.startsWith('\uFEFF') ? { index, text: s.slice(1), bom: 1 } : { index, text: s, bom: 0 };
}

/**
 * An editor range for a 1-based line and byte columns [col, endCol) of
 * `text`, the text that was parsed (pass splitLines(text) when converting
 * many). A UTF-8 byte-order mark starts line 1 and the C++ columns start
 * after it.
 */
export function utf16Range(text: string | readonly string[], line: number, col: number, endCol: number): Range {
  const { index: l, text: s, bom } = sourceLine(text, line);
  const start = byteColToUtf16(s, col) + bom;
  const end = Math.max(start, byteColToUtf16(s, Math.max(col, endCol), true) + bom);
  return { start: { line: l, character: start }, end: { line: l, character: end } };
}
