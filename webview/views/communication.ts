// Communication: gradient all-reduce between data-parallel ranks. For a
// multi-rank run, every rank's compute spans and all-reduce buckets of one
// sampled step on one time axis (a canvas: zoom with the wheel, pan by
// dragging, double-click to reset), a per-bucket table and the step records'
// overlap figures. Single-rank runs say they have none.
import { formatBytes, formatMs } from '../../common/format';
import { BAR_COMM, type RankTimeline, type RunModel, type TimelineSample } from '../../common/runModel';
import { barColumns } from '../../common/timelineBars';
import { categoryColor, type Theme } from '../charts';
import { createButton } from '../components';
import { card, cardFor, clear, el } from '../dom';
import type { View, ViewState } from '../state';
import {
  bucketRows,
  commFacts,
  decimate,
  hitTest,
  maxDrawnBars,
  type PixelBars,
  rankCommRows,
  timelineLayout,
  type TimelineLayout,
} from './commTimeline';

const GUTTER = 90;
const LANE_H = 22;
const AXIS_H = 20;

function fmtPct(x: number | null): string {
  return x === null ? '—' : `${x.toFixed(1)}%`;
}

function fmtMsOrDash(x: number | null): string {
  return x === null ? '—' : formatMs(x);
}

/** Rows a table shows at first, and adds per "Show more". */
const TABLE_PAGE = 100;

/**
 * A table of `count` rows made by `row(i)` on demand, TABLE_PAGE at a time:
 * a synthetic or very long run has 10^4+ buckets, and a row of DOM per
 * bucket would cost seconds of layout before anything else shows.
 */
function table(head: string[], count: number, row: (i: number) => string[]): HTMLElement {
  const t = el('table', { className: 'ts-comm-table' });
  t.append(el('thead', {}, [el('tr', {}, head.map((h) => el('th', { text: h })))]));
  const body = el('tbody');
  t.append(body);
  const wrap = el('div', { className: 'ts-table-wrap' }, [t]);
  const more = el('div', { className: 'ts-table-more' });
  let shown = 0;
  const grow = (): void => {
    const upTo = Math.min(count, shown + TABLE_PAGE);
    for (; shown < upTo; shown++) body.append(el('tr', {}, row(shown).map((c) => el('td', { text: c }))));
    clear(more);
    if (shown >= count) {
      more.remove();
      return;
    }
    more.append(
      el('span', { className: 'ts-muted', text: `${shown} of ${count} rows ` }),
      createButton(`Show ${Math.min(TABLE_PAGE, count - shown)} more`, grow),
    );
  };
  grow();
  if (shown < count) wrap.append(more);
  return wrap;
}

/** The canvas timeline of one sample: zoom, pan, hover. */
class TimelineCanvas {
  readonly element = el('div', { className: 'ts-comm-timeline' });
  private readonly canvas = document.createElement('canvas');
  private readonly tip = el('div', { className: 'ts-comm-tip' });
  private layout: TimelineLayout | undefined;
  private sample: TimelineSample | undefined;
  private tl: RankTimeline | undefined;
  private theme: Theme | undefined;
  private vt0 = 0;
  private vt1 = 1;
  private bars: PixelBars | undefined;
  private drag: { x: number; t0: number; t1: number } | undefined;
  private readonly onWindowUp = (): void => {
    this.drag = undefined;
  };

