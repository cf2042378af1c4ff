// What every view renders from, and the contract of a view.
import type { RunModel } from '../common/runModel';
import type { Theme } from './charts';
import type { PanelFocus, ViewSettings } from '../common/protocol';

export interface ViewState {
  model: RunModel;
  /** Runs to compare with (Compare Runs); empty otherwise. */
  compare: RunModel[];
  settings: ViewSettings;
  /** Running as a standalone report: no host to send actions to. */
  standalone: boolean;
  theme: Theme;
  /** What the config line under the editor's cursor refers to; null when nothing. */
  focus: PanelFocus | null;
}

export interface View {
  readonly element: HTMLElement;
  /**
   * Draws the state. `full`: build from scratch (first load, theme change,
   * another run); otherwise only data changed (a live update) and charts
   * are updated in place.
   */
  render(state: ViewState, full: boolean): void;
  /**
   * Shows `state.focus` where marking elements (dom.ts showsKeys/showsLayer)
   * cannot: chart bands, grid rows. Returns whether it shows any of it.
   */
  focus?(state: ViewState): boolean;
  /** Releases charts; the view is not used again. */
  destroy(): void;
}

/** The layer names of a run: from the run record, else from the layer records. */
export function layerNames(m: RunModel): string[] {
  if (m.run) return m.run.layers;
  return m.layers.map((l) => l.name);
}

/** "tiny-gpt.train" from the run record's config path, else the run id. */
export function runTitle(m: RunModel): string {
  const f = m.run?.config_file;
  if (!f) return m.id;
  const parts = f.split(/[\\/]/);
  return parts[parts.length - 1] || m.id;
}

/**
 * Whether an element marked with config keys (space-separated, dom.ts
 * showsKeys) and/or a layer index (showsLayer) shows part of `f`. A section
 * focus (`"train"`, the cursor on its header) matches all its keys.
 */
export function matchesFocus(f: PanelFocus, keys: string | undefined, layer: string | undefined): boolean {
  if (layer !== undefined && f.layers.includes(Number(layer))) return true;
  if (!keys) return false;
  const section = f.key.includes('.') ? undefined : `${f.key}.`;
  return keys.split(' ').some((k) => k === f.key || (section !== undefined && k.startsWith(section)));
}
