// Memory: each layer's measured bytes by category beside the memory model's
// prediction, the run's peak (measured against predicted) against the
// device's capacity and the `trainscope.memoryBudget` line, and tracked
// memory over the steps.
import type { Chart } from 'chart.js';
import type { LayerBytes } from '../../common/events/schema';
import { formatBytes } from '../../common/format';
import type { RunModel } from '../../common/runModel';
import { categoryColor, type FocusBandsOptions, mountChart, type RefLine, type RefLinesOptions, stepAxis } from '../charts';
import { withAlpha } from '../color';
import { cardFor, clear, el, showsKeys, stat } from '../dom';
import { downsample, type Point } from '../downsample';
import { layerNames, type View, type ViewState } from '../state';

const CATEGORIES: readonly (keyof LayerBytes)[] = ['param', 'grad', 'optim', 'act', 'workspace'];
const PREDICTED_ALPHA = 0.45;
/** The config keys that move a step's peak memory. */
const PEAK_KEYS = ['train.precision', 'train.checkpoint', 'train.batch', 'train.accumulate', 'model.context'];

/** Measured and predicted bytes per category at the run's peak. */
function peakBreakdown(m: RunModel): { measured: Record<string, number> | null; predicted: Record<string, number> | null } {
  const p = m.run?.predicted;
  const predicted = p
    ? {
        param: p.param,
        grad: p.grad,
        optim: p.optim,
        act: p.peak_act_bytes,
        workspace: p.peak_workspace_bytes,
        // The all-reduce's staging buffer (several ranks), beside the measured comm.
        ...((p.comm ?? 0) > 0 ? { comm: p.comm ?? 0 } : {}),
      }
    : null;
  let measured: Record<string, number> | null = null;
  if (m.summary) {
    measured = {};
    for (const c of CATEGORIES) measured[c] = m.summary.peak_by_category[c] ?? 0;
    // Categories a later trainer adds (comm) show up too.
    for (const [k, v] of Object.entries(m.summary.peak_by_category)) if (!(k in measured) && v > 0) measured[k] = v;
  }
  return { measured, predicted };
}

export class MemoryView implements View {
  readonly element = el('div', { className: 'ts-view' });
  private readonly stats = el('div', { className: 'ts-stats' });
  private perLayer: Chart<'bar', number[], string> | undefined;
  private peak: Chart<'bar', number[], string> | undefined;
  private overSteps: Chart<'line', Point[]> | undefined;
  private readonly empty = el('p', { className: 'ts-empty' });
  /** Under the peak chart: names the lines it draws, and only those. */
  private readonly peakNote = el('p', { className: 'ts-note' });
  private layersKey = '';
  private focusKey = '';

  render(s: ViewState, full: boolean): void {
    if (full) this.build(s);
    const m = s.model;
    this.renderStats(s);
    const hasLayers = m.layers.length > 0;
    this.empty.hidden = hasLayers || m.run !== null;
    this.empty.textContent = m.status === 'live' ? 'Waiting for the run to start…' : 'This run recorded no memory.';
    this.updatePerLayer(s);
    this.updatePeak(s);
    this.updateOverSteps(s);
  }

  focus(s: ViewState): boolean {
    const c = this.perLayer;
    const layers = s.focus?.layers ?? [];
    const key = layers.join(',');
    if (c && key !== this.focusKey) {
      this.focusKey = key;
      const plugins = c.options.plugins as { focusBands?: FocusBandsOptions } | undefined;
      if (plugins) plugins.focusBands = { indices: layers };
      c.update('none');
    }
    return layers.length > 0 && c !== undefined;
  }

  destroy(): void {
    this.perLayer?.destroy();
    this.peak?.destroy();
    this.overSteps?.destroy();
    this.perLayer = this.peak = undefined;
    this.overSteps = undefined;
  }

