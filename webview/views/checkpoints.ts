// Checkpoints: activation checkpointing (recompute instead of store). The
// full view (memory saved against time spent recomputing, per layer) comes
// with the trainer's checkpointing; until a run has any, this says so
// rather than drawing empty charts.
import { formatMs } from '../../extension/format';
import type { RunModel } from '../../extension/runModel';
import { card, clear, el } from '../dom';
import type { View, ViewState } from '../state';

export interface CheckpointFacts {
  setting: string;
  checkpointed: string[];
  /** Mean recompute ms per step, when steps report a recompute phase. */
  recomputeMs: number | null;
}

/** What the run says about checkpointing; null when it has none. */
export function checkpointFacts(m: RunModel): CheckpointFacts | null {
  const setting = typeof m.run?.config.train.checkpoint === 'string' ? (m.run.config.train.checkpoint as string) : 'none';
  const checkpointed = m.layers.filter((l) => l.checkpointed).map((l) => l.name);
  const p = m.steps.phaseNames.indexOf('recompute');
  let recomputeMs: number | null = null;
  if (p !== -1 && m.steps.step.length) {
    const col = m.steps.phaseMs[p];
    recomputeMs = col.reduce((a, b) => a + b, 0) / col.length;
  }
  if (setting === 'none' && checkpointed.length === 0 && recomputeMs === null) return null;
  return { setting, checkpointed, recomputeMs };
}

export class CheckpointsView implements View {
  readonly element = el('div', { className: 'ts-view' });

  render(s: ViewState): void {
    clear(this.element);
    const f = checkpointFacts(s.model);
    if (!f) {
      this.element.append(
        el('p', { className: 'ts-empty', text: 'No checkpointing in this run: every activation is kept (train.checkpoint none).' }),
      );
      return;
    }
    const lines = [
      el('p', { text: `train.checkpoint ${f.setting}` }),
      el('p', {
        text: f.checkpointed.length ? `Checkpointed layers: ${f.checkpointed.join(', ')}` : 'No layer reports being checkpointed yet.',
      }),
    ];
    if (f.recomputeMs !== null) lines.push(el('p', { text: `Recompute: ${formatMs(f.recomputeMs)} per step on average` }));
    this.element.append(card('Activation checkpointing', el('div', {}, lines)));
  }

  destroy(): void {
    clear(this.element);
  }
}