  constructor() {
    this.element.append(this.canvas, this.tip);
    this.tip.hidden = true;
    this.canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    this.canvas.addEventListener('mousedown', (e) => {
      this.drag = { x: e.offsetX, t0: this.vt0, t1: this.vt1 };
    });
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => {
      this.tip.hidden = true;
    });
    this.canvas.addEventListener('dblclick', () => this.reset());
    window.addEventListener('mouseup', this.onWindowUp);
  }

  show(tl: RankTimeline, sample: TimelineSample, theme: Theme): void {
    this.tl = tl;
    this.sample = sample;
    this.theme = theme;
    this.layout = timelineLayout(tl, sample);
    this.reset();
  }

  reset(): void {
    if (!this.layout) return;
    const pad = (this.layout.tMax - this.layout.tMin) * 0.01;
    this.vt0 = this.layout.tMin - pad;
    this.vt1 = this.layout.tMax + pad;
    this.draw();
  }

  private plotWidth(): number {
    return Math.max(100, (this.element.clientWidth || 900) - GUTTER);
  }

  private onWheel(e: WheelEvent): void {
    if (!this.layout) return;
    e.preventDefault();
    const w = this.plotWidth();
    const x = Math.min(w, Math.max(0, e.offsetX - GUTTER));
    const at = this.vt0 + ((this.vt1 - this.vt0) * x) / w;
    const f = Math.exp(e.deltaY * 0.002);
    const span = Math.max(0.01, (this.vt1 - this.vt0) * f);
    this.vt0 = at - (span * x) / w;
    this.vt1 = this.vt0 + span;
    this.draw();
  }

  private onMove(e: MouseEvent): void {
    if (this.drag) {
      const dt = ((e.offsetX - this.drag.x) * (this.drag.t1 - this.drag.t0)) / this.plotWidth();
      this.vt0 = this.drag.t0 - dt;
      this.vt1 = this.drag.t1 - dt;
      this.tip.hidden = true;
      this.draw();
      return;
    }
    this.hover(e.offsetX, e.offsetY);
  }

  private hover(x: number, y: number): void {
    const L = this.layout;
    const s = this.sample;
    const tl = this.tl;
    if (!L || !s || !tl || !this.bars) return;
    const lane = Math.floor((y - AXIS_H) / LANE_H);
    const k = lane >= 0 && lane < L.lanes ? hitTest(this.bars, lane, x - GUTTER) : -1;
    if (k === -1) {
      this.tip.hidden = true;
      return;
    }
    const i = this.bars.source[k];
    const b = barColumns(s.bars);
    const ms = (b.t1[i] - b.t0[i]) / 1e3;
    const merged = this.bars.merged[k] > 1 ? ` (+${this.bars.merged[k] - 1} merged)` : '';
    let text: string;
    if (b.kind[i] === BAR_COMM) {
      text =
        `rank ${b.rank[i]} · all-reduce bucket ${b.tag[i]}${merged}\n` +
        `${formatBytes(b.value[i])} · ${formatMs(ms)}\n` +
        `algbw ${b.algbw[i].toFixed(3)} GB/s · busbw ${b.busbw[i].toFixed(3)} GB/s`;
    } else {
      text = `rank ${b.rank[i]} · layer ${b.value[i]} ${tl.phases[b.tag[i]] ?? '?'}${merged}\n${formatMs(ms)}`;
    }
    this.tip.textContent = text;
    this.tip.hidden = false;
    this.tip.style.left = `${Math.min(x + 12, this.plotWidth())}px`;
    this.tip.style.top = `${y + 12}px`;
  }

  draw(): void {
    const L = this.layout;
    const theme = this.theme;
    const tl = this.tl;
    // Not attached yet: no width to draw at (the view draws it once attached).
    if (!L || !theme || !tl || !this.element.isConnected) return;
    const w = this.plotWidth();
    const cssW = w + GUTTER;
    const cssH = AXIS_H + L.lanes * LANE_H + 4;
    const dpr = (typeof window !== 'undefined' && window.devicePixelRatio) || 1;
    this.canvas.width = Math.round(cssW * dpr);
    this.canvas.height = Math.round(cssH * dpr);
    this.canvas.style.width = `${cssW}px`;
    this.canvas.style.height = `${cssH}px`;
    const g = this.canvas.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    g.font = `11px ${theme.font}`;
    g.textBaseline = 'middle';
    // Axis: ms since the step's first event.
    g.fillStyle = theme.muted;
    g.strokeStyle = theme.grid;
    const span = this.vt1 - this.vt0;
    const tickUs = niceStep(span / 8);
    for (let t = Math.ceil(this.vt0 / tickUs) * tickUs; t <= this.vt1; t += tickUs) {
      const x = GUTTER + ((t - this.vt0) / span) * w;
      g.beginPath();
      g.moveTo(x, AXIS_H - 4);
      g.lineTo(x, cssH);
      g.stroke();
      g.fillText(`${((t - L.tMin) / 1e3).toFixed(tickUs < 1000 ? 2 : 1)} ms`, x + 2, AXIS_H / 2);
    }
    // Lane labels and step windows.
    for (let r = 0; r < L.ranks; r++) {
      const y = AXIS_H + r * 2 * LANE_H;
      g.fillStyle = theme.fg;
      g.fillText(`rank ${r} compute`, 4, y + LANE_H / 2);
      g.fillStyle = theme.muted;
      g.fillText(`rank ${r} comm`, 4, y + LANE_H * 1.5);
      const sw = L.stepWindows[r];
      if (sw) {
        g.strokeStyle = theme.grid;
        const x0 = GUTTER + ((sw.t0 - this.vt0) / span) * w;
        const x1 = GUTTER + ((sw.t1 - this.vt0) / span) * w;
        g.strokeRect(x0, y + 1, x1 - x0, LANE_H * 2 - 2);
      }
    }
    const colors = tl.phases.map((p) => categoryColor(theme, p));
    colors.push(categoryColor(theme, 'comm'));
    const bars = decimate(L, L.t0.length, { t0: this.vt0, t1: this.vt1, widthPx: w }, maxDrawnBars(L.lanes, w));
    this.bars = bars;
    g.save();
    g.beginPath();
    g.rect(GUTTER, 0, w, cssH);
    g.clip();
    for (let k = 0; k < bars.count; k++) {
      const x0 = GUTTER + Math.max(-2, bars.x0[k]);
      const x1 = GUTTER + Math.min(w + 2, bars.x1[k]);
      const y = AXIS_H + bars.lane[k] * LANE_H + 3;
      g.fillStyle = colors[bars.color[k]] ?? theme.fg;
      g.fillRect(x0, y, Math.max(1, x1 - x0), LANE_H - 6);
    }
    g.restore();
  }

  destroy(): void {
    window.removeEventListener('mouseup', this.onWindowUp);
  }
}

