// Chart.js set up for the webview: only the pieces used are registered (a
// smaller bundle), colours and fonts come from the theme, and a small plugin
// draws the memory budget line. Charts are rebuilt when the theme changes.
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

export interface BudgetLineOptions {
  /** In the value axis' units (bytes); nothing is drawn when null. */
  value: number | null;
  label: string;
  /** Which scale holds the value: 'y' for vertical bars and lines, 'x' for horizontal bars. */
  axis: 'x' | 'y';
}

declare module 'chart.js' {
  interface PluginOptionsByType<TType extends ChartType> {
    budgetLine?: BudgetLineOptions & { _type?: TType };
  }
}

export interface Theme {
  fg: string;
  muted: string;
  grid: string;
  error: string;
  font: string;
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

export const budgetLinePlugin: Plugin = {
  id: 'budgetLine',
  afterDatasetsDraw(chart, _args, opts) {
    const o = opts as BudgetLineOptions | undefined;
    if (!o || o.value === null || !Number.isFinite(o.value)) return;
    const scale = chart.scales[o.axis];
    if (!scale) return;
    const pos = scale.getPixelForValue(o.value);
    const { left, right, top, bottom } = chart.chartArea;
    const ctx = chart.ctx;
    const color = readTheme().error;
    ctx.save();
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    if (o.axis === 'y') {
      if (pos < top || pos > bottom) {
        ctx.restore();
        return;
      }
      ctx.moveTo(left, pos);
      ctx.lineTo(right, pos);
    } else {
      if (pos < left || pos > right) {
        ctx.restore();
        return;
      }
      ctx.moveTo(pos, top);
      ctx.lineTo(pos, bottom);
    }
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.font = `11px ${readTheme().font}`;
    ctx.textAlign = o.axis === 'y' ? 'right' : 'left';
    if (o.axis === 'y') ctx.fillText(o.label, right - 4, pos - 4);
    else ctx.fillText(o.label, pos + 4, top + 10);
    ctx.restore();
  },
};

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
    budgetLinePlugin,
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
