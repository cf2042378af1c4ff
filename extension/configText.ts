// Light, line-level reading of `.train` text for editor features that must
// work without the native addon (hover lookup, reveal, CodeLens placement).
// The addon's parser stays the authority on what a config means; these
// helpers only find where things are. No `vscode` import.
import { splitLines } from './native';

const HEADER = /^\s*\[([a-z_][a-z0-9_]*)\]/;
const KEY = /^(\s*)([a-z_][a-z0-9_]*)(?=\s|$|#)/;

/** The section a 0-based line is in, or undefined before any header. */
export function sectionAt(lines: readonly string[], line: number): string | undefined {
  for (let i = Math.min(line, lines.length - 1); i >= 0; i--) {
    const m = HEADER.exec(lines[i]);
    if (m) return m[1];
  }
  return undefined;
}

export interface KeyAt {
  section: string | undefined;
  key: string;
  /** 0-based UTF-16 span of the key on its line. */
  start: number;
  end: number;
}

/** The key of the key line at a 0-based line, if that line is one (not a header or comment). */
export function keyAt(lines: readonly string[], line: number): KeyAt | undefined {
  const text = lines[line];
  if (text === undefined || HEADER.test(text)) return undefined;
  const m = KEY.exec(text);
  if (!m) return undefined;
  const start = m[1].length;
  return { section: sectionAt(lines, line), key: m[2], start, end: start + m[2].length };
}

/** The 0-based line of the `[section]` header (the first one), if any. */
export function findSectionLine(text: string | readonly string[], section: string): number | undefined {
  const lines = typeof text === 'string' ? splitLines(text) : text;
  for (let i = 0; i < lines.length; i++) {
    const m = HEADER.exec(lines[i]);
    if (m && m[1] === section) return i;
  }
  return undefined;
}

/** The 0-based line setting `section.key`, if the text sets it. */
export function findKeyLine(text: string | readonly string[], section: string, key: string): number | undefined {
  const lines = typeof text === 'string' ? splitLines(text) : text;
  let current: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const h = HEADER.exec(lines[i]);
    if (h) {
      current = h[1];
      continue;
    }
    if (current !== section) continue;
    const k = KEY.exec(lines[i]);
    if (k && k[2] === key) return i;
  }
  return undefined;
}

/**
 * The config key that shapes a layer, for "reveal in config" from the
 * Layers view: blocks come from `model.layers`, the embedding's size from
 * `model.vocab` (and width); anything else goes to the `[model]` section.
 */
export function configKeyForLayer(name: string): { section: string; key: string | undefined } {
  if (name.startsWith('block')) return { section: 'model', key: 'layers' };
  if (name === 'embed') return { section: 'model', key: 'vocab' };
  return { section: 'model', key: undefined };
}

/**
 * The 0-based line to reveal for a layer: the key's line if the config sets
 * it, else its section header, else the first line.
 */
export function lineForLayer(text: string, layerName: string): number {
  const lines = splitLines(text);
  const { section, key } = configKeyForLayer(layerName);
  if (key !== undefined) {
    const k = findKeyLine(lines, section, key);
    if (k !== undefined) return k;
  }
  return findSectionLine(lines, section) ?? 0;
}
