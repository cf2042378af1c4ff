// Every command, in one table keyed by the ids of commandIds.ts. Each entry
// makes the handler from the context; registration wraps it so that a
// failure is shown to the user instead of vanishing into a rejected promise.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { type CommandName, COMMANDS } from './commandIds';
import type { Ctx } from './ctx';
import type { RunModel } from './runModel';
import { listRuns, loadRun, type RunInfo, runUsesConfig, TRACE_FILE } from './runStore';
import { allRunsFolders, runsFolderFor } from './settings';

type Handler = (...args: unknown[]) => unknown;

const table: Record<CommandName, (ctx: Ctx) => Handler> = {
  profile: (ctx) => async (arg) => {
    const uri = await configArg(arg);
    if (uri) await ctx.runs.profile(uri);
  },
  stop: (ctx) => () => {
    if (!ctx.runs.stop()) void vscode.window.showInformationMessage('TrainScope: no run is in progress.');
  },
  showProfile: (ctx) => (arg) => showProfile(ctx, arg instanceof vscode.Uri ? arg : undefined),
  compareRuns: (ctx) => () => compareRuns(ctx),
  exportTrace: (ctx) => async (arg) => {
    const dir = await runDirArg(ctx, arg, 'Export Chrome Trace');
    if (dir) await exportTrace(dir);
  },
  openRunFolder: (ctx) => async (arg) => {
    const dir = await runDirArg(ctx, arg, 'Open Run Folder');
    if (dir) await openFolder(dir);
  },
};

export function registerCommands(ctx: Ctx): void {
  for (const name of Object.keys(table) as CommandName[]) {
    const handler = table[name](ctx);
    ctx.own(
      vscode.commands.registerCommand(COMMANDS[name].id, async (...args: unknown[]) => {
        try {
          return await handler(...args);
        } catch (err) {
          ctx.showError(err, COMMANDS[name].title);
          return undefined;
        }
      }),
    );
  }
}

function activeConfig(): vscode.Uri | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  return doc?.languageId === 'trainscope' ? doc.uri : undefined;
}