function niceStep(x: number): number {
  if (!(x > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  const m = x / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

export class CommunicationView implements View {
  readonly element = el('div', { className: 'ts-view' });
  private canvas: TimelineCanvas | undefined;
  private shownTimeline: RankTimeline | undefined;
  private facts: HTMLElement | undefined;
  /** The sampled step shown: kept when a live run's timeline grows or is thinned. */
  private selectedStep: number | undefined;

  render(s: ViewState, full: boolean): void {
    const tl = s.model.timeline;
    const facts = this.factsElement(s.model);
    // A live update that left the timeline as it was refreshes the figures
    // and keeps the timeline (and its zoom); a grown one is drawn again, on
    // the same step.
    if (!full && this.canvas && this.shownTimeline === tl && this.facts) {
      this.facts.replaceWith(facts);
      this.facts = facts;
      return;
    }
    this.canvas?.destroy();
    this.canvas = undefined;
    clear(this.element);
    this.facts = facts;
    this.shownTimeline = tl;
    this.element.append(facts);
    if (tl && tl.samples.length && commFacts(s.model).kind !== 'single-rank') this.renderTimeline(tl, s.theme);
  }

  private factsElement(m: RunModel): HTMLElement {
    const f = commFacts(m);
    if (f.kind === 'single-rank') return el('p', { className: 'ts-empty', text: 'Single-rank run: no communication.' });
    if (f.kind === 'no-records') {
      return el('p', { className: 'ts-empty', text: `This run has ${f.ranks} ranks but recorded no communication timings.` });
    }
    return cardFor(
      ['parallel.ranks', 'parallel.bucket', 'parallel.backend'],
      'Gradient communication',
      el('p', { text: `${f.ranks} ranks: ${formatMs(f.commMs)} per step waiting on communication on average (${(f.share * 100).toFixed(1)}% of the step)` }),
    );
  }

  private renderTimeline(tl: RankTimeline, theme: Theme): void {
    const selected = Math.max(0, tl.samples.findIndex((x) => x.step === this.selectedStep));
    const select = el('select', { className: 'ts-comm-step', title: 'Sampled step' });
    tl.samples.forEach((x, i) => {
      const o = el('option', { text: `step ${x.step}` });
      o.value = String(i);
      if (i === selected) o.selected = true;
      select.append(o);
    });
    const canvas = new TimelineCanvas();
    this.canvas = canvas;
    const details = el('div', { className: 'ts-comm-details' });
    const perStep = tl.samples.flatMap((x) => rankCommRows(x).map((r) => ({ step: x.step, ...r })));
    const fillDetails = (sample: TimelineSample): void => {
      clear(details);
      const buckets = bucketRows(tl, sample);
      details.append(
        cardFor(
          ['parallel.bucket'],
          `Buckets of step ${sample.step}`,
          table(['bucket', 'bytes', 'ms', 'algbw GB/s', 'busbw GB/s', 'overlap with backward'], buckets.length, (i) => {
            const b = buckets[i];
            return [
              String(b.bucket),
              formatBytes(b.bytes),
              formatMs(b.ms),
              b.algbw.toFixed(3),
              b.busbw.toFixed(3),
              `${(b.overlapBwd * 100).toFixed(1)}%`,
            ];
          }),
          'Means over the ranks. Overlap: the share of the all-reduce that ran while its rank was in backward.',
        ),
        card(
          'Overlap per sampled step',
          table(['step', 'rank', 'comm ms', 'exposed ms', 'overlap'], perStep.length, (i) => {
            const r = perStep[i];
            return [String(r.step), String(r.rank), fmtMsOrDash(r.commMs), fmtMsOrDash(r.exposedMs), fmtPct(r.overlap)];
          }),
          'From the step records: the all-reduces’ time, the part no compute hid (exposed), and the share hidden.',
        ),
      );
    };
    select.addEventListener('change', () => {
      const sample = tl.samples[Number(select.value) || 0];
      this.selectedStep = sample.step;
      canvas.show(tl, sample, theme);
      fillDetails(sample);
    });
    // Before it is attached: lays the bars out without drawing them.
    const sample = tl.samples[selected];
    this.selectedStep = sample.step;
    canvas.show(tl, sample, theme);
    this.element.append(
      cardFor(
        ['parallel.ranks', 'parallel.bucket', 'train.profile_every'],
        'Timeline',
        el('div', {}, [
          el('div', { className: 'ts-comm-controls' }, [
            el('label', { text: 'Step ' }, [select]),
            el('span', { className: 'ts-muted', text: 'Wheel: zoom · drag: pan · double-click: reset' }),
          ]),
          canvas.element,
        ]),
        'Per rank: compute spans coloured by phase, all-reduce buckets below them; outlines mark each rank’s step.',
      ),
      details,
    );
    // The timeline first: drawn in the next frame, once attached (the canvas
    // then knows its width); the tables after that frame has painted.
    requestAnimationFrame(() => {
      canvas.draw();
      setTimeout(() => {
        if (this.canvas === canvas) fillDetails(sample);
      }, 0);
    });
  }

  destroy(): void {
    this.canvas?.destroy();
    clear(this.element);
  }
}
