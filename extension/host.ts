// The extension's one lifetime: everything created on activation is owned
// here and disposed together on deactivation. Per-run state has its own
// owner (LiveRun), itself owned by the RunManager held here. The services
// see this object only as a Ctx (./ctx), so none of them imports this file.
import * as vscode from 'vscode';
import { ConfigInsightsService } from './config/codeActions';
import type { Ctx } from './ctx';
import { loadNative, type TrainScopeNative } from './native/addon';
import { PanelManager } from './panel/panel';
import { RunManager } from './runs/runManager';
import { readSettings, type Settings } from './settings';

export class ExtensionCtx implements Ctx, vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  /** Errors the trainer printed for a run (stale once the file is edited). */
  readonly runDiagnostics: vscode.DiagnosticCollection;
  /** Errors of the addon's parser while typing. */
  readonly parseDiagnostics: vscode.DiagnosticCollection;
  readonly statusBar: vscode.StatusBarItem;
  readonly runs: RunManager;
  readonly panels: PanelManager;
  /** Predictions, suggested edits and budget warnings for open configs. */
  readonly insights: ConfigInsightsService;
  private readonly disposables: vscode.Disposable[] = [];
  private native: TrainScopeNative | undefined;
  private nativeFailed = false;
  private readonly warned = new Set<string>();

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = this.own(vscode.window.createOutputChannel('TrainScope', { log: true }));
    this.runDiagnostics = this.own(vscode.languages.createDiagnosticCollection('trainscope-run'));
    this.parseDiagnostics = this.own(vscode.languages.createDiagnosticCollection('trainscope'));
    this.statusBar = this.own(vscode.window.createStatusBarItem('trainscope.run', vscode.StatusBarAlignment.Left, 10));
    this.statusBar.name = 'TrainScope run';
    // The run manager first: the panel manager subscribes to its events.
    this.runs = this.own(new RunManager(this));
    this.panels = this.own(new PanelManager(this));
    this.insights = this.own(new ConfigInsightsService(this));
  }

  get extensionPath(): string {
    return this.extension.extensionPath;
  }

  /** Registers a disposable for the extension's lifetime and returns it. */
  own<T extends vscode.Disposable>(d: T): T {
    this.disposables.push(d);
    return d;
  }

  settings(scope?: vscode.Uri): Settings {
    const s = readSettings(this.extensionPath, scope);
    for (const w of s.warnings) this.warnOnce(w);
    return s;
  }

  /**
   * The native addon, or undefined when it is not built or does not load:
   * editor checks, hovers and predictions then stay off, and the user is
   * told once why (running and viewing profiles still work).
   */
  nativeApi(): TrainScopeNative | undefined {
    if (this.native || this.nativeFailed) return this.native;
    try {
      this.native = loadNative({ extensionRoot: this.extensionPath });
      this.log.info(`native addon ${this.native.version()} loaded from ${this.native.path}`);
    } catch (err) {
      this.nativeFailed = true;
      const msg = (err as Error).message;
      this.log.warn(msg);
      void vscode.window.showWarningMessage(`TrainScope: checks and hovers in .train files are off. ${msg}`);
    }
    return this.native;
  }

  /** A warning shown once per session (settings problems repeat on every read). */
  warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.log.warn(message);
    void vscode.window.showWarningMessage(`TrainScope: ${message}`);
  }

  /** Shows a failure to the user and logs it; never swallowed. */
  showError(err: unknown, what?: string): void {
    const msg = err instanceof Error ? err.message : String(err);
    const text = what ? `${what}: ${msg}` : msg;
    this.log.error(text);
    if (err instanceof Error && err.stack) this.log.debug(err.stack);
    void vscode.window.showErrorMessage(`TrainScope: ${text}`, 'Show Output').then((pick) => {
      if (pick) this.log.show(true);
    });
  }

  dispose(): void {
    // Reverse order: later things may depend on earlier ones (the panel on
    // the run manager's events, everything on the log).
    for (const d of this.disposables.splice(0).reverse()) {
      try {
        d.dispose();
      } catch (err) {
        console.error('TrainScope: dispose failed', err);
      }
    }
  }
}
