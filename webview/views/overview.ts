// Overview: loss and validation loss, learning rate, throughput, the step
// time split into phases, and where the time goes per layer. Updates in
// place while a run is live.
import type { Chart } from 'chart.js';
import { formatBytes, formatCount, formatLoss, formatMs } from '../../common/format';
import type { RunModel } from '../../common/runModel';
import { categoryColor, mountChart, stepAxis } from '../charts';
import { withAlpha } from '../color';
import { cardFor, clear, el, showsKeys, stat } from '../dom';
import { bucketRanges, downsample, meanOf, type Point } from '../downsample';
import { layerNames, type View, type ViewState } from '../state';

const MAX_POINTS = 800;
const MAX_BARS = 60;

export class OverviewView implements View {
  readonly element = el('div', { className: 'ts-view' });
  private readonly stats = el('div', { className: 'ts-stats' });
  private readonly problems = el('div');
  private loss: Chart<'line', Point[]> | undefined;
  private lr: Chart<'line', Point[]> | undefined;
  private tps: Chart<'line', Point[]> | undefined;
  private phases: Chart<'bar', number[], string> | undefined;
  private layerTime: Chart<'bar', number[], string> | undefined;
  private empty = el('p', { className: 'ts-empty' });
  private phaseKey = '';
  private layerTimeKey = '';

  render(s: ViewState, full: boolean): void {
    if (full) this.build(s);
    this.renderStats(s.model);
    this.renderProblems(s.model);
    const m = s.model;
    const hasSteps = m.steps.step.length > 0;
    this.empty.hidden = hasSteps;
    this.empty.textContent = m.status === 'live' ? 'Waiting for the first step…' : 'This run recorded no steps.';
    this.updateLoss(s);
    this.updateSeries(this.lr, m.steps.step, m.steps.lr);
    this.updateSeries(this.tps, m.steps.step, m.steps.tokensPerS);
    this.updatePhases(s);
    this.updateLayerTime(s);
  }

  destroy(): void {
    for (const c of [this.loss, this.lr, this.tps, this.phases, this.layerTime]) c?.destroy();
    this.loss = this.lr = this.tps = undefined;
    this.phases = this.layerTime = undefined;
  }

  private build(s: ViewState): void {
    this.destroy();
    clear(this.element);
    this.phaseKey = '';
    this.layerTimeKey = '';
    const t = s.theme;
    const lossSets = [
      { label: 'train loss', data: [] as Point[], borderColor: t.palette[0], backgroundColor: t.palette[0], borderWidth: 1.5, pointRadius: 0 },
      {
        label: 'val loss',
        data: [] as Point[],
        borderColor: t.palette[1],
        backgroundColor: t.palette[1],
        borderWidth: 1.5,
        pointRadius: 3,
        spanGaps: true,
      },
      ...s.compare.map((c, i) => ({
        label: `${c.id} (train)`,
        data: [] as Point[],
        borderColor: withAlpha(t.palette[(i + 2) % t.palette.length], 0.8),
        backgroundColor: t.palette[(i + 2) % t.palette.length],
        borderWidth: 1,
        borderDash: [5, 3],
        pointRadius: 0,
      })),
    ];
    this.loss = mountLine(lossSets, 'loss (nats/token)').chart;
    this.lr = mountLine([{ label: 'learning rate', data: [], borderColor: t.palette[3], backgroundColor: t.palette[3], borderWidth: 1.5, pointRadius: 0 }], 'learning rate').chart;
    this.tps = mountLine([{ label: 'tokens/s', data: [], borderColor: t.palette[2], backgroundColor: t.palette[2], borderWidth: 1, pointRadius: 0 }], 'tokens/s').chart;
    this.phases = mountStacked('ms per step').chart;
    this.layerTime = mountStacked('ms per sampled step').chart;

    const grid = el('div', { className: 'ts-grid' }, [
      cardFor(['train.steps', 'train.eval_every', 'data.val_fraction'], 'Loss', this.loss.canvas.parentElement!, s.compare.length ? 'Dashed: the runs compared with this one.' : undefined),
      cardFor(['train.lr', 'train.min_lr', 'train.warmup', 'train.schedule'], 'Learning rate', this.lr.canvas.parentElement!),
      cardFor(['train.batch', 'train.threads', 'model.context'], 'Throughput', this.tps.canvas.parentElement!),
      cardFor(
        ['train.precision', 'train.checkpoint', 'train.accumulate', 'train.threads', 'train.device'],
        'Step time by phase',
        this.phases.canvas.parentElement!,
        'Mean per group of steps; step 1 (warm-up) is left out.',
      ),
      cardFor(['train.profile_every'], 'Time per layer', this.layerTime.canvas.parentElement!, 'Mean of the sampled (profiled) steps after the first (its warm-up is left out), per layer and phase.'),
    ]);
    this.element.append(this.stats, this.problems, this.empty, grid);
  }