  private build(s: ViewState): void {
    this.destroy();
    clear(this.element);
    this.layersKey = '';
    this.focusKey = '';
    const t = s.theme;
    const bytesTick = { callback: (v: string | number) => formatBytes(Number(v)) };
    const tooltipBytes = {
      callbacks: { label: (i: { dataset: { label?: string }; raw: unknown }) => `${i.dataset.label}: ${formatBytes(Number(i.raw))}` },
    };
    const layerSets = CATEGORIES.flatMap((c) => [
      { label: c, data: [] as number[], backgroundColor: categoryColor(t, c), stack: 'measured' },
      { label: `${c} (predicted)`, data: [] as number[], backgroundColor: withAlpha(categoryColor(t, c), PREDICTED_ALPHA), stack: 'predicted' },
    ]);
    this.perLayer = mountChart<'bar'>(
      {
        type: 'bar',
        data: { labels: [], datasets: layerSets },
        options: {
          interaction: { mode: 'index', intersect: false },
          scales: { x: { stacked: true }, y: { stacked: true, ticks: bytesTick, title: { display: true, text: 'bytes' } } },
          plugins: {
            tooltip: tooltipBytes,
            focusBands: { indices: [] },
            // Predicted twins share their category's legend entry.
            legend: { labels: { filter: (item) => !String(item.text).endsWith('(predicted)') } },
          },
        },
      },
      true,
    ).chart as unknown as Chart<'bar', number[], string>;
    const peakSets = CATEGORIES.map((c) => ({ label: c, data: [] as number[], backgroundColor: categoryColor(t, c), stack: 'peak' }));
    this.peak = mountChart<'bar'>({
      type: 'bar',
      data: { labels: ['measured', 'predicted'], datasets: peakSets },
      options: {
        indexAxis: 'y',
        interaction: { mode: 'index', intersect: false },
        scales: { x: { stacked: true, ticks: bytesTick, beginAtZero: true }, y: { stacked: true } },
        plugins: { tooltip: tooltipBytes, refLines: { lines: [], axis: 'x' } },
      },
    }).chart as unknown as Chart<'bar', number[], string>;
    this.overSteps = mountChart<'line'>({
      type: 'line',
      data: {
        datasets: [
          { label: 'live', data: [] as Point[], borderColor: t.palette[0], backgroundColor: t.palette[0], borderWidth: 1.5, pointRadius: 0 },
          { label: 'peak so far', data: [] as Point[], borderColor: t.palette[5], backgroundColor: t.palette[5], borderWidth: 1.5, pointRadius: 0 },
        ] as never,
      },
      options: {
        parsing: false,
        normalized: true,
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        scales: { x: stepAxis(), y: { type: 'linear', beginAtZero: true, ticks: bytesTick } },
        plugins: { tooltip: tooltipBytes, refLines: { lines: [], axis: 'y' } },
      },
    }).chart as unknown as Chart<'line', Point[]>;
    const peakCard = cardFor(PEAK_KEYS, 'Peak memory', this.peak.canvas.parentElement!);
    peakCard.append(this.peakNote);
    const grid = el('div', { className: 'ts-grid' }, [
      peakCard,
      cardFor(['train.steps'], 'Memory over the run', this.overSteps.canvas.parentElement!, 'Memory the trainer tracks, after each step.'),
    ]);
    const layers = cardFor(
      ['model.layers', 'model.width', 'model.vocab', 'model.context'],
      'Memory per layer',
      this.perLayer.canvas.parentElement!,
      'For each layer, the left bar is measured (the first step’s peaks), the right one the memory model’s prediction.',
    );
    this.element.append(this.stats, this.empty, layers, grid);
  }

  private renderStats(s: ViewState): void {
    clear(this.stats);
    const m = s.model;
    const n = m.steps.step.length;
    const measured = m.summary?.peak_bytes ?? (n ? m.steps.peakBytes[n - 1] : undefined);
    const predicted = m.run?.predicted.peak_bytes;
    this.stats.append(showsKeys(stat('peak (measured)', measured !== undefined ? formatBytes(measured) : '–'), ...PEAK_KEYS));
    this.stats.append(showsKeys(stat('peak (predicted)', predicted !== undefined ? formatBytes(predicted) : '–'), ...PEAK_KEYS));
    if (measured !== undefined && predicted) {
      const err = ((measured - predicted) / predicted) * 100;
      this.stats.append(stat('prediction error', `${err >= 0 ? '+' : ''}${err.toFixed(1)}%`));
    }
    if (m.summary) this.stats.append(stat('process RSS peak', formatBytes(m.summary.rss_peak_bytes), 'everything the process held, untracked memory included'));
    const worst = Math.max(measured ?? 0, predicted ?? 0);
    const [cap] = capacityLine(m, worst);
    if (cap) {
      const e = stat('device memory', `${formatBytes(cap.value)}, peak ${((worst / cap.value) * 100).toFixed(1)}%`, cap.label);
      if (worst > cap.value) e.classList.add('ts-error');
      this.stats.append(showsKeys(e, 'train.device'));
    }
    const budget = s.settings.budgetBytes;
    if (budget !== null) {
      const e = stat('budget', `${formatBytes(budget)}${worst > budget ? ' — exceeded' : ''}`, 'trainscope.memoryBudget');
      if (worst > budget) e.classList.add('ts-error');
      this.stats.append(e);
    }
  }