/** The config a command is about: its argument (CodeLens, menus), the active editor, or the user's pick. */
async function configArg(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  const active = activeConfig();
  if (active) return active;
  const files = await vscode.workspace.findFiles('**/*.train', '**/node_modules/**', 200);
  if (!files.length) {
    void vscode.window.showInformationMessage('TrainScope: open a .train config to profile it.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    files.map((f) => ({ label: path.basename(f.fsPath), description: vscode.workspace.asRelativePath(f), uri: f })),
    { title: 'Profile which config?' },
  );
  return pick?.uri;
}

async function allRuns(ctx: Ctx): Promise<RunInfo[]> {
  const lists = await Promise.all(allRunsFolders(ctx.extensionPath).map((d) => listRuns(d)));
  return lists.flat().sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** The newest run made from a config, if any. */
export async function latestRunFor(ctx: Ctx, config: vscode.Uri): Promise<RunInfo | undefined> {
  const folder = runsFolderFor(config, ctx.settings(config).runsFolder);
  const base = vscode.workspace.getWorkspaceFolder(config)?.uri.fsPath ?? path.dirname(config.fsPath);
  return (await listRuns(folder)).find((r) => runUsesConfig(r, config.fsPath, base));
}

/** The config file of a saved run, when it is still on disk. */
function configOf(info: { run: RunModel['run']; dir: string }): vscode.Uri | undefined {
  const given = info.run?.config_file;
  if (!given) return undefined;
  const candidates = path.isAbsolute(given)
    ? [given]
    : (vscode.workspace.workspaceFolders ?? []).map((wf) => path.join(wf.uri.fsPath, given));
  const found = candidates.find((c) => existsSync(c));
  return found ? vscode.Uri.file(found) : undefined;
}

async function pickRuns(ctx: Ctx, title: string, many: boolean): Promise<RunInfo[] | undefined> {
  const runs = await allRuns(ctx);
  if (!runs.length) {
    void vscode.window.showInformationMessage('TrainScope: no runs yet. Profile a .train config first.');
    return undefined;
  }
  const items = runs.map((r) => ({
    label: r.id,
    description: r.run ? vscode.workspace.asRelativePath(r.run.config_file) : '(no run record)',
    detail: r.run ? `${r.run.time} · ${(r.run.params / 1e6).toFixed(2)}M params · ${r.run.host}` : undefined,
    run: r,
  }));
  if (many) {
    const picked = await vscode.window.showQuickPick(items, { title, canPickMany: true, placeHolder: 'Pick two or more runs' });
    return picked?.map((p) => p.run);
  }
  const one = await vscode.window.showQuickPick(items, { title });
  return one ? [one.run] : undefined;
}

async function showSaved(ctx: Ctx, dir: string, compareDirs: string[] = []): Promise<void> {
  const [main, ...others] = await Promise.all([dir, ...compareDirs].map((d) => loadRun(d)));
  ctx.panels.show(
    { kind: 'saved', model: main.model, dir, configUri: configOf({ run: main.model.run, dir }), compare: others.map((o) => o.model) },
    activeConfig(),
  );
  const p = main.model.streamProblems;
  if (p.count) ctx.log.warn(`${main.model.id}: ${p.count} unreadable line(s) in events.jsonl: ${p.messages.slice(0, 3).join('; ')}`);
}

async function showProfile(ctx: Ctx, uri: vscode.Uri | undefined): Promise<void> {
  const live = ctx.runs.current;
  if (live && (!uri || uri.fsPath === live.configUri.fsPath)) {
    ctx.panels.showLive(live);
    return;
  }
  const config = uri ?? activeConfig();
  if (config) {
    const latest = await latestRunFor(ctx, config);
    if (latest) {
      await showSaved(ctx, latest.dir);
      return;
    }
    if (uri) {
      const pick = await vscode.window.showInformationMessage(`TrainScope: ${path.basename(uri.fsPath)} has no runs yet.`, 'Profile It');
      if (pick) await vscode.commands.executeCommand(COMMANDS.profile.id, uri);
      return;
    }
  }
  const picked = await pickRuns(ctx, 'Show which run?', false);
  if (picked?.[0]) await showSaved(ctx, picked[0].dir);
}

async function compareRuns(ctx: Ctx): Promise<void> {
  const picked = await pickRuns(ctx, 'Compare runs', true);
  if (!picked) return;
  if (picked.length < 2) {
    void vscode.window.showInformationMessage('TrainScope: pick at least two runs to compare.');
    return;
  }
  await showSaved(
    ctx,
    picked[0].dir,
    picked.slice(1).map((r) => r.dir),
  );
}

/** The run folder a command acts on: its argument (from the panel), the panel's run, or the user's pick. */
async function runDirArg(ctx: Ctx, arg: unknown, title: string): Promise<string | undefined> {
  if (typeof arg === 'string' && arg) return arg;
  if (ctx.panels.currentDir) return ctx.panels.currentDir;
  if (ctx.runs.current) return ctx.runs.current.dir;
  return (await pickRuns(ctx, title, false))?.[0]?.dir;
}

async function exportTrace(dir: string): Promise<void> {
  const trace = path.join(dir, TRACE_FILE);
  if (!existsSync(trace)) {
    throw new Error(`${path.basename(dir)} has no ${TRACE_FILE}: the trainer writes it when a run ends (a killed run has none)`);
  }
  const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
  const target = await vscode.window.showSaveDialog({
    title: 'Export Chrome Trace',
    defaultUri: vscode.Uri.file(path.join(base, `${path.basename(dir)}.trace.json`)),
    filters: { 'Chrome trace': ['json'] },
  });
  if (!target) return;
  await vscode.workspace.fs.copy(vscode.Uri.file(trace), target, { overwrite: true });
  const pick = await vscode.window.showInformationMessage(
    `TrainScope: saved ${path.basename(target.fsPath)}. Open it in Perfetto (ui.perfetto.dev) or chrome://tracing.`,
    'Open Perfetto',
  );
  if (pick) await vscode.env.openExternal(vscode.Uri.parse('https://ui.perfetto.dev'));
}

async function openFolder(dir: string): Promise<void> {
  const uri = vscode.Uri.file(dir);
  // A remote window's files are not on this machine's file manager.
  if (vscode.env.remoteName) await vscode.commands.executeCommand('revealInExplorer', uri);
  else await vscode.commands.executeCommand('revealFileInOS', uri);
}