  private renderStats(m: RunModel): void {
    clear(this.stats);
    const s = m.summary;
    const st = m.steps;
    const n = st.step.length;
    const total = m.run?.config.train.steps;
    const steps = typeof total === 'number' ? `${formatCount(n)} / ${formatCount(total)}` : formatCount(n);
    const lastLoss = n ? st.loss[n - 1] : null;
    const lastVal = m.evals.valLoss.length ? m.evals.valLoss[m.evals.valLoss.length - 1] : null;
    const ms = s ? s.ms_per_step : median(st.ms.slice(1));
    const tps = s ? s.tokens_per_s : ms > 0 && m.run ? m.run.tokens_per_step / (ms / 1e3) : NaN;
    const peak = s ? s.peak_bytes : n ? st.peakBytes[n - 1] : NaN;
    this.stats.append(
      showsKeys(stat('steps', steps), 'train.steps'),
      stat('loss', s?.first_loss !== undefined ? `${formatLoss(s.first_loss)} → ${formatLoss(s.final_loss)}` : formatLoss(lastLoss)),
      showsKeys(stat('val loss', formatLoss(s?.final_val_loss ?? lastVal)), 'train.eval_every', 'train.eval_batches'),
      showsKeys(stat('time per step', Number.isFinite(ms) && ms > 0 ? formatMs(ms) : '–', 'median, step 1 left out'), 'train.precision', 'train.checkpoint', 'train.accumulate', 'train.device'),
      showsKeys(stat('tokens/s', Number.isFinite(tps) ? formatCount(tps) : '–'), 'train.batch', 'model.context'),
      showsKeys(stat('peak memory', Number.isFinite(peak) ? formatBytes(peak) : '–', 'tracked by the trainer'), 'train.precision', 'train.checkpoint', 'train.batch'),
    );
    if (m.run?.data.entropy_floor !== undefined) {
      this.stats.append(stat('best possible loss', formatLoss(m.run.data.entropy_floor), 'the entropy floor of the synthetic task'));
    }
    if (s) this.stats.append(stat('wall time', `${s.wall_s.toFixed(1)} s`));
    const d = m.run?.device_info;
    if (d) {
      const free = d.free_bytes !== undefined ? `, ${formatBytes(d.free_bytes)} free at start` : '';
      this.stats.append(showsKeys(stat('device', `${d.name} · ${formatBytes(d.capacity_bytes)}`, `${d.type} (asked for ${d.requested ?? d.type})${free}`), 'train.device'));
    }
  }

  private renderProblems(m: RunModel): void {
    clear(this.problems);
    if (m.errors.length) {
      this.problems.append(
        el('div', { className: 'ts-problems ts-failed' }, [
          el('strong', { text: 'The run failed' }),
          el('ul', {}, m.errors.map((e) => el('li', { text: e }))),
        ]),
      );
    } else if (m.status === 'incomplete') {
      this.problems.append(
        el('div', { className: 'ts-problems ts-failed' }, [
          el('strong', { text: 'The run ended without a summary' }),
          el('span', { text: ': the trainer was killed or crashed; what it recorded up to its last step is shown.' }),
        ]),
      );
    }
    const note = m.run?.device_info?.note;
    if (note) {
      // e.g. `device auto` found no usable GPU: the run is on the CPU.
      this.problems.append(showsKeys(el('div', { className: 'ts-problems' }, [el('strong', { text: 'Device: ' }), el('span', { text: note })]), 'train.device'));
    }
    if (m.streamProblems.count) {
      this.problems.append(
        el('div', { className: 'ts-problems' }, [
          el('strong', { text: `${m.streamProblems.count} line(s) of events.jsonl could not be read` }),
          el('ul', {}, m.streamProblems.messages.slice(0, 5).map((e) => el('li', { text: e }))),
        ]),
      );
    }
  }

