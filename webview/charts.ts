// Chart.js set up for the webview: only the pieces used are registered (a
// smaller bundle), colours and fonts come from the theme, and a small plugin
// draws reference lines (the memory budget, the device's capacity). Charts
// are rebuilt when the theme changes.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartType,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  type Plugin,
  PointElement,
  Tooltip,
} from 'chart.js';

/** A horizontal or vertical line across a chart at a value of its value axis. */
export interface RefLine {
  /** In the value axis' units (bytes, MB). */
  value: number;
  label: string;
  /** `budget`: a limit the user set (dashed); `capacity`: the device's memory (solid). */
  kind: 'budget' | 'capacity';
  /**
   * Stretch the axis to show the line. A capacity far above the data (a
   * CPU run's RAM) would shrink the bars to nothing: then it stays off the
   * axis and its label sits at the end, marked "→".
   */
  keepInView: boolean;
}

export interface RefLinesOptions {
  lines: RefLine[];
  /** Which scale holds the values: 'y' for vertical bars and lines, 'x' for horizontal bars. */
  axis: 'x' | 'y';
}

/** Categories (x indices) drawn with a band behind them: the layers the editor's cursor is about. */
export interface FocusBandsOptions {
  indices: number[];
}

declare module 'chart.js' {
  interface PluginOptionsByType<TType extends ChartType> {
    refLines?: RefLinesOptions & { _type?: TType };
    focusBands?: FocusBandsOptions & { _type?: TType };
  }
}

export interface Theme {
  fg: string;
  muted: string;
  grid: string;
  error: string;
  font: string;
  /** Behind what the editor's cursor is about. */
  focus: string;
  palette: string[];
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function readTheme(): Theme {
  return {
    fg: cssVar('--ts-fg', '#cccccc'),
    muted: cssVar('--ts-muted', '#9d9d9d'),
    grid: cssVar('--ts-chart-lines', 'rgba(128,128,128,0.35)'),
    error: cssVar('--ts-error', '#f48771'),
    font: cssVar('--ts-font', 'sans-serif'),
    focus: cssVar('--ts-focus-bg', 'rgba(128,128,128,0.2)'),
    palette: [1, 2, 3, 4, 5, 6].map((i) => cssVar(`--ts-chart-${i}`, '#888888')),
  };
}

/** Fixed colours per memory category and step phase, so every chart agrees. */
export function categoryColor(theme: Theme, name: string): string {
  const p = theme.palette;
  switch (name) {
    case 'param':
    case 'fwd':
      return p[0];
    case 'grad':
    case 'bwd':
      return p[1];
    case 'act':
    case 'recompute':
      return p[2];
    case 'optim':
      return p[3];
    case 'workspace':
      return p[4];
    case 'comm':
      return p[5];
    default:
      return theme.muted;
  }
}

const refLinesPlugin: Plugin = {
  id: 'refLines',
  afterDatasetsDraw(chart, _args, opts) {
    const o = opts as RefLinesOptions | undefined;
    const scale = o && chart.scales[o.axis];
    if (!o || !scale) return;
    const { left, right, top, bottom } = chart.chartArea;
    const ctx = chart.ctx;
    const theme = readTheme();
    for (const line of o.lines) {
      if (!Number.isFinite(line.value)) continue;
      const pos = scale.getPixelForValue(line.value);
      if (o.axis === 'y' ? pos < top || pos > bottom : pos < left || pos > right) {
        if (line.value > scale.max) offScaleLabel(ctx, o.axis, `${line.label} →`, { left, right, top, bottom }, theme);
        continue;
      }
      const color = line.kind === 'budget' ? theme.error : theme.fg;
      ctx.save();
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 1.5;
      ctx.setLineDash(line.kind === 'budget' ? [6, 4] : []);
      ctx.beginPath();
      if (o.axis === 'y') {
        ctx.moveTo(left, pos);
        ctx.lineTo(right, pos);
      } else {
        ctx.moveTo(pos, top);
        ctx.lineTo(pos, bottom);
      }
      ctx.stroke();
      ctx.font = `11px ${theme.font}`;
      if (o.axis === 'y') {
        ctx.textAlign = 'right';
        ctx.fillText(line.label, right - 4, pos - 4);
      } else {
        // Labels right of the line, or left of it at the right edge.
        const rightEdge = pos + 4 + ctx.measureText(line.label).width > right;
        ctx.textAlign = rightEdge ? 'right' : 'left';
        ctx.fillText(line.label, rightEdge ? pos - 4 : pos + 4, line.kind === 'budget' ? top + 10 : bottom - 4);
      }
      ctx.restore();
    }
  },
};

const focusBandsPlugin: Plugin = {
  id: 'focusBands',
  beforeDatasetsDraw(chart, _args, opts) {
    const o = opts as FocusBandsOptions | undefined;
    const x = chart.scales.x;
    if (!o || !x || !o.indices?.length) return;
    const n = chart.data.labels?.length ?? 0;
    if (!n) return;
    const { left, right, top, bottom } = chart.chartArea;
    const width = (right - left) / n;
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = readTheme().focus;
    for (const i of o.indices) {
      if (i < 0 || i >= n) continue;
      const c = x.getPixelForValue(i);
      ctx.fillRect(c - width / 2, top, width, bottom - top);
    }
    ctx.restore();
  },
};

function offScaleLabel(
  ctx: CanvasRenderingContext2D,
  axis: 'x' | 'y',
  text: string,
  area: { left: number; right: number; top: number; bottom: number },
  theme: Theme,
): void {
  ctx.save();
  ctx.fillStyle = theme.muted;
  ctx.font = `11px ${theme.font}`;
  ctx.textAlign = 'right';
  if (axis === 'y') ctx.fillText(text, area.right - 4, area.top + 10);
  else ctx.fillText(text, area.right - 4, area.bottom - 4);
  ctx.restore();
}

let registered = false;

export function registerCharts(): void {
  if (registered) return;
  registered = true;
  Chart.register(
    LineController,
    BarController,
    LineElement,
    BarElement,
    PointElement,
    LinearScale,
    LogarithmicScale,
    CategoryScale,
    Legend,
    Tooltip,
    Filler,
    refLinesPlugin,
    focusBandsPlugin,
  );
}

/** Theme-wide defaults; call before (re)building charts. */
export function applyTheme(theme: Theme): void {
  Chart.defaults.color = theme.fg;
  Chart.defaults.borderColor = theme.grid;
  Chart.defaults.font.family = theme.font;
  // Live charts redraw every 250 ms; animation would only blur them.
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.responsive = true;
}

/**
 * The x axis of a chart over training steps. Steps are whole numbers: with
 * few of them Chart.js would otherwise put ticks between two (1.5, 2.5).
 */
export function stepAxis() {
  return { type: 'linear' as const, title: { display: true, text: 'step' }, ticks: { precision: 0 } };
}

/** A chart in a sized container (Chart.js needs a positioned parent to be responsive). */
export function mountChart<T extends ChartType>(
  config: ChartConfiguration<T>,
  tall = false,
): { element: HTMLElement; chart: Chart<T> } {
  const box = document.createElement('div');
  box.className = tall ? 'ts-chart ts-tall' : 'ts-chart';
  const canvas = document.createElement('canvas');
  box.appendChild(canvas);
  const chart = new Chart<T>(canvas, config);
  return { element: box, chart };
}
