// The profile panel: hosts the webview bundle (out/webview.js), feeds it a
// run (a live one as throttled deltas, a saved one whole) and answers what
// it asks for. One panel, reused: showing another run replaces the content.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import {
  type HostMessage,
  isPanelRestore,
  isWebviewMessage,
  type PanelFocus,
  type PanelState,
  type ViewSettings,
  type WebviewMessage,
} from '../../common/protocol';
import { COMMANDS, PANEL_TYPE } from '../commandIds';
import { focusAt, lineForLayer, plannedBlocks, type RunLayers } from '../config/outline';
import type { Ctx, PanelService } from '../ctx';
import { makeNonce, renderPage } from './html';
import type { DeltaCursor } from '../../common/runModel';
import type { LiveRun } from '../runs/liveRun';
import { acceptRunDir } from '../runs/runStore';
import { allRunsFolders } from '../settings';
import { loadSaved, type PanelSource, type SavedSource, sourceDir } from './source';

const FLUSH_MS = 250;

export class PanelManager implements PanelService, vscode.Disposable {
  private panel: ProfilePanel | undefined;

  constructor(private readonly ctx: Ctx) {
    // A run that starts is shown at once; one the user asks to see again too.
    ctx.own(ctx.runs.onDidStartRun((run) => this.showLive(run)));
    ctx.own(ctx.runs.onDidAskToShowRun((run) => this.showLive(run)));
    // Its last records (the summary) are shown at once, not a flush later.
    ctx.own(ctx.runs.onDidEndRun((run) => this.panel?.runEnded(run)));
    ctx.own(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('trainscope.memoryBudget')) this.panel?.postSettings();
      }),
    );
    ctx.own(
      // After a window reload VS Code hands back the panels it had open,
      // with the state their pages saved (activation: onWebviewPanel).
      vscode.window.registerWebviewPanelSerializer(PANEL_TYPE, {
        deserializeWebviewPanel: (panel, state) => this.restore(panel, state),
      }),
    );
  }

  /**
   * Shows again, in `panel`, the runs a panel showed before a window
   * reload. A live run then is read as it is on disk (its trainer ended
   * with the old window). A state without runs, or runs gone, close it.
   * The state is the page's: only run folders Show Profile would list are
   * read (acceptRunDir), others are refused with a warning in the log.
   */
  async restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const r = (state as PanelState | undefined)?.restore;
    if (this.panel || !isPanelRestore(r)) {
      panel.dispose();
      return;
    }
    const folders = allRunsFolders(this.ctx.extensionPath);
    const main = await acceptRunDir(r.dir, folders);
    if ('refused' in main) {
      this.ctx.log.warn(`profile view not restored: ${main.refused}`);
      panel.dispose();
      return;
    }
    const compare: string[] = [];
    for (const d of r.compare) {
      const a = await acceptRunDir(d, folders);
      if ('refused' in a) this.ctx.log.warn(`profile view restored without a compared run: ${a.refused}`);
      else compare.push(a.dir);
    }
    let source: SavedSource;
    try {
      source = await loadSaved(main.dir, compare);
    } catch (err) {
      this.ctx.log.warn(`profile view not restored: ${(err as Error).message}`);
      panel.dispose();
      return;
    }
    this.adopt(new ProfilePanel(this.ctx, source, undefined, panel));
  }

  /** The run folder the panel shows, if any (for commands run from its buttons). */
  get currentDir(): string | undefined {
    return this.panel ? sourceDir(this.panel.source) : undefined;
  }

  showLive(run: LiveRun): void {
    this.show({ kind: 'live', run }, run.configUri);
  }

  show(source: PanelSource, beside?: vscode.Uri): void {
    if (this.panel) {
      this.panel.setSource(source);
      this.panel.reveal();
      return;
    }
    const webviewJs = path.join(this.ctx.extensionPath, 'out', 'webview.js');
    if (!existsSync(webviewJs)) {
      // Not thrown: a live run must go on even when its view cannot open.
      this.ctx.showError(new Error(`the profile view is not built (no ${webviewJs}): run npm run build`));
      return;
    }
    this.adopt(new ProfilePanel(this.ctx, source, beside));
  }

  private adopt(p: ProfilePanel): void {
    p.onDidDispose(() => {
      if (this.panel === p) this.panel = undefined;
    });
    this.panel = p;
  }

  dispose(): void {
    this.panel?.dispose();
    this.panel = undefined;
  }
}

