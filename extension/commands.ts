// Every command, in one table keyed by the ids of commandIds.ts. Each entry
// makes the handler from the context; registration wraps it so that a
// failure is shown to the user instead of vanishing into a rejected promise.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { MAX_COMPARE_RUNS } from '../common/protocol';
import { type CommandName, COMMANDS } from './commandIds';
import { isProposedChange, type ProposedChange, workspaceEdit } from './config/codeActions';
import type { Ctx } from './ctx';
import { loadSaved } from './panel/source';
import { listRuns, type RunInfo, TRACE_FILE } from './runs/runStore';
import { allRunsFolders } from './settings';

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
  applyAndProfile: (ctx) => (arg, change) => applyAndProfile(ctx, arg, change),
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

async function showSaved(ctx: Ctx, dir: string, compareDirs: string[] = [], focus?: string): Promise<void> {
  const source = await loadSaved(dir, compareDirs, focus);
  ctx.panels.show(source, activeConfig());
  const p = source.model.streamProblems;
  if (p.count) ctx.log.warn(`${source.model.id}: ${p.count} unreadable line(s) in events.jsonl: ${p.messages.slice(0, 3).join('; ')}`);
}

async function showProfile(ctx: Ctx, uri: vscode.Uri | undefined): Promise<void> {
  const live = ctx.runs.current;
  if (live && (!uri || uri.fsPath === live.configUri.fsPath)) {
    ctx.panels.showLive(live);
    return;
  }
  const config = uri ?? activeConfig();
  if (config) {
    const latest = await ctx.runs.latestFor(config);
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
  if (picked.length > MAX_COMPARE_RUNS + 1) {
    // The panel's restore state carries no more (common/protocol.ts).
    void vscode.window.showInformationMessage(`TrainScope: pick at most ${MAX_COMPARE_RUNS + 1} runs to compare.`);
    return;
  }
  await showSaved(
    ctx,
    picked[0].dir,
    picked.slice(1).map((r) => r.dir),
  );
}

/**
 * Applies a suggested change to a config (a code action's, or one the user
 * picks), saves it, profiles it, and opens Compare on the config's previous
 * run and the new one: the prediction in the action's title against what
 * the trainer measured.
 */
async function applyAndProfile(ctx: Ctx, arg: unknown, given: unknown): Promise<void> {
  const uri = arg instanceof vscode.Uri ? arg : activeConfig();
  if (!uri) {
    void vscode.window.showInformationMessage('TrainScope: open a .train config to change and re-profile it.');
    return;
  }
  // Checked before editing, so that this command makes no change it cannot
  // profile; profile() tells the user why (Restricted Mode, a run in progress).
  if (!vscode.workspace.isTrusted || ctx.runs.current) {
    await ctx.runs.profile(uri);
    return;
  }
  const doc = await vscode.workspace.openTextDocument(uri);
  let change: ProposedChange | undefined;
  if (given !== undefined) {
    if (!isProposedChange(given)) throw new Error('the change to apply is malformed');
    // Edits are positions in the text they were made for.
    if (given.version !== doc.version) throw new Error(`${path.basename(uri.fsPath)} changed since "${given.title}" was offered: ask for it again`);
    change = given;
  } else {
    change = await pickChange(ctx, doc);
    if (!change) return;
  }
  const previous = await ctx.runs.latestFor(uri);
  if (!(await vscode.workspace.applyEdit(workspaceEdit(uri, change.edits)))) throw new Error(`could not apply "${change.title}"`);
  if (!(await doc.save())) throw new Error(`could not save ${uri.fsPath}`);
  const finished = await ctx.runs.profile(uri);
  // Not started, or stopped at a config error: nothing to compare.
  if (!finished?.model.run || !previous) return;
  await showSaved(ctx, finished.dir, [previous.dir], 'compare');
}

/** The user's pick among the config's suggested changes. */
async function pickChange(ctx: Ctx, doc: vscode.TextDocument): Promise<ProposedChange | undefined> {
  const version = doc.version;
  const insights = await ctx.insights.insights(doc);
  const actions = (insights?.actions ?? []).filter((a) => !a.disabled && a.edits.length > 0);
  if (!actions.length) {
    const why = insights ? 'the planner has no change to suggest for it' : 'it has errors, or the native addon is not built';
    void vscode.window.showInformationMessage(`TrainScope: ${path.basename(doc.uri.fsPath)}: ${why}.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    actions.map((a) => ({ label: a.title, action: a })),
    { title: 'Apply which change, then re-profile and compare?' },
  );
  return pick ? { title: pick.action.title, edits: pick.action.edits, version } : undefined;
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
