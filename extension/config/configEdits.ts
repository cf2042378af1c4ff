// Minimal text edits to `.train` files: set a key's value in place (the
// rest of the line, comment included, is kept) or insert the key into its
// section, creating the section when the file has none. The code actions
// build on these; they must leave every other byte of the user's file alone.
// No `vscode` import: edits use the 0-based UTF-16 positions of native.ts,
// which an editor's line/character positions are.
import { findKeyLine } from './configText';
import { type Position, type Range, splitLines } from '../native/positions';

export interface TextEdit {
  range: Range;
  newText: string;
}

const HEADER = /^\s*\[([a-z_][a-z0-9_]*)\]/;
const KEY = /^(\s*)([a-z_][a-z0-9_]*)(?=\s|$|#)/;

/** The file's line ending (its first one), so inserted lines match; LF for a one-line file. */
export function eolOf(text: string): '\r\n' | '\n' {
  const nl = text.indexOf('\n');
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
}

export interface ValueSpan {
  /** 0-based UTF-16 offsets on the line. */
  keyStart: number;
  keyEnd: number;
  /** The value, [start, end): empty (start === end === keyEnd) when the key has none. */
  start: number;
  end: number;
}

/**
 * Where the key and value of a key line are, read as the config language
 * does (docs/config.md, "Lines"): the value runs to the end of the line or
 * to a `#` that follows whitespace outside double quotes, without trailing
 * whitespace. undefined for a line that is not a key line.
 */
export function valueSpan(line: string): ValueSpan | undefined {
  if (HEADER.test(line)) return undefined;
  const m = KEY.exec(line);
  if (!m) return undefined;
  const keyStart = m[1].length;
  const keyEnd = keyStart + m[2].length;
  let i = keyEnd;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  const start = i;
  let end = line.length;
  let quoted = false;
  for (let j = start; j < line.length; j++) {
    const c = line[j];
    if (c === '"') quoted = !quoted;
    else if (c === '#' && !quoted && (line[j - 1] === ' ' || line[j - 1] === '\t')) {
      end = j;
      break;
    }
  }
  while (end > start && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  if (end === start) return { keyStart, keyEnd, start: keyEnd, end: keyEnd };
  return { keyStart, keyEnd, start, end };
}

function pos(line: number, character: number): Position {
  return { line, character };
}

/**
 * The line after which a new key of `section` goes: the last key line of the
 * first `[section]` block (comments after it may introduce the next
 * section, so they stay below), else the header itself. undefined when the
 * file has no such section.
 */
function insertAnchor(lines: readonly string[], section: string): { line: number; indent: string } | undefined {
  let header = -1;
  for (let i = 0; i < lines.length; i++) {
    const h = HEADER.exec(lines[i]);
    if (h && h[1] === section) {
      header = i;
      break;
    }
  }
  if (header === -1) return undefined;
  let anchor = { line: header, indent: '' };
  for (let i = header + 1; i < lines.length && !HEADER.test(lines[i]); i++) {
    const k = KEY.exec(lines[i]);
    if (k) anchor = { line: i, indent: k[1] };
  }
  return anchor;
}

/**
 * Edits that give `section` these key values: an existing key line gets its
 * value replaced (or added after a bare key); missing keys are inserted
 * together after the section's last key, or in a new `[section]` at the end
 * of the file. Keys already at the value give no edit. Edits are sorted and
 * do not overlap.
 */
export function setKeyEdits(text: string, section: string, values: ReadonlyArray<readonly [string, string]>): TextEdit[] {
  const lines = splitLines(text);
  const eol = eolOf(text);
  const edits: TextEdit[] = [];
  const missing: string[] = [];
  for (const [key, value] of values) {
    const at = findKeyLine(lines, section, key);
    if (at === undefined) {
      missing.push(`${key} ${value}`);
      continue;
    }
    const span = valueSpan(lines[at]);
    if (!span) continue;
    const current = lines[at].slice(span.start, span.end);
    if (current === value) continue;
    const empty = span.start === span.end;
    edits.push({ range: { start: pos(at, span.start), end: pos(at, span.end) }, newText: empty ? ` ${value}` : value });
  }
  if (missing.length) {
    const last = lines.length - 1;
    const anchor = insertAnchor(lines, section);
    if (anchor) {
      const body = missing.map((l) => anchor.indent + l);
      if (anchor.line < last) {
        edits.push({ range: { start: pos(anchor.line + 1, 0), end: pos(anchor.line + 1, 0) }, newText: body.map((l) => l + eol).join('') });
      } else {
        // The anchor is the last line and has no line ending: a replacement
        // on it may end exactly here, so extend that one rather than add a
        // second edit at the same position.
        const at = pos(anchor.line, lines[anchor.line].length);
        const insert = body.map((l) => eol + l).join('');
        const touching = edits.find((e) => e.range.end.line === at.line && e.range.end.character === at.character);
        if (touching) touching.newText += insert;
        else edits.push({ range: { start: at, end: at }, newText: insert });
      }
    } else {
      const end = pos(last, lines[last].length);
      let prefix = '';
      if (text.length > 0) {
        if (lines[last] !== '') prefix = eol + eol;
        else if (last > 0 && lines[last - 1].trim() !== '') prefix = eol;
      }
      const block = [`[${section}]`, ...missing].map((l) => l + eol).join('');
      edits.push({ range: { start: end, end }, newText: prefix + block });
    }
  }
  return edits.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
}

/** Offsets of each line's start in `text` (lines split on '\n'; a '\r' before it is not in the line). */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

/** The text after the edits (non-overlapping, positions in the original text). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const starts = lineStarts(text);
  const offset = (p: Position): number => Math.min(text.length, (starts[p.line] ?? text.length) + p.character);
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}
