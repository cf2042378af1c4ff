// Reading the `trainscope.*` settings. The programs TrainScope launches
// (trainer, mpirun) are taken from user or machine settings only: a
// workspace is content someone else may have written, and must not choose
// what runs on this machine, trusted or not.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { parseSize } from '../common/format';

const SECTION = 'trainscope';
const DEFAULT_RUNS_FOLDER = '.trainscope/runs';

export interface Settings {
  /** Absolute path of the trainer to run. */
  trainerPath: string;
  /** Where trainerPath came from, for messages. */
  trainerPathFrom: 'default' | 'user settings';
  mpirunPath: string;
  mpirunArgs: string[];
  /** As written (may be relative to the workspace folder). */
  runsFolder: string;
  defaultRanks: number;
  memoryBudgetBytes: number | null;
  /** Problems worth telling the user (ignored workspace values, a bad budget). */
  warnings: string[];
}

/** The user/machine value of a setting, ignoring workspace and folder values (reported in `warnings`). */
function userOnly(cfg: vscode.WorkspaceConfiguration, key: string, warnings: string[]): string | undefined {
  const i = cfg.inspect<string>(key);
  if (!i) return undefined;
  const ws = i.workspaceFolderValue ?? i.workspaceValue;
  if (ws !== undefined && ws !== i.globalValue) {
    warnings.push(
      `${SECTION}.${key} is set in workspace settings to '${ws}'; TrainScope ignores that: set it in your user settings to choose the program it runs.`,
    );
  }
  const v = i.globalValue;
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function defaultTrainerPath(extensionPath: string): string {
  return path.join(extensionPath, 'native', 'build', process.platform === 'win32' ? 'trainscope-train.exe' : 'trainscope-train');
}

export function readSettings(extensionPath: string, scope?: vscode.Uri): Settings {
  const cfg = vscode.workspace.getConfiguration(SECTION, scope);
  const warnings: string[] = [];
  const userTrainer = userOnly(cfg, 'trainerPath', warnings);
  const userMpirun = userOnly(cfg, 'mpirunPath', warnings);
  const budgetText = cfg.get<string>('memoryBudget', '').trim();
  let memoryBudgetBytes: number | null = null;
  if (budgetText) {
    const s = parseSize(budgetText);
    if (s.ok) memoryBudgetBytes = s.bytes;
    else warnings.push(`${SECTION}.memoryBudget: ${s.error}`);
  }
  const ranks = cfg.get<number>('defaultRanks', 1);
  const args = cfg.get<unknown>('mpirunArgs', []);
  return {
    trainerPath: userTrainer ?? defaultTrainerPath(extensionPath),
    trainerPathFrom: userTrainer ? 'user settings' : 'default',
    mpirunPath: userMpirun ?? 'mpirun',
    mpirunArgs: Array.isArray(args) ? args.filter((a): a is string => typeof a === 'string') : [],
    runsFolder: cfg.get<string>('runsFolder', DEFAULT_RUNS_FOLDER).trim() || DEFAULT_RUNS_FOLDER,
    defaultRanks: Number.isInteger(ranks) && ranks >= 1 ? ranks : 1,
    memoryBudgetBytes,
    warnings,
  };
}

/**
 * The runs folder for a config: the setting resolved against the config's
 * workspace folder (or, for a loose file, the config's own folder).
 */
export function runsFolderFor(configUri: vscode.Uri, runsFolder: string): string {
  if (path.isAbsolute(runsFolder)) return runsFolder;
  const wf = vscode.workspace.getWorkspaceFolder(configUri);
  const base = wf ? wf.uri.fsPath : path.dirname(configUri.fsPath);
  return path.join(base, runsFolder);
}

/** Every runs folder of the open workspace folders that exists on disk. */
export function allRunsFolders(extensionPath: string): string[] {
  const out = new Set<string>();
  for (const wf of vscode.workspace.workspaceFolders ?? []) {
    const s = readSettings(extensionPath, wf.uri);
    const dir = path.isAbsolute(s.runsFolder) ? s.runsFolder : path.join(wf.uri.fsPath, s.runsFolder);
    if (existsSync(dir)) out.add(dir);
  }
  return [...out];
}
