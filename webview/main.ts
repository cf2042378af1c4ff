// The profile view. Runs in two places: inside VS Code (acquireVsCodeApi
// exists; the host sends the run and live updates) and standalone in any
// browser as report.html (no API; the run is inlined as JSON and static).
import { deviceLabel } from '../common/events/schema';
import { applyDelta } from '../common/runModel';
import { applyTheme, readTheme, registerCharts } from './charts';
import { createButton, createTabs, registerComponents } from './components';
import { clear, el } from './dom';
import {
  type HostMessage,
  type InitMessage,
  isHostMessage,
  type PanelFocus,
  type PanelRestore,
  type PanelState,
  REPORT_DATA_ID,
  type WebviewAction,
  type WebviewMessage,
} from '../common/protocol';
import { useStandaloneTheme } from './standaloneTheme';
import { matchesFocus, runTitle, type View, type ViewState } from './state';
import { CheckpointsView } from './views/checkpoints';
import { CommunicationView } from './views/communication';
import { CompareView } from './views/compare';
import { LayersView } from './views/layers';
import { MemoryView } from './views/memory';
import { OverviewView } from './views/overview';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;


class App {
  private state: ViewState | undefined;
  /** The last focus the host sent: kept across inits (another run, a resync). */
  private focus: PanelFocus | null = null;
  private views = new Map<string, View>();
  private dirty = new Set<string>();
  /** Views drawn while hidden (for the focus), still due for a full draw. */
  private drawnHidden = new Set<string>();
  private tab: string;
  private readonly root: HTMLElement;
  private readonly header = el('header', { className: 'ts-header' });
  private readonly body = el('div');
  /** From the last init: kept in the page's state. */
  private restore: PanelRestore | undefined;
  private renderQueued = false;

  constructor(private readonly api: VsCodeApi | undefined) {
    const saved = (api?.getState() ?? {}) as PanelState;
    // A standalone report opens the tab its URL names (report.html#memory).
    const fromHash = api ? undefined : window.location.hash.slice(1);
    this.tab = fromHash || (typeof saved.tab === 'string' ? saved.tab : 'overview');
    this.root = document.getElementById('app') ?? document.body;
    clear(this.root);
    this.root.append(this.header, this.body);
  }

  post(message: WebviewMessage): void {
    this.api?.postMessage(message);
  }

  handle(msg: HostMessage): void {
    switch (msg.type) {
      case 'init':
        this.init(msg);
        break;
      case 'delta': {
        const s = this.state;
        if (!s || !applyDelta(s.model, msg.delta)) {
          // A gap (lost message, reloaded page): start over from a full model.
          this.post({ type: 'resync' });
          return;
        }
        this.scheduleRender();
        break;
      }
      case 'settings':
        if (this.state) {
          this.state.settings = msg.settings;
          this.markAllDirty();
          this.scheduleRender();
        }
        break;
      case 'focus':
        this.focus = msg.focus;
        if (this.state) {
          this.state.focus = msg.focus;
          this.applyFocus();
        }
        break;
    }
  }

  /**
   * Highlights what the editor's cursor is on, in every view built so far,
   * and marks the tabs that show some of it. Called again after each render
   * (a render replaces elements).
   */
  private applyFocus(): void {
    const s = this.state;
    if (!s) return;
    const f = s.focus;
    for (const e of this.body.querySelectorAll('.ts-focus')) e.classList.remove('ts-focus');
    for (const [id, v] of this.views) {
      // A view not drawn yet has no elements to mark: draw it hidden, so
      // its tab can say it shows the focus. It stays due for a full draw
      // when shown (hidden, it has no size to draw charts at).
      if (f && id !== this.tab && this.dirty.has(`full:${id}`) && !this.drawnHidden.has(id)) {
        v.render(s, true);
        this.drawnHidden.add(id);
      }
      let shown = v.focus?.(s) ?? false;
      if (f) {
        for (const e of v.element.querySelectorAll<HTMLElement>('[data-config-key], [data-layer]')) {
          if (!matchesFocus(f, e.dataset.configKey, e.dataset.layer)) continue;
          e.classList.add('ts-focus');
          shown = true;
        }
      }
      this.body.querySelector(`#tab-${id}`)?.classList.toggle('ts-focus-tab', shown);
    }
    this.views.get(this.tab)?.element.querySelector('.ts-focus')?.scrollIntoView({ block: 'nearest' });
  }

  /** Theme changed: colours are baked into charts, so rebuild them. */
  rethemed(): void {
    if (!this.state) return;
    this.state.theme = readTheme();
    applyTheme(this.state.theme);
    for (const [id, v] of this.views) {
      if (id === this.tab) v.render(this.state, true);
      else this.dirty.add(`full:${id}`);
    }
  }

  showError(message: string): void {
    this.body.prepend(el('div', { className: 'ts-problems ts-failed', text: message }));
  }

