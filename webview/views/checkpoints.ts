// Checkpoints: activation checkpointing (recompute instead of store). The
// full view (memory saved against time spent recomputing, per layer) comes
// with the trainer's checkpointing; until a run has any, this says so
// rather than drawing empty charts.
import type { Chart, Plugin } from 'chart.js';
import { formatBytes, formatMs } from '../../common/format';
import type { RunModel } from '../../common/runModel';
import { mountChart, type Theme } from '../charts';
import { cardFor, clear, el, showsLayer } from '../dom';
import type { View, ViewState } from '../state';
import { type CheckpointCurve, checkpointCurve, type CurvePoint, pointTags, runCheckpoint, sharedRecompute } from './checkpointCurve';

interface CheckpointFacts {
  setting: string;
  /** The checkpointed layers: index (into the run's layers) and name. */
  checkpointed: { index: number; name: string }[];
  /** Mean recompute ms per step, when steps report a recompute phase. */
  recomputeMs: number | null;
}

/** What the run says about checkpointing; null when it has none. */
export function checkpointFacts(m: RunModel): CheckpointFacts | null {
  const setting = typeof m.run?.config.train.checkpoint === 'string' ? (m.run.config.train.checkpoint as string) : 'none';
  const checkpointed = m.layers.filter((l) => l.checkpointed).map((l) => ({ index: l.index, name: l.name }));
  const p = m.steps.phaseNames.indexOf('recompute');
  let recomputeMs: number | null = null;
  if (p !== -1 && m.steps.step.length) {
    const col = m.steps.phaseMs[p];
    recomputeMs = col.reduce((a, b) => a + b, 0) / col.length;
  }
  if (setting === 'none' && checkpointed.length === 0 && recomputeMs === null) return null;
  return { setting, checkpointed, recomputeMs };
}

/**
 * Writes each schedule's segment count over its point, and under the
 * marked ones what they are (sqrt(L), the budget plan, this run).
 */
function pointLabels(curve: CheckpointCurve, theme: Theme): Plugin<'line'> {
  return {
    id: 'tsCheckpointLabels',
    afterDatasetsDraw(chart) {
      const x = chart.scales.x;
      const y = chart.scales.y;
      if (!x || !y) return;
      const ctx = chart.ctx;
      ctx.save();
      ctx.font = `11px ${theme.font}`;
      ctx.fillStyle = theme.fg;
      ctx.textAlign = 'center';
      curve.points.forEach((p, i) => {
        const px = x.getPixelForValue(i);
        const py = y.getPixelForValue(p.peakActMB);
        ctx.textBaseline = 'bottom';
        ctx.fillText(`k=${p.segments}`, px, py - 8);
        const tags = pointTags(p);
        if (!tags.length) return;
        ctx.textBaseline = 'top';
        ctx.fillText(tags.join(', '), px, py + 10);
      });
      ctx.restore();
    },
  };
}

/** Why every checkpointed schedule shows the same recompute (checkpointCurve.ts sharedRecompute). */
function sharedRecomputeNote(shared: { pct: number; blocks: number }, layers: unknown): string {
  const which = shared.blocks === layers ? `all ${shared.blocks}` : typeof layers === 'number' ? `${shared.blocks} of the ${layers}` : String(shared.blocks);
  return (
    `Every checkpointed schedule recomputes the forward of ${which} blocks once, however it groups them: ` +
    `${shared.pct.toFixed(1)}% of a step’s FLOPs (its forward and backward, three forwards’ worth, of every block and the LM head). ` +
    'The schedules differ in memory, not in recompute.'
  );
}

export class CheckpointsView implements View {
  readonly element = el('div', { className: 'ts-view' });
  private readonly facts = el('div');
  private readonly curveHost = el('div');
  private chart: Chart<'line', (number | null)[]> | undefined;
  private curveKey = '';

  render(s: ViewState, full = true): void {
    if (!this.element.firstChild) this.element.append(this.facts, this.curveHost);
    this.renderFacts(s);
    const run = s.model.run;
    const plan = run?.plan;
    const key = plan && run ? `${s.model.id}|${runCheckpoint(run) ?? ''}|${plan.schedules?.length ?? 0}` : '';
    if (full || key !== this.curveKey) this.renderCurve(s, key);
  }

  private renderFacts(s: ViewState): void {
    clear(this.facts);
    const f = checkpointFacts(s.model);
    if (!f) {
      this.facts.append(
        el('p', { className: 'ts-empty', text: 'No checkpointing in this run: every activation is kept (train.checkpoint none).' }),
      );
      return;
    }
    // One element per checkpointed layer, so the one under the editor's cursor can be highlighted.
    const list = el('p');
    if (f.checkpointed.length) {
      list.append('Checkpointed layers: ');
      f.checkpointed.forEach((l, i) => list.append(...(i ? [', '] : []), showsLayer(el('span', { text: l.name }), l.index)));
    } else {
      list.textContent = 'No layer reports being checkpointed yet.';
    }
    const lines = [el('p', { text: `train.checkpoint ${f.setting}` }), list];
    if (f.recomputeMs !== null) lines.push(el('p', { text: `Recompute: ${formatMs(f.recomputeMs)} per step on average` }));
    this.facts.append(cardFor(['train.checkpoint'], 'Activation checkpointing', el('div', {}, lines)));
  }

