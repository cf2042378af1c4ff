// Compare: the headline numbers and the peak memory by category of several
// runs side by side, oldest first, with the change from the first to the
// last (Compare Runs; Apply and Re-profile opens it on before and after).
// Their loss curves are overlaid on the Overview.
import { createDataGrid } from '../components';
import { card, clear, el } from '../dom';
import type { View, ViewState } from '../state';
import { type CompareRow, compareRows, type MemoryRow, memoryRows } from './compareTable';

export class CompareView implements View {
  readonly element = el('div', { className: 'ts-view' });

  render(s: ViewState, full: boolean): void {
    if (!full && s.model.status !== 'live') return;
    clear(this.element);
    const runs = [s.model, ...s.compare];
    const headline = createDataGrid<CompareRow>([
      { key: 'run', title: 'Run' },
      { key: 'status', title: 'Status' },
      { key: 'params', title: 'Params' },
      { key: 'steps', title: 'Steps' },
      { key: 'loss', title: 'Final loss' },
      { key: 'val', title: 'Val loss' },
      { key: 'ms', title: 'ms/step' },
      { key: 'tps', title: 'tokens/s' },
      { key: 'peak', title: 'Peak memory' },
    ]);
    headline.setRows(compareRows(runs));
    const memory = createDataGrid<MemoryRow>([
      { key: 'run', title: 'Run' },
      { key: 'param', title: 'param' },
      { key: 'grad', title: 'grad' },
      { key: 'optim', title: 'optim' },
      { key: 'act', title: 'act' },
      { key: 'workspace', title: 'workspace' },
      { key: 'comm', title: 'comm' },
      { key: 'peak', title: 'Peak' },
    ]);
    memory.setRows(memoryRows(runs));
    const note = runs.length >= 2 ? 'Oldest run first; the last row is the change from the first run to the last.' : undefined;
    this.element.append(
      card('Runs', el('div', { className: 'ts-table-wrap' }, [headline.element]), note),
      card('Peak memory by category', el('div', { className: 'ts-table-wrap' }, [memory.element]), "Each category's own peak over the run (they need not add up to the peak)."),
    );
  }

  destroy(): void {
    clear(this.element);
  }
}