  private updateLoss(s: ViewState): void {
    const c = this.loss;
    if (!c) return;
    const m = s.model;
    c.data.datasets[0].data = downsample(m.steps.step, m.steps.loss, MAX_POINTS);
    c.data.datasets[1].data = downsample(m.evals.step, m.evals.valLoss, MAX_POINTS);
    s.compare.forEach((o, i) => {
      const ds = c.data.datasets[2 + i];
      if (ds) ds.data = downsample(o.steps.step, o.steps.loss, MAX_POINTS);
    });
    c.update('none');
  }

  private updateSeries(c: Chart<'line', Point[]> | undefined, xs: number[], ys: (number | null)[]): void {
    if (!c) return;
    c.data.datasets[0].data = downsample(xs, ys, MAX_POINTS);
    c.update('none');
  }

  private updatePhases(s: ViewState): void {
    const c = this.phases;
    if (!c) return;
    const st = s.model.steps;
    // Step 1 carries one-off warm-up; leave it out when there is more.
    const first = st.step.length > 1 ? 1 : 0;
    const ranges = bucketRanges(st.step.length - first, MAX_BARS).map(([a, b]) => [a + first, b + first] as const);
    c.data.labels = ranges.map(([a, b]) => (b - a === 1 ? `${st.step[a]}` : `${st.step[a]}–${st.step[b - 1]}`));
    const key = st.phaseNames.join(',');
    if (key !== this.phaseKey) {
      this.phaseKey = key;
      c.data.datasets = st.phaseNames.map((name) => ({
        label: name,
        data: [] as number[],
        backgroundColor: categoryColor(s.theme, name),
        stack: 'phases',
      }));
    }
    st.phaseNames.forEach((_, p) => {
      c.data.datasets[p].data = ranges.map(([a, b]) => meanOf(st.phaseMs[p], a, b) ?? 0);
    });
    c.update('none');
  }

  private updateLayerTime(s: ViewState): void {
    const c = this.layerTime;
    if (!c) return;
    const lt = s.model.layerTime;
    const names = layerNames(s.model);
    c.data.labels = names;
    const key = lt.phases.join(',');
    if (key !== this.layerTimeKey) {
      this.layerTimeKey = key;
      c.data.datasets = lt.phases.map((name) => ({
        label: name,
        data: [] as number[],
        backgroundColor: categoryColor(s.theme, name),
        stack: 'layer',
      }));
    }
    lt.phases.forEach((_, p) => {
      c.data.datasets[p].data = names.map((_n, i) => lt.meanMs[p][i] ?? 0);
    });
    c.update('none');
  }
}

function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const v = [...xs].sort((a, b) => a - b);
  const k = v.length >> 1;
  return v.length % 2 ? v[k] : (v[k - 1] + v[k]) / 2;
}

type LineSet = {
  label: string;
  data: Point[];
  borderColor: string;
  backgroundColor: string;
  borderWidth: number;
  pointRadius: number;
  borderDash?: number[];
  spanGaps?: boolean;
};

function mountLine(datasets: LineSet[], yTitle: string) {
  return mountChart<'line'>({
    type: 'line',
    data: { datasets: datasets as never },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales: {
        x: stepAxis(),
        y: { type: 'linear', title: { display: true, text: yTitle } },
      },
      plugins: { legend: { display: datasets.length > 1 } },
    },
  }) as unknown as { element: HTMLElement; chart: Chart<'line', Point[]> };
}

function mountStacked(yTitle: string) {
  return mountChart<'bar'>({
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true },
        y: { stacked: true, title: { display: true, text: yTitle } },
      },
      plugins: {
        tooltip: { callbacks: { label: (i) => `${i.dataset.label}: ${formatMs(Number(i.raw))}` } },
      },
    },
  }) as unknown as { element: HTMLElement; chart: Chart<'bar', number[], string> };
}
