// The one TypeScript reading of `.train` text: the header and key lines
// with their spans, by the rules of the C++ parser's line split
// (native/core config parser, docs/config.md "Lines"). The addon's analyze()
// returns the same outline from the parser itself, and the editor uses that;
// this lexer is for what must work without the addon (starting a run,
// revealing a layer's key, the panel's cursor highlight) and for tests. A
// test holds the two to the same outline on every fixture config.
// No `vscode` import.
import type { Outline, OutlineLine } from '../native/addon';
import { splitLines } from '../native/positions';

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t';

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s[i])) i++;
  return i;
}

interface ValueSpan {
  /** 0-based UTF-16 offsets on the line. */
  keyStart: number;
  keyEnd: number;
  /** The value, [start, end): empty (start === end === keyEnd) when the key has none. */
  start: number;
  end: number;
}

/**
 * Where the key and value of a key line are: the key runs to the first
 * blank, the value to the end of the line or to a `#` that follows a blank
 * outside double quotes, without trailing blanks. undefined for a header,
 * blank or comment line.
 */
export function valueSpan(line: string): ValueSpan | undefined {
  const keyStart = skipSpace(line, 0);
  if (keyStart === line.length || line[keyStart] === '#' || line[keyStart] === '[') return undefined;
  let keyEnd = keyStart;
  while (keyEnd < line.length && !isSpace(line[keyEnd])) keyEnd++;
  const start = skipSpace(line, keyEnd);
  let end = start;
  let quoted = false;
  for (; end < line.length; end++) {
    if (line[end] === '"') quoted = !quoted;
    if (line[end] === '#' && !quoted && end > 0 && isSpace(line[end - 1])) break;
  }
  while (end > start && isSpace(line[end - 1])) end--;
  return end > start ? { keyStart, keyEnd, start, end } : { keyStart, keyEnd, start: keyEnd, end: keyEnd };
}

/** The outline of `text`, as the addon's analyze() reports it. */
export function outlineOf(text: string): Outline {
  const out: OutlineLine[] = [];
  let section = '';
  splitLines(text).forEach((raw, line) => {
    // A byte-order mark is invisible in editors; the parser's columns start after it.
    const bom = line === 0 && raw.startsWith('\uFEFF') ? 1 : 0;
    const s = bom ? raw.slice(1) : raw;
    const i = skipSpace(s, 0);
    if (s[i] === '[') {
      const close = s.indexOf(']', i);
      const end = close === -1 ? s.length : close + 1;
      section = close === -1 ? '' : s.slice(i + 1, close).replace(/^[ \t]+|[ \t]+$/g, '');
      out.push({ line, header: true, section, key: '', start: i + bom, end: end + bom, valueStart: end + bom, valueEnd: end + bom });
      return;
    }
    const v = valueSpan(s);
    if (!v) return;
    out.push({
      line,
      header: false,
      section,
      key: s.slice(v.keyStart, v.keyEnd),
      start: v.keyStart + bom,
      end: v.keyEnd + bom,
      valueStart: v.start + bom,
      valueEnd: v.end + bom,
    });
  });
  return out;
}
