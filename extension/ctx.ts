// What the extension's services see of its lifetime (types only): the shared
// log, diagnostics and status bar, settings, the native addon, and each other
// as the narrow services below. The object itself is built in ./host, which
// constructs the services; they import only this file, so no import circle
// runs through the lifetime.
import type * as vscode from 'vscode';
import type { ConfigInsights } from './config/suggestions';
import type { Analysis, Outline, TrainScopeNative } from './native/addon';
import type { PanelSource } from './panel/source';
import type { FinishedRun, LiveRun } from './runs/liveRun';
import type { RunInfo } from './runs/runStore';
import type { Settings } from './settings';

/** Runs: starting, stopping and finding them (the RunManager). */
export interface RunService {
  /** The live run, if one is in progress. */
  readonly current: LiveRun | undefined;
  /** A run started or ended: run lists (CodeLens, pickers) may have changed. */
  readonly onDidChangeRuns: vscode.Event<void>;
  /** A run started. */
  readonly onDidStartRun: vscode.Event<LiveRun>;
  /** A run's trainer ended. */
  readonly onDidEndRun: vscode.Event<LiveRun>;
  /** The user asked, from a message about a run, to see its profile. */
  readonly onDidAskToShowRun: vscode.Event<LiveRun>;
  profile(configUri: vscode.Uri): Promise<FinishedRun | undefined>;
  /** Stops the live run; false when there is none. */
  stop(): boolean;
  latestFor(config: vscode.Uri): Promise<RunInfo | undefined>;
}

/** The profile panel (the PanelManager). */
export interface PanelService {
  /** The run folder the panel shows, if any. */
  readonly currentDir: string | undefined;
  showLive(run: LiveRun): void;
  show(source: PanelSource, beside?: vscode.Uri): void;
}

/** Analyses and insights of open configs (the ConfigInsightsService). */
interface InsightsService {
  analysis(doc: vscode.TextDocument): Promise<Analysis | undefined>;
  current(doc: vscode.TextDocument): Analysis | undefined;
  outline(doc: vscode.TextDocument): Outline;
  insights(doc: vscode.TextDocument): Promise<ConfigInsights | undefined>;
}

export interface Ctx {
  readonly extension: vscode.ExtensionContext;
  readonly extensionPath: string;
  readonly log: vscode.LogOutputChannel;
  /** Errors the trainer printed for a run (stale once the file is edited). */
  readonly runDiagnostics: vscode.DiagnosticCollection;
  /** Errors of the addon's parser while typing. */
  readonly parseDiagnostics: vscode.DiagnosticCollection;
  readonly statusBar: vscode.StatusBarItem;
  readonly runs: RunService;
  readonly panels: PanelService;
  /** Predictions, suggested edits and budget warnings for open configs. */
  readonly insights: InsightsService;
  /** Registers a disposable for the extension's lifetime and returns it. */
  own<T extends vscode.Disposable>(d: T): T;
  settings(scope?: vscode.Uri): Settings;
  /** The native addon, or undefined when it is not built or does not load (the user is told once). */
  nativeApi(): TrainScopeNative | undefined;
  /** A warning shown once per session. */
  warnOnce(message: string): void;
  /** Shows a failure to the user and logs it. */
  showError(err: unknown, what?: string): void;
}