  private updatePerLayer(s: ViewState): void {
    const c = this.perLayer;
    if (!c) return;
    const m = s.model;
    // Measured layer records arrive after step 1; until then, show the
    // prediction alone (from the run record).
    const names = m.layers.length ? m.layers.map((l) => l.name) : layerNames(m);
    const key = names.join(',') + `#${m.layers.length}`;
    if (key === this.layersKey) return;
    this.layersKey = key;
    c.data.labels = names;
    CATEGORIES.forEach((cat, i) => {
      c.data.datasets[2 * i].data = names.map((_, j) => m.layers[j]?.bytes[cat] ?? 0);
      c.data.datasets[2 * i + 1].data = names.map((_, j) => m.layers[j]?.predicted[cat] ?? m.run?.predicted.layers[j]?.bytes[cat] ?? 0);
    });
    c.update('none');
  }

  private updatePeak(s: ViewState): void {
    const c = this.peak;
    if (!c) return;
    const { measured, predicted } = peakBreakdown(s.model);
    const cats = [...CATEGORIES, ...Object.keys(measured ?? {}).filter((k) => !(CATEGORIES as string[]).includes(k))];
    while (c.data.datasets.length < cats.length) {
      const name = cats[c.data.datasets.length];
      c.data.datasets.push({ label: name, data: [], backgroundColor: categoryColor(s.theme, name), stack: 'peak' });
    }
    cats.forEach((cat, i) => {
      c.data.datasets[i].data = [measured?.[cat] ?? 0, predicted?.[cat] ?? 0];
    });
    const total = (r: Record<string, number> | null): number => (r ? Object.values(r).reduce((a, b) => a + b, 0) : 0);
    const peak = Math.max(total(measured), total(predicted));
    const lines = [...capacityLine(s.model, peak), ...budgetLine(s.settings.budgetBytes)];
    this.setLines(c, lines, 'x');
    this.peakNote.textContent = peakNote(lines, s.standalone);
    c.update('none');
  }

  private updateOverSteps(s: ViewState): void {
    const c = this.overSteps;
    if (!c) return;
    const st = s.model.steps;
    c.data.datasets[0].data = downsample(st.step, st.liveBytes, 800);
    c.data.datasets[1].data = downsample(st.step, st.peakBytes, 800);
    this.setLines(c, budgetLine(s.settings.budgetBytes), 'y');
    c.update('none');
  }

  /**
   * Draws `lines` across the chart and keeps them in view: the axis reaches
   * past the highest line even when usage is far below it.
   */
  private setLines(c: Chart<'bar', number[], string> | Chart<'line', Point[]>, lines: RefLine[], axis: 'x' | 'y'): void {
    const plugins = c.options.plugins as { refLines?: RefLinesOptions } | undefined;
    if (plugins) plugins.refLines = { lines, axis };
    const scale = c.options.scales?.[axis] as { suggestedMax?: number } | undefined;
    const top = Math.max(0, ...lines.filter((l) => l.keepInView).map((l) => l.value));
    if (scale) scale.suggestedMax = top > 0 ? top * 1.05 : undefined;
  }
}

/**
 * The peak chart's note. A budget is an editor setting that a report has
 * only when it was written with one: the note names the lines drawn.
 */
function peakNote(lines: readonly RefLine[], standalone: boolean): string {
  const parts = ['Bytes per category at the peak of a step.'];
  const cap = lines.find((l) => l.kind === 'capacity');
  if (cap) parts.push(cap.keepInView ? 'The solid line is the device’s memory.' : 'The device’s memory, far above, is named at the right edge.');
  if (lines.some((l) => l.kind === 'budget')) parts.push(`The dashed line is the memory budget${standalone ? '' : ' (trainscope.memoryBudget)'}.`);
  return parts.join(' ');
}

function budgetLine(budget: number | null): RefLine[] {
  return budget !== null ? [{ value: budget, label: `budget ${formatBytes(budget)}`, kind: 'budget', keepInView: true }] : [];
}

/** Capacity more than this many times the peak is left off the axis (its label says so). */
const CAPACITY_IN_VIEW = 4;

/**
 * The device's memory as a line, when the run record says how much it has;
 * kept in view when the peak (`peakBytes`) is within CAPACITY_IN_VIEW of it.
 */
function capacityLine(m: RunModel, peakBytes: number): RefLine[] {
  const d = m.run?.device_info;
  if (!d || !(d.capacity_bytes > 0)) return [];
  return [
    {
      value: d.capacity_bytes,
      label: `${d.name}: ${formatBytes(d.capacity_bytes)}`,
      kind: 'capacity',
      keepInView: peakBytes * CAPACITY_IN_VIEW >= d.capacity_bytes,
    },
  ];
}
