// Starting, following and stopping trainer runs from the editor. The
// RunManager owns the live run (a LiveRun, with its progress notification and
// listeners) and lives as long as the extension. It tells others about runs
// through its events; it calls into no view.
import { constants as fsConstants } from 'node:fs';
import { access, readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS } from '../commandIds';
import { findKey } from '../config/outline';
import type { Ctx, RunService } from '../ctx';
import { formatCount, formatLoss, formatMs } from '../../common/format';
import { splitLines } from '../native/positions';
import { writeReport } from '../panel/report';
import { type FinishedRun, LiveRun } from './liveRun';
import { createRunDir, EVENTS_FILE, listRuns, type RunInfo, runUsesConfig } from './runStore';
import { runsFolderFor } from '../settings';
import { isOverrideMessage, rangeForColumn } from './trainerDiagnostics';
import { type RunResult, type TrainerLaunch, trainerArgs } from './trainerProcess';

const UI_THROTTLE_MS = 250;

export class RunManager implements RunService, vscode.Disposable {
  private live: LiveRun | undefined;
  private readonly runsChanged = new vscode.EventEmitter<void>();
  /** A run started or ended: run lists (CodeLens, pickers) may have changed. */
  readonly onDidChangeRuns = this.runsChanged.event;
  private readonly runStarted = new vscode.EventEmitter<LiveRun>();
  /** A run started (the profile view shows it). */
  readonly onDidStartRun = this.runStarted.event;
  private readonly runEnded = new vscode.EventEmitter<LiveRun>();
  /** A run's trainer ended; the run is no longer current (fired before it is recorded). */
  readonly onDidEndRun = this.runEnded.event;
  private readonly showAsked = new vscode.EventEmitter<LiveRun>();
  /** The user asked, from a message about a run, to see its profile. */
  readonly onDidAskToShowRun = this.showAsked.event;
  private statusTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly ctx: Ctx) {}

  get current(): LiveRun | undefined {
    return this.live;
  }

  /**
   * Runs `configUri` with the trainer; resolves when the run has ended and
   * been reported, with the run, or undefined when none started (the user
   * has been told why).
   */
  async profile(configUri: vscode.Uri): Promise<FinishedRun | undefined> {
    const ctx = this.ctx;
    if (!vscode.workspace.isTrusted) {
      const pick = await vscode.window.showWarningMessage(
        'TrainScope does not run the trainer in Restricted Mode: a config in an untrusted workspace could make it read or write files. Trust this workspace to profile; saved profiles can still be viewed.',
        'Manage Workspace Trust',
      );
      if (pick) await vscode.commands.executeCommand('workbench.trust.manage');
      return;
    }
    if (this.live) {
      const pick = await vscode.window.showWarningMessage(
        `TrainScope: a run is already in progress (${this.live.id}). Stop it before starting another.`,
        'Stop Run',
        'Show Profile',
      );
      if (pick === 'Stop Run') this.stop();
      else if (pick === 'Show Profile') this.showAsked.fire(this.live);
      return;
    }
    if (configUri.scheme !== 'file') {
      throw new Error(`the trainer can only run configs on disk, not ${configUri.toString()}`);
    }
    const doc = await vscode.workspace.openTextDocument(configUri);
    // The trainer reads the file, not the editor: run what the user sees.
    if (doc.isDirty && !(await doc.save())) throw new Error(`could not save ${configUri.fsPath} before running it`);

    const settings = ctx.settings(configUri);
    try {
      await access(settings.trainerPath, fsConstants.X_OK);
    } catch {
      const why =
        settings.trainerPathFrom === 'default'
          ? `the trainer is not built (no ${settings.trainerPath}): run npm run build in the extension's folder, or set trainscope.trainerPath in your user settings`
          : `trainscope.trainerPath (${settings.trainerPath}) is not an executable file`;
      const pick = await vscode.window.showErrorMessage(`TrainScope: ${why}.`, 'Open Settings');
      if (pick) await vscode.commands.executeCommand('workbench.action.openSettings', 'trainscope.trainerPath');
      return;
    }

    const configPath = configUri.fsPath;
    const { ranks, overrides } = await this.ranksFor(doc, settings.defaultRanks);
    const runsFolder = runsFolderFor(configUri, settings.runsFolder);
    const dir = await createRunDir(runsFolder, configPath);
    const args = trainerArgs(configPath, dir, overrides);
    const launch: TrainerLaunch =
      ranks > 1
        ? {
            command: settings.mpirunPath,
            args: ['-n', String(ranks), ...settings.mpirunArgs, settings.trainerPath, ...args],
            cwd: path.dirname(configPath),
            eventsFile: path.join(dir, EVENTS_FILE),
          }
        : { command: settings.trainerPath, args, cwd: path.dirname(configPath), eventsFile: path.join(dir, EVENTS_FILE) };

    ctx.runDiagnostics.delete(configUri);
    ctx.log.info(`run ${path.basename(dir)}: ${[launch.command, ...launch.args].map(quoteArg).join(' ')}`);
    const run = new LiveRun(ctx.log, configUri, dir, launch);
    this.live = run;
    this.setRunningContext(true);
    this.runsChanged.fire();
    const sub = run.onDidChange(() => this.scheduleStatus());
    this.scheduleStatus();
    this.runStarted.fire(run);
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `TrainScope: ${path.basename(configPath)}`, cancellable: true },
        (progress, token) => {
          const onCancel = token.onCancellationRequested(() => run.cancel());
          let reported = 0;
          const onChange = run.onDidChange(() => {
            const m = run.builder.model;
            const total = Number(m.run?.config.train.steps) || 0;
            const n = m.steps.step.length;
            if (n === reported) return;
            const inc = total > 0 ? ((n - reported) / total) * 100 : undefined;
            reported = n;
            const loss = formatLoss(m.steps.loss[n - 1]);
            progress.report({ increment: inc, message: `step ${formatCount(n)}${total ? `/${formatCount(total)}` : ''} · loss ${loss}` });
          });
          return run.done.finally(() => {
            onChange.dispose();
            onCancel.dispose();
          });
        },
      );
    } finally {
      sub.dispose();
      this.live = undefined;
      this.setRunningContext(false);
      this.updateStatus();
      this.runEnded.fire(run);
    }
    const result = await run.done;
    run.dispose();
    await this.record(run, result, doc);
    this.runsChanged.fire();
    // Not awaited: a notification stays until the user dismisses it.
    void this.notify(run, result).catch((err: unknown) => ctx.showError(err));
    return { dir: run.dir, model: run.builder.model, result };
  }

  /** The newest run made from a config, if any. */
  async latestFor(config: vscode.Uri): Promise<RunInfo | undefined> {
    const folder = runsFolderFor(config, this.ctx.settings(config).runsFolder);
    const base = vscode.workspace.getWorkspaceFolder(config)?.uri.fsPath ?? path.dirname(config.fsPath);
    return (await listRuns(folder)).find((r) => runUsesConfig(r, config.fsPath, base));
  }

  stop(): boolean {
    return this.live?.stop() ?? false;
  }

  /** Waits for the live run (if any) to end, at most `ms`. */
  async settle(ms: number): Promise<void> {
    const live = this.live;
    if (!live) return;
    await Promise.race([live.done, new Promise((r) => setTimeout(r, ms))]);
  }

  dispose(): void {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.live?.dispose();
    this.live = undefined;
    this.runsChanged.dispose();
    this.runStarted.dispose();
    this.runEnded.dispose();
    this.showAsked.dispose();
  }

  /**
   * The ranks a run uses: the config's `parallel.ranks` when it sets one,
   * else `trainscope.defaultRanks`, passed to the trainer as an override so
   * the run record says what ran.
   */
  private async ranksFor(doc: vscode.TextDocument, defaultRanks: number): Promise<{ ranks: number; overrides: string[] }> {
    const analysis = await this.ctx.insights.analysis(doc);
    if (analysis) {
      if (analysis.where['parallel.ranks'] && analysis.config) return { ranks: analysis.config.parallel.ranks, overrides: [] };
    } else {
      // No addon: the lexer finds the key; the trainer checks its value.
      const k = findKey(this.ctx.insights.outline(doc), 'parallel', 'ranks');
      if (k) {
        const n = Number(splitLines(doc.getText())[k.line].slice(k.valueStart, k.valueEnd));
        return { ranks: Number.isInteger(n) && n >= 1 ? n : 1, overrides: [] };
      }
    }
    return defaultRanks > 1 ? { ranks: defaultRanks, overrides: [`parallel.ranks=${defaultRanks}`] } : { ranks: 1, overrides: [] };
  }

  // For menus: Stop in the palette and editor title only while a run is live.
  private setRunningContext(running: boolean): void {
    void vscode.commands.executeCommand('setContext', 'trainscope.running', running).then(undefined, (err: unknown) =>
      this.ctx.log.warn(`setContext failed: ${String(err)}`),
    );
  }

  private scheduleStatus(): void {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      this.updateStatus();
    }, UI_THROTTLE_MS);
  }

  private updateStatus(): void {
    const bar = this.ctx.statusBar;
    const run = this.live;
    if (!run) {
      bar.hide();
      return;
    }
    const m = run.builder.model;
    const n = m.steps.step.length;
    const total = Number(m.run?.config.train.steps) || 0;
    const parts = [n ? `step ${formatCount(n)}${total ? `/${formatCount(total)}` : ''}` : 'starting'];
    if (n) {
      parts.push(`loss ${formatLoss(m.steps.loss[n - 1])}`, `${formatCount(m.steps.tokensPerS[n - 1])} tok/s`);
    }
    bar.text = `$(pulse) ${parts.join(' · ')}`;
    bar.tooltip = `TrainScope: ${run.id}${run.process.cancelling ? ' (stopping)' : ''}. Click to show the profile.`;
    bar.command = COMMANDS.showProfile.id;
    bar.show();
  }

  /** Puts the trainer's errors into Problems and writes report.html (or removes an empty run folder). */
  private async record(run: LiveRun, result: RunResult, doc: vscode.TextDocument): Promise<void> {
    const ctx = this.ctx;
    const m = run.builder.model;
    ctx.log.info(`run ${run.id}: ${result.message} (exit ${result.exitCode ?? '-'}${result.signal ? `, ${result.signal}` : ''})`);
    this.publishDiagnostics(run, doc);

    if (m.run) {
      const webviewScript = path.join(ctx.extensionPath, 'out', 'webview.js');
      try {
        const out = await writeReport(run.dir, { webviewScript, settings: { budgetBytes: ctx.settings(run.configUri).memoryBudgetBytes } });
        ctx.log.info(`wrote ${out}`);
      } catch (err) {
        ctx.log.warn(`could not write report.html for ${run.id}: ${(err as Error).message}`);
      }
    } else {
      await removeIfEmpty(run.dir, ctx);
    }
  }

  /** Tells the user how the run ended. */
  private async notify(run: LiveRun, result: RunResult): Promise<void> {
    const ctx = this.ctx;
    const name = path.basename(run.configUri.fsPath);
    const m = run.builder.model;
    const firstError =
      m.errors[0] ??
      run.messages.find((x) => x.severity === 'error')?.message ??
      result.stderrTail.filter((l) => l.trim()).slice(-1)[0] ??
      result.message;
    const overrideError = run.messages.find(isOverrideMessage);
    switch (result.outcome) {
      case 'completed': {
        const s = m.summary;
        const detail = s
          ? ` loss ${formatLoss(s.first_loss)} → ${formatLoss(s.final_loss)}, ${formatMs(s.ms_per_step)}/step, ${formatCount(s.tokens_per_s)} tokens/s`
          : '';
        const pick = await vscode.window.showInformationMessage(`TrainScope: ${name} completed.${detail}`, 'Show Profile', 'Open Run Folder');
        if (pick === 'Show Profile') this.showAsked.fire(run);
        else if (pick === 'Open Run Folder') await vscode.commands.executeCommand(COMMANDS.openRunFolder.id, run.dir);
        break;
      }
      case 'bad-config': {
        const msg = overrideError
          ? `TrainScope: ${name}: ${overrideError.message} (an override TrainScope added from trainscope.defaultRanks)`
          : `TrainScope: ${name} has errors: ${firstError}`;
        const pick = await vscode.window.showErrorMessage(msg, 'Show Problems', 'Show Output');
        if (pick === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
        else if (pick === 'Show Output') ctx.log.show(true);
        break;
      }
      case 'cancelled':
        void vscode.window.showInformationMessage(`TrainScope: ${name} stopped after ${formatCount(m.steps.step.length)} steps.`);
        break;
      case 'interrupted':
        void vscode.window.showWarningMessage(`TrainScope: ${name} was interrupted (${result.message}) after ${formatCount(m.steps.step.length)} steps.`);
        break;
      case 'spawn-error': {
        const pick = await vscode.window.showErrorMessage(
          `TrainScope: could not start ${run.launch.command}: ${result.message}`,
          'Open Settings',
        );
        if (pick) await vscode.commands.executeCommand('workbench.action.openSettings', 'trainscope');
        break;
      }
      case 'killed':
      case 'failed': {
        const hint = result.signal === 'SIGKILL' ? ' (killed outright: out of memory?)' : '';
        const pick = await vscode.window.showErrorMessage(`TrainScope: ${name} ${result.message}${hint}: ${firstError}`, 'Show Output', 'Show Profile');
        if (pick === 'Show Output') ctx.log.show(true);
        else if (pick === 'Show Profile') this.showAsked.fire(run);
        break;
      }
    }
  }

  private publishDiagnostics(run: LiveRun, doc: vscode.TextDocument): void {
    const ctx = this.ctx;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    const configPath = path.normalize(run.configUri.fsPath);
    const configLines = splitLines(doc.getText());
    const live = ctx.parseDiagnostics.get(run.configUri) ?? [];
    for (const m of run.messages) {
      if (m.kind !== 'located' || isOverrideMessage(m)) continue;
      const file = path.normalize(path.resolve(path.dirname(configPath), m.file));
      // Only the config is open to us; other files are named in the message.
      if (file !== configPath) continue;
      const r = rangeForColumn(configLines, m.line, m.col);
      const range = new vscode.Range(r.line, r.start, r.line, r.end);
      // The addon already shows the same parse errors while typing.
      if (live.some((d) => d.range.start.line === r.line && d.message === m.message)) continue;
      const d = new vscode.Diagnostic(range, m.message, m.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      d.source = 'trainscope-train';
      const list = byFile.get(file) ?? [];
      list.push(d);
      byFile.set(file, list);
    }
    for (const [file, diags] of byFile) ctx.runDiagnostics.set(vscode.Uri.file(file), diags);
  }
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

// A run that stopped at a config error wrote nothing: don't leave an empty
// folder behind in the runs list.
async function removeIfEmpty(dir: string, ctx: Ctx): Promise<void> {
  try {
    if ((await readdir(dir)).length === 0) await rmdir(dir);
  } catch (err) {
    ctx.log.warn(`could not remove the empty run folder ${dir}: ${(err as Error).message}`);
  }
}
