// Communication: gradient all-reduce between data-parallel ranks. The full
// view (overlap of communication with backward, per bucket) comes with
// multi-rank runs; until then this states what the run has.
import { formatMs } from '../../extension/format';
import type { RunModel } from '../../extension/runModel';
import { card, clear, el } from '../dom';
import type { View, ViewState } from '../state';

export type CommFacts =
  | { kind: 'single-rank' }
  | { kind: 'no-records'; ranks: number }
  | { kind: 'timed'; ranks: number; commMs: number; share: number };

export function commFacts(m: RunModel): CommFacts {
  const ranks = m.run?.ranks ?? 1;
  const p = m.steps.phaseNames.indexOf('comm');
  if (p === -1 || !m.steps.step.length) return ranks > 1 ? { kind: 'no-records', ranks } : { kind: 'single-rank' };
  const comm = m.steps.phaseMs[p].reduce((a, b) => a + b, 0) / m.steps.step.length;
  const total = m.steps.ms.reduce((a, b) => a + b, 0) / m.steps.step.length;
  return { kind: 'timed', ranks, commMs: comm, share: total > 0 ? comm / total : 0 };
}

export class CommunicationView implements View {
  readonly element = el('div', { className: 'ts-view' });

  render(s: ViewState): void {
    clear(this.element);
    const f = commFacts(s.model);
    if (f.kind === 'single-rank') {
      this.element.append(el('p', { className: 'ts-empty', text: 'Single-rank run: no communication.' }));
    } else if (f.kind === 'no-records') {
      this.element.append(el('p', { className: 'ts-empty', text: `This run has ${f.ranks} ranks but recorded no communication timings.` }));
    } else {
      this.element.append(
        card(
          'Gradient communication',
          el('p', { text: `${f.ranks} ranks: ${formatMs(f.commMs)} per step on average (${(f.share * 100).toFixed(1)}% of the step)` }),
        ),
      );
    }
  }

  destroy(): void {
    clear(this.element);
  }
}
