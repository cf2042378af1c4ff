// Minimal text edits to `.train` files: set a key's value in place (the
// rest of the line, comment included, is kept) or insert the key into its
// section, creating the section when the file has none. The code actions
// build on these; they must leave every other byte of the user's file alone.
// Where keys and values are comes from the config's outline (the parser's,
// through the addon's analyze()). No `vscode` import: edits use the 0-based
// UTF-16 positions an editor's line/character positions are.
import { outlineOf } from './lexer';
import { findKey } from './outline';
import type { Outline } from '../native/addon';
import { type Position, type Range, splitLines } from '../native/positions';

export interface TextEdit {
  range: Range;
  newText: string;
}

/** The file's line ending (its first one), so inserted lines match; LF for a one-line file. */
export function eolOf(text: string): '\r\n' | '\n' {
  const nl = text.indexOf('\n');
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
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
function insertAnchor(lines: readonly string[], outline: Outline, section: string): { line: number; indent: string } | undefined {
  const header = outline.findIndex((o) => o.header && o.section === section);
  if (header === -1) return undefined;
  let anchor = { line: outline[header].line, indent: '' };
  for (let i = header + 1; i < outline.length && !outline[i].header; i++) {
    const k = outline[i];
    anchor = { line: k.line, indent: lines[k.line].slice(k.line === 0 && lines[0].startsWith('\uFEFF') ? 1 : 0, k.start) };
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
export function setKeyEdits(
  text: string,
  section: string,
  values: ReadonlyArray<readonly [string, string]>,
  outline: Outline = outlineOf(text),
): TextEdit[] {
  const lines = splitLines(text);
  const eol = eolOf(text);
  const edits: TextEdit[] = [];
  const missing: string[] = [];
  for (const [key, value] of values) {
    const k = findKey(outline, section, key);
    if (k === undefined) {
      missing.push(`${key} ${value}`);
      continue;
    }
    const at = k.line;
    if (lines[at].slice(k.valueStart, k.valueEnd) === value) continue;
    const empty = k.valueStart === k.valueEnd;
    edits.push({ range: { start: pos(at, k.valueStart), end: pos(at, k.valueEnd) }, newText: empty ? ` ${value}` : value });
  }
  if (missing.length) {
    const last = lines.length - 1;
    const anchor = insertAnchor(lines, outline, section);
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
