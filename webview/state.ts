// What every view renders from, and the contract of a view.
import type { RunModel } from '../extension/runModel';
import type { Theme } from './charts';
import type { ViewSettings } from './protocol';

export interface ViewState {
  model: RunModel;
  /** Runs to compare with (Compare Runs); empty otherwise. */
  compare: RunModel[];
  settings: ViewSettings;
  /** Running as a standalone report: no host to send actions to. */
  standalone: boolean;
  theme: Theme;
}

export interface View {
  readonly element: HTMLElement;
  /**
   * Draws the state. `full`: build from scratch (first load, theme change,
   * another run); otherwise only data changed (a live update) and charts
   * are updated in place.
   */
  render(state: ViewState, full: boolean): void;
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
