// Compare: the headline numbers of several runs side by side (Compare Runs);
// their loss curves are overlaid on the Overview.
import { formatBytes, formatCount, formatLoss, formatMs } from '../../extension/format';
import type { RunModel } from '../../extension/runModel';
import { createDataGrid } from '../components';
import { clear, el } from '../dom';
import type { View, ViewState } from '../state';

export interface CompareRow {
  run: string;
  status: string;
  params: string;
  steps: string;
  loss: string;
  val: string;
  ms: string;
  tps: string;
  peak: string;
}

export function compareRow(m: RunModel): CompareRow {
  const s = m.summary;
  const n = m.steps.step.length;
  return {
    run: m.id,
    status: m.status,
    params: m.run ? formatCount(m.run.params) : '–',
    steps: formatCount(n),
    loss: formatLoss(s?.final_loss ?? (n ? m.steps.loss[n - 1] : null)),
    val: formatLoss(s?.final_val_loss ?? null),
    ms: s ? formatMs(s.ms_per_step) : '–',
    tps: s ? formatCount(s.tokens_per_s) : '–',
    peak: s ? formatBytes(s.peak_bytes) : '–',
  };
}

export class CompareView implements View {
  readonly element = el('div', { className: 'ts-view' });

  render(s: ViewState, full: boolean): void {
    if (!full && s.model.status !== 'live') return;
    clear(this.element);
    const grid = createDataGrid<CompareRow>([
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
    grid.setRows([s.model, ...s.compare].map(compareRow));
    this.element.append(el('div', { className: 'ts-table-wrap' }, [grid.element]));
  }

  destroy(): void {
    clear(this.element);
  }
}