  private renderCurve(s: ViewState, key: string): void {
    this.chart?.destroy();
    this.chart = undefined;
    clear(this.curveHost);
    this.curveKey = key;
    const run = s.model.run;
    if (!run?.plan || !Array.isArray(run.plan.schedules) || run.plan.schedules.length === 0) return;
    const curve = checkpointCurve(run.plan, runCheckpoint(run));
    if (!curve.points.length) return;
    const t = s.theme;
    // One category per schedule, by segment count: with blocks alike every
    // schedule recomputes about one forward pass, so recompute against
    // memory stacks them on one vertical line; by schedule, memory shows its
    // (k + L/k) curve and recompute its own line on the right axis.
    const only = (pick: (p: CurvePoint) => boolean) => curve.points.map((p) => (pick(p) ? p.peakActMB : null));
    const marker = (label: string, data: (number | null)[], color: string, style: 'rectRot' | 'triangle' | 'circle', radius: number) => ({
      label,
      data,
      yAxisID: 'y',
      showLine: false,
      pointStyle: style,
      pointRadius: radius,
      pointHoverRadius: radius + 2,
      borderColor: color,
      backgroundColor: color,
    });
    const datasets = [
      {
        label: 'peak activations',
        data: curve.points.map((p) => p.peakActMB),
        yAxisID: 'y',
        borderColor: t.palette[0],
        backgroundColor: t.palette[0],
        borderWidth: 1.5,
        pointRadius: 3,
      },
      {
        label: 'recompute',
        data: curve.points.map((p) => p.recomputePct),
        yAxisID: 'y1',
        borderColor: t.palette[1],
        backgroundColor: t.palette[1],
        borderWidth: 1.5,
        borderDash: [5, 3],
        pointRadius: 2,
      },
      marker('sqrt(L)', only((p) => p.sqrt), t.palette[2], 'rectRot', 7),
      ...(curve.points.some((p) => p.budget) ? [marker('budget plan', only((p) => p.budget), t.palette[3], 'triangle', 8)] : []),
      { ...marker('this run', only((p) => p.run), 'transparent', 'circle', 10), borderColor: t.error, borderWidth: 2.5 },
    ];
    const maxRecompute = Math.max(...curve.points.map((p) => p.recomputePct));
    this.chart = mountChart<'line'>(
      {
        type: 'line',
        data: { labels: curve.points.map((p) => p.label), datasets: datasets as never },
        options: {
          interaction: { mode: 'index', intersect: false },
          layout: { padding: { top: 16 } },
          scales: {
            // offset: the first and last points (and their labels) clear of the axes.
            x: { type: 'category', offset: true, title: { display: true, text: 'checkpoint schedule (k: segments)' } },
            y: {
              type: 'linear',
              beginAtZero: true,
              // Keep the budget line in view when it is above every schedule.
              suggestedMax: curve.budgetMB !== null ? curve.budgetMB * 1.05 : undefined,
              title: { display: true, text: 'peak activations (MB)' },
            },
            y1: {
              type: 'linear',
              position: 'right',
              beginAtZero: true,
              // Room above the line for the labels of the memory points.
              suggestedMax: Math.max(10, maxRecompute * 1.5),
              grid: { drawOnChartArea: false },
              title: { display: true, text: 'recompute (% of a step)' },
            },
          },
          plugins: {
            tooltip: {
              filter: (i) => i.datasetIndex === 0,
              callbacks: {
                label: (i) => {
                  const p = curve.points[i.dataIndex];
                  return `${p.segments} segment${p.segments === 1 ? '' : 's'}, ${p.recomputePct.toFixed(1)}% recompute, ${formatBytes(p.peakActBytes)} activations (${formatBytes(p.peakBytes)} peak)`;
                },
                footer: (items) => {
                  const p = items.length ? curve.points[items[0].dataIndex] : undefined;
                  return p ? `train.checkpoint ${p.checkpoint}` : '';
                },
              },
            },
            refLines: {
              lines:
                curve.budgetMB !== null
                  ? [{ value: curve.budgetMB, label: `budget ${formatBytes(curve.budgetMB * 1e6)}${curve.budgetFits === false ? ' (does not fit)' : ''}`, kind: 'budget', keepInView: true }]
                  : [],
              axis: 'y',
            },
          },
        },
        plugins: [pointLabels(curve, t)],
      },
      true,
    ).chart as unknown as Chart<'line', (number | null)[]>;
    const note =
      `One point per checkpoint schedule the planner evaluated (none, every K blocks, sqrt(L)${curve.points.some((p) => p.budget) ? ', the budget’s plan' : ''}), by segment count k: ` +
      'peak activation memory (left axis) and the forward work recomputed in the backward pass (right axis).' +
      (curve.budgetMB !== null ? ' The dashed line is the checkpoint budget.' : '');
    const card = cardFor(['train.checkpoint'], 'Memory versus recompute', this.chart.canvas.parentElement!, note);
    // A flat recompute line looks like a fault of the chart: say why it is flat.
    const shared = sharedRecompute(curve);
    if (shared) card.append(el('p', { className: 'ts-note', text: sharedRecomputeNote(shared, run.config.model.layers) }));
    this.curveHost.append(card);
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
    this.curveKey = '';
    clear(this.element);
  }
}