class ProfilePanel implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  // Per-source: the live subscription and delta cursor.
  private sourceDisposables: vscode.Disposable[] = [];
  private cursor: DeltaCursor | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private ready = false;
  /** What the config line under the cursor refers to, sent again after a reload. */
  private focus: PanelFocus | null = null;
  private focusKey = 'null';
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;

  /** `restored`: a panel VS Code kept across a window reload, to fill instead of a new one. */
  constructor(
    private readonly ctx: Ctx,
    public source: PanelSource,
    beside: vscode.Uri | undefined,
    restored?: vscode.WebviewPanel,
  ) {
    const outDir = vscode.Uri.joinPath(ctx.extension.extensionUri, 'out');
    const options: vscode.WebviewOptions = {
      enableScripts: true,
      // Only the bundle may be loaded; nothing from the workspace.
      localResourceRoots: [outDir, vscode.Uri.joinPath(ctx.extension.extensionUri, 'media')],
    };
    if (restored) {
      this.panel = restored;
      this.panel.webview.options = options;
      this.panel.title = this.title();
    } else {
      this.panel = vscode.window.createWebviewPanel(
        PANEL_TYPE,
        this.title(),
        { viewColumn: beside ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, preserveFocus: true },
        options,
      );
    }
    this.disposables.push(
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.cursorMoved(e.textEditor)),
    );
    this.load();
    this.watchSource();
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  setSource(source: PanelSource): void {
    this.source = source;
    this.panel.title = this.title();
    this.watchSource();
    if (this.ready) this.postInit();
  }

  postSettings(): void {
    this.post({ type: 'settings', settings: this.viewSettings() });
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const d of this.sourceDisposables.splice(0)) d.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.disposed.fire();
    this.disposed.dispose();
  }

  /** The trainer of `run` ended: sends what the view has not seen yet, now. */
  runEnded(run: LiveRun): void {
    if (this.source.kind !== 'live' || this.source.run !== run) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flush();
  }

  private title(): string {
    const id = this.source.kind === 'live' ? this.source.run.id : this.source.model.id;
    return `TrainScope: ${id}`;
  }

  // A fresh page (and nonce) each load; the page asks for data with 'ready'.
  private load(): void {
    const webview = this.panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.ctx.extension.extensionUri, 'out', 'webview.js'));
    this.ready = false;
    webview.html = renderPage({ title: this.title(), nonce: makeNonce(), cspSource: webview.cspSource, script: { uri: script.toString() } });
  }

  private watchSource(): void {
    for (const d of this.sourceDisposables.splice(0)) d.dispose();
    this.cursor = undefined;
    const s = this.source;
    if (s.kind === 'live') this.sourceDisposables.push(s.run.onDidChange(() => this.scheduleFlush()));
  }

  private scheduleFlush(): void {
    if (this.flushTimer || !this.ready) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, FLUSH_MS);
  }

  private flush(): void {
    const s = this.source;
    // A hidden webview is torn down and reloads when shown (it then asks
    // for everything with 'ready'), so there is no one to send deltas to.
    if (s.kind !== 'live' || !this.cursor || !this.panel.visible) return;
    const delta = s.run.builder.delta(this.cursor);
    if (delta) this.post({ type: 'delta', delta });
  }

  private viewSettings(): ViewSettings {
    const scope = this.source.kind === 'live' ? this.source.run.configUri : this.source.configUri;
    return { budgetBytes: this.ctx.settings(scope).memoryBudgetBytes };
  }

  private postInit(): void {
    const s = this.source;
    if (s.kind === 'live') {
      this.cursor = s.run.builder.cursor();
      const restore = { dir: s.run.dir, compare: [] };
      this.post({ type: 'init', model: s.run.builder.model, compare: [], settings: this.viewSettings(), restore });
    } else {
      const restore = { dir: s.dir, compare: s.compareDirs };
      this.post({ type: 'init', model: s.model, compare: s.compare, settings: this.viewSettings(), focus: s.focus, restore });
      // Once: a page that reloads (hidden and shown again) keeps the tab the user chose.
      s.focus = undefined;
    }
    if (this.focus) this.post({ type: 'focus', focus: this.focus });
  }

  /** Highlights in the panel what the config line under the cursor refers to. */
  private cursorMoved(editor: vscode.TextEditor): void {
    const uri = this.configUri();
    if (!uri || editor.document.uri.toString() !== uri.toString()) return;
    const m = this.source.kind === 'live' ? this.source.run.builder.model : this.source.model;
    const run: RunLayers = {
      names: m.run?.layers ?? m.layers.map((l) => l.name),
      checkpointed: m.layers.filter((l) => l.checkpointed).map((l) => l.index),
    };
    const doc = editor.document;
    const line = editor.selection.active.line;
    const analysis = this.ctx.insights.current(doc);
    const outline = analysis?.outline ?? this.ctx.insights.outline(doc);
    const focus = focusAt(outline, doc.lineAt(line).text, line, run, plannedBlocks(analysis?.plan ?? null)) ?? null;
    const key = JSON.stringify(focus);
    // Cursor moves within a line, or between lines about the same thing, change nothing.
    if (key === this.focusKey) return;
    this.focusKey = key;
    this.focus = focus;
    if (this.ready) this.post({ type: 'focus', focus });
  }

  private post(m: HostMessage): void {
    this.panel.webview.postMessage(m).then(
      (ok) => {
        if (!ok) this.ctx.log.debug('profile view did not take a message (hidden or reloading)');
      },
      (err: unknown) => this.ctx.log.warn(`profile view: ${String(err)}`),
    );
  }

  private receive(raw: unknown): void {
    if (!isWebviewMessage(raw)) {
      this.ctx.log.warn(`profile view sent a malformed message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    void this.handle(raw).catch((err: unknown) => this.ctx.showError(err));
  }

  private async handle(m: WebviewMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
      case 'resync':
        this.ready = true;
        this.postInit();
        return;
      case 'revealLayer':
        await this.revealLayer(m.name);
        return;
      case 'action': {
        const dir = sourceDir(this.source);
        if (m.action === 'stop') {
          // Through the run shown: one that has ended ignores it.
          if (this.source.kind === 'live') this.source.run.stop();
        } else if (m.action === 'exportTrace') {
          await vscode.commands.executeCommand(COMMANDS.exportTrace.id, dir);
        } else {
          await vscode.commands.executeCommand(COMMANDS.openRunFolder.id, dir);
        }
        return;
      }
    }
  }

  private configUri(): vscode.Uri | undefined {
    return this.source.kind === 'live' ? this.source.run.configUri : this.source.configUri;
  }

  /** Opens the config beside the panel at the line that shapes the layer. */
  private async revealLayer(name: string): Promise<void> {
    const uri = this.configUri();
    if (!uri) {
      void vscode.window.showInformationMessage(`TrainScope: the config of this run is not in the workspace.`);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(uri);
    // The parser's outline: where each key was set, even with odd spacing.
    const line = lineForLayer(this.ctx.insights.outline(doc), name);
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    const range = doc.lineAt(Math.min(line, doc.lineCount - 1)).range;
    await vscode.window.showTextDocument(doc, {
      viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One,
      selection: range,
      preserveFocus: false,
    });
  }
}
