// Questions about a config's outline (the addon's analyze(), or the lexer's
// when the addon is absent): which key a line sets, where a key or section
// is, which config line shapes a layer, what the line under the cursor
// refers to in the profile panel. The parser stays the authority on what a
// config means; these only find where things are. No `vscode` import.
import type { PlanReport } from '../../common/events/schema';
import type { PanelFocus } from '../../common/protocol';
import type { Outline, OutlineLine } from '../native/addon';

/** The section a 0-based line is in, or undefined before any header. */
export function sectionAt(outline: Outline, line: number): string | undefined {
  let section: string | undefined;
  for (const o of outline) {
    if (o.line > line) break;
    if (o.header) section = o.section;
  }
  return section;
}

/** The key line at a 0-based line, if that line is one (not a header, blank or comment). */
export function keyAt(outline: Outline, line: number): OutlineLine | undefined {
  return outline.find((o) => o.line === line && !o.header);
}

/** The 0-based line of the `[section]` header (the first one), if any. */
export function findSectionLine(outline: Outline, section: string): number | undefined {
  return outline.find((o) => o.header && o.section === section)?.line;
}

/** The line setting `section.key` (the first), if the text sets it. */
export function findKey(outline: Outline, section: string, key: string): OutlineLine | undefined {
  return outline.find((o) => !o.header && o.section === section && o.key === key);
}

/** The 0-based line setting `section.key`, if the text sets it. */
export function findKeyLine(outline: Outline, section: string, key: string): number | undefined {
  return findKey(outline, section, key)?.line;
}

/**
 * The config key that shapes a layer, for "reveal in config" from the
 * Layers view: blocks come from `model.layers`, the embedding's size from
 * `model.vocab` (and width); anything else goes to the `[model]` section.
 */
function configKeyForLayer(name: string): { section: string; key: string | undefined } {
  if (name.startsWith('block')) return { section: 'model', key: 'layers' };
  if (name === 'embed') return { section: 'model', key: 'vocab' };
  return { section: 'model', key: undefined };
}

/**
 * The 0-based line to reveal for a layer: the key's line if the config sets
 * it, else its section header, else the first line.
 */
export function lineForLayer(outline: Outline, layerName: string): number {
  const { section, key } = configKeyForLayer(layerName);
  if (key !== undefined) {
    const k = findKeyLine(outline, section, key);
    if (k !== undefined) return k;
  }
  return findSectionLine(outline, section) ?? 0;
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
 * names the blocks of a `layers` list (`listed`: the blocks the parser read
 * from it, when the addon analysed the text), or (sqrt, every K, budget)
 * those the run checkpointed. Undefined on blank and comment lines.
 */
export function focusAt(
  outline: Outline,
  lineText: string,
  line: number,
  run: RunLayers,
  listed?: readonly number[],
): PanelFocus | undefined {
  const o = outline.find((x) => x.line === line);
  if (!o) return undefined;
  if (o.header) return { key: o.section, layers: [] };
  if (!o.section) return undefined;
  const key = `${o.section}.${o.key}`;
  const all = run.names.map((_, i) => i);
  const named = (test: (name: string) => boolean): number[] => all.filter((i) => test(run.names[i]));
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
      const value = lineText.slice(o.valueStart, o.valueEnd);
      if (/^layers\b/.test(value)) layers = (listed ?? []).map((b) => run.names.indexOf(`block.${b}`)).filter((i) => i >= 0);
      else if (value !== 'none') layers = [...run.checkpointed];
      break;
    }
  }
  return { key, layers };
}

/**
 * The blocks a config's own checkpoint plan recomputes, from the addon's
 * analysis (undefined when it could not plan the config).
 */
export function plannedBlocks(plan: PlanReport | null): number[] | undefined {
  if (!plan) return undefined;
  const out: number[] = [];
  for (const l of plan.prediction.layers) {
    const m = /^block\.(\d+)$/.exec(l.name);
    if (m && l.checkpointed) out.push(Number(m[1]));
  }
  return out;
}
