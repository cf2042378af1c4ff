// Light, line-level reading of `.train` text for editor features that must
// work without the native addon (hover lookup, reveal, CodeLens placement,
// what the line under the cursor refers to in the profile panel).
// The addon's parser stays the authority on what a config means; these
// helpers only find where things are. No `vscode` import.
import type { PanelFocus } from '../../common/protocol';
import { splitLines } from '../native/positions';

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

/** The value of a key line: the text after the key, without a comment. */
function valueOf(line: string, keyEnd: number): string {
  const hash = line.indexOf('#', keyEnd);
  return (hash === -1 ? line.slice(keyEnd) : line.slice(keyEnd, hash)).trim();
}

/**
 * Block indices of a `checkpoint layers 0-3,5` value (docs/config.md), or
 * undefined for another form (`sqrt`, `every K`, `budget SIZE`, `none`) or
 * a malformed list (the parser reports those).
 */
export function checkpointBlocks(value: string): number[] | undefined {
  const m = /^layers\s+(.+)$/.exec(value.trim());
  if (!m) return undefined;
  const out: number[] = [];
  for (const item of m[1].split(',')) {
    const r = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
    if (!r) return undefined;
    const a = Number(r[1]);
    const b = r[2] === undefined ? a : Number(r[2]);
    if (b < a || b - a > 100_000) return undefined;
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/** What a run says about its layers, for {@link focusAt}. */
export interface RunLayers {
  /** Layer names by index (`run.layers`): `embed`, `block.0`, …, `head`. */
  names: readonly string[];
  /** Indices of the layers the run checkpointed. */
  checkpointed: readonly number[];
}

/**
 * What the config line at a 0-based line refers to in a run's profile: its
 * key and the layers it shapes. Blocks come from `model.layers`, `width`
 * and `heads`; the embedding and the head from `model.vocab`; every layer's
 * activations from `model.context` and `train.batch`; `train.checkpoint`
 * names the blocks of a `layers` list, or (sqrt, every K, budget) those the
 * run checkpointed. Undefined on blank and comment lines.
 */
export function focusAt(lines: readonly string[], line: number, run: RunLayers): PanelFocus | undefined {
  const text = lines[line];
  if (text === undefined) return undefined;
  const header = HEADER.exec(text);
  if (header) return { key: header[1], layers: [] };
  const k = keyAt(lines, line);
  if (!k || !k.section) return undefined;
  const key = `${k.section}.${k.key}`;
  const all = run.names.map((_, i) => i);
  const named = (test: (name: string) => boolean): number[] => all.filter((i) => test(run.names[i]));
  const blockIndex = (b: number): number => run.names.indexOf(`block.${b}`);
  let layers: number[] = [];
  switch (key) {
    case 'model.layers':
    case 'model.width':
    case 'model.heads':
      layers = named((n) => n.startsWith('block.'));
      break;
    case 'model.vocab':
      layers = named((n) => n === 'embed' || n === 'head');
      break;
    case 'model.context':
    case 'train.batch':
      layers = all;
      break;
    case 'train.checkpoint': {
      const value = valueOf(text, k.end);
      const blocks = checkpointBlocks(value);
      if (blocks) layers = blocks.map(blockIndex).filter((i) => i >= 0);
      else if (value !== 'none') layers = [...run.checkpointed];
      break;
    }
  }
  return { key, layers };
}