  private init(msg: InitMessage): void {
    for (const v of this.views.values()) v.destroy();
    this.views.clear();
    this.dirty.clear();
    this.drawnHidden.clear();
    const theme = readTheme();
    applyTheme(theme);
    this.state = { model: msg.model, compare: msg.compare, settings: msg.settings, standalone: !this.api, theme, focus: this.focus };
    const onReveal = this.api ? (index: number, name: string) => this.post({ type: 'revealLayer', index, name }) : undefined;
    const specs: Array<[string, string, View]> = [
      ['overview', 'Overview', new OverviewView()],
      ['memory', 'Memory', new MemoryView()],
      ['layers', 'Layers', new LayersView(onReveal)],
      ['checkpoints', 'Checkpoints', new CheckpointsView()],
      ['communication', 'Communication', new CommunicationView()],
    ];
    if (msg.compare.length) specs.push(['compare', 'Compare', new CompareView()]);
    for (const [id, , v] of specs) this.views.set(id, v);
    if (msg.focus && this.views.has(msg.focus)) this.tab = msg.focus;
    if (!this.views.has(this.tab)) this.tab = 'overview';
    this.restore = msg.restore;
    this.saveState();
    clear(this.body);
    const tabs = createTabs(
      specs.map(([id, label, v]) => ({ id, label, content: v.element })),
      this.tab,
      (id) => this.selectTab(id),
    );
    this.body.append(tabs.element);
    for (const id of this.views.keys()) this.dirty.add(`full:${id}`);
    this.renderHeader();
    this.renderActive();
  }

  private selectTab(id: string): void {
    if (!this.views.has(id)) return;
    this.tab = id;
    if (this.api) this.saveState();
    else history.replaceState(null, '', `#${id}`);
    this.renderActive();
  }

  /** The tab, and the runs shown for the host to reopen after a window reload. */
  private saveState(): void {
    this.api?.setState({ tab: this.tab, restore: this.restore } satisfies PanelState);
  }

  private markAllDirty(): void {
    for (const id of this.views.keys()) this.dirty.add(id);
  }

  private scheduleRender(): void {
    this.markAllDirty();
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.renderHeader();
      this.renderActive();
    });
  }

  // Hidden tabs are drawn when shown: a live run then costs one view's work
  // per update, not all of them.
  private renderActive(): void {
    const s = this.state;
    const v = this.views.get(this.tab);
    if (!s || !v) return;
    const full = this.dirty.delete(`full:${this.tab}`);
    const data = this.dirty.delete(this.tab);
    if (full || data) {
      v.render(s, full);
      if (full) this.drawnHidden.delete(this.tab);
      if (s.focus) this.applyFocus();
    }
  }

  private renderHeader(): void {
    const s = this.state;
    clear(this.header);
    if (!s) return;
    const m = s.model;
    const status = el('span', { className: 'ts-status', text: m.status });
    status.dataset.status = m.status;
    const meta: string[] = [];
    if (m.run) {
      const c = m.run.config.model;
      meta.push(`${(m.run.params / 1e6).toFixed(2)}M params`);
      if (typeof c.layers === 'number') meta.push(`${c.layers} layers × width ${String(c.width)}`);
      // Threads are the CPU's compute; a GPU run's device says it all.
      const onGpu = (m.run.device_info?.type ?? m.run.device) === 'cuda';
      meta.push(onGpu ? deviceLabel(m.run) ?? 'cuda' : `${deviceLabel(m.run) ?? 'device unknown'}, ${m.run.threads} threads`, m.run.precision);
      if (m.run.ranks > 1) meta.push(`${m.run.ranks} ranks`);
    }
    this.header.append(
      el('h1', { text: runTitle(m) }),
      status,
      el('span', { className: 'ts-muted', text: [m.id, ...meta].join(' · ') }),
    );
    if (!s.standalone) {
      const act = (a: WebviewAction) => () => this.post({ type: 'action', action: a });
      const actions = el('div', { className: 'ts-actions' });
      if (m.status === 'live') actions.append(createButton('Stop', act('stop'), { appearance: 'primary', title: 'Stop the run' }));
      actions.append(
        createButton('Export Chrome Trace', act('exportTrace'), { title: 'Save trace.json to open in ui.perfetto.dev' }),
        createButton('Open Run Folder', act('openRunFolder')),
      );
      this.header.append(actions);
    }
  }
}

function watchTheme(onChange: () => void): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fire = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, 50);
  };
  // VS Code swaps body classes and the variables on <html> when the theme changes.
  const mo = new MutationObserver(fire);
  mo.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  // A standalone report follows the browser's light/dark preference.
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', fire);
}

function start(): void {
  const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
  // Before the toolkit registers: it reads the theme variables on page load.
  if (!api) useStandaloneTheme();
  registerComponents();
  registerCharts();
  const app = new App(api);
  watchTheme(() => app.rethemed());
  if (api) {
    window.addEventListener('message', (e: MessageEvent<unknown>) => {
      if (!isHostMessage(e.data)) {
        console.error('TrainScope: ignored a malformed message from the extension', e.data);
        return;
      }
      app.handle(e.data);
    });
    app.post({ type: 'ready' });
    return;
  }
  const node = document.getElementById(REPORT_DATA_ID);
  let data: unknown;
  try {
    data = node?.textContent ? JSON.parse(node.textContent) : undefined;
  } catch (err) {
    app.showError(`This report's data cannot be read: ${(err as Error).message}`);
    return;
  }
  if (isHostMessage(data) && data.type === 'init') app.handle(data);
  else app.showError('This report has no run data, or data this version of TrainScope cannot read.');
}

start();
