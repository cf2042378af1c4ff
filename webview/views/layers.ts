// Layers: one row per layer with its parameters, measured bytes by
// category, the prediction and mean time per phase. Activating a row asks
// the host to show the config line that shapes that layer.
import type { LayerBytes } from '../../common/events/schema';
import { formatBytes, formatCount, formatMs } from '../../common/format';
import type { RunModel } from '../../common/runModel';
import { createDataGrid, type DataGrid } from '../components';
import { clear, el } from '../dom';
import { layerNames, type View, type ViewState } from '../state';

/** A grid row: formatted cells by column key (phase time columns are `t:<phase>`). */
type LayerRow = Record<string, string>;

const MEMORY_COLUMNS: ReadonlyArray<{ key: string; title: string }> = [
  { key: 'index', title: '#' },
  { key: 'name', title: 'Layer' },
  { key: 'params', title: 'Params' },
  { key: 'param', title: 'Weights' },
  { key: 'grad', title: 'Grads' },
  { key: 'optim', title: 'Optimizer' },
  { key: 'act', title: 'Activations' },
  { key: 'workspace', title: 'Workspace' },
  { key: 'total', title: 'Total' },
  { key: 'predicted', title: 'Predicted' },
];

/** Whether a run charges communication buffers to a layer (several ranks): the table then has a Comm column. */
function hasComm(m: RunModel): boolean {
  return m.layers.some((l) => (l.bytes.comm ?? 0) > 0) || (m.run?.predicted.comm ?? 0) > 0;
}

/** The grid's rows, formatted; one `t:<phase>` cell per span phase (mean ms over sampled steps). */
function layerRows(m: RunModel): LayerRow[] {
  const names = layerNames(m);
  const lt = m.layerTime;
  // Every part the row shows, so Total is their sum.
  const sum = (b: LayerBytes | undefined): number =>
    b ? b.param + b.grad + b.optim + b.act + b.workspace + (b.comm ?? 0) : NaN;
  return names.map((name, i) => {
    const rec = m.layers.find((l) => l.index === i);
    const pred = rec?.predicted ?? m.run?.predicted.layers[i]?.bytes;
    const params = rec?.params ?? m.run?.predicted.layers[i]?.params;
    const row: LayerRow = {
      index: String(i),
      name,
      params: params !== undefined ? formatCount(params) : '–',
      param: rec ? formatBytes(rec.bytes.param) : '–',
      grad: rec ? formatBytes(rec.bytes.grad) : '–',
      optim: rec ? formatBytes(rec.bytes.optim) : '–',
      act: rec ? formatBytes(rec.bytes.act) : '–',
      workspace: rec ? formatBytes(rec.bytes.workspace) : '–',
      comm: rec ? formatBytes(rec.bytes.comm ?? 0) : '–',
      total: rec ? formatBytes(sum(rec.bytes)) : '–',
      predicted: pred ? formatBytes(sum(pred)) : '–',
    };
    lt.phases.forEach((p, k) => {
      const v = lt.meanMs[k][i];
      row[`t:${p}`] = v !== undefined && v > 0 ? formatMs(v) : '–';
    });
    return row;
  });
}

export class LayersView implements View {
  readonly element = el('div', { className: 'ts-view' });
  private grid: DataGrid<LayerRow> | undefined;
  private key = '';
  private phases = '';
  private comm = false;

  constructor(private readonly onReveal: ((index: number, name: string) => void) | undefined) {}

  render(s: ViewState, full: boolean): void {
    const m = s.model;
    const phases = m.layerTime.phases.join(',');
    const comm = hasComm(m);
    if (full || !this.grid || phases !== this.phases || comm !== this.comm) this.build(m.layerTime.phases, comm);
    // Re-setting rows resets focus and scroll: only when something shown changed.
    const key = `${m.layers.length}|${m.run ? 1 : 0}|${m.layerTime.sampledSteps}`;
    if (key === this.key) return;
    this.key = key;
    this.grid?.setRows(layerRows(m));
  }

  focus(s: ViewState): boolean {
    const layers = new Set(s.focus?.layers ?? []);
    const mark = (): void => {
      this.grid?.markRows((row) => layers.has(Number(row.index)), 'ts-focus');
    };
    mark();
    // The grid draws rows set a moment ago on a later frame: mark those too.
    requestAnimationFrame(mark);
    // Every layer has a row.
    return layers.size > 0 && this.grid !== undefined;
  }

  destroy(): void {
    clear(this.element);
    this.grid = undefined;
  }

  private build(phases: readonly string[], comm: boolean): void {
    clear(this.element);
    this.key = '';
    this.phases = phases.join(',');
    this.comm = comm;
    const memory = comm ? MEMORY_COLUMNS.flatMap((c) => (c.key === 'workspace' ? [c, { key: 'comm', title: 'Comm' }] : [c])) : MEMORY_COLUMNS;
    const columns = [...memory, ...phases.map((p) => ({ key: `t:${p}`, title: `${p} time` }))];
    // Ten memory columns and one per phase: at equal widths they overflow a
    // 1,400 px panel, sized to their content they fit.
    this.grid = createDataGrid<LayerRow>(
      columns,
      this.onReveal ? (row) => this.onReveal?.(Number(row.index), row.name) : undefined,
      { fit: true },
    );
    this.element.append(
      el('p', {
        className: 'ts-grid-hint',
        text:
          'Memory: measured peaks over the first step. Time: mean over the sampled (profiled) steps.' +
          (this.onReveal ? ' Click a layer to show the config line that shapes it.' : ''),
      }),
      el('div', { className: 'ts-table-wrap' }, [this.grid.element]),
    );
  }
}
