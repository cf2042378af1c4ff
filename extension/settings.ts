// Reading the `trainscope.*` settings. What TrainScope launches (trainer,
// mpirun and its arguments) is taken from user or machine settings only
// (machineSettings.ts says why).
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { parseSize } from '../common/format';
import { ignoredWarning, machineValue, type MachineValue } from './machineSettings';

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

const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const stringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((a) => typeof a === 'string');

/** A machine setting's user value (or its default); a workspace value is ignored and reported in `warnings`. */
function machine<T>(cfg: vscode.WorkspaceConfiguration, key: string, valid: (v: unknown) => v is T, warnings: string[]): MachineValue<T> {
  const r = machineValue(cfg.inspect(key), valid);
  if (r.ignored !== undefined) warnings.push(ignoredWarning(`${SECTION}.${key}`, r.ignored));
  return r;
}

function defaultTrainerPath(extensionPath: string): string {
  return path.join(extensionPath, 'native', 'build', process.platform === 'win32' ? 'trainscope-train.exe' : 'trainscope-train');
}

export function readSettings(extensionPath: string, scope?: vscode.Uri): Settings {
  const cfg = vscode.workspace.getConfiguration(SECTION, scope);
  const warnings: string[] = [];
  // The default of both paths is empty: the trainer built into the extension, mpirun from PATH.
  const trainer = machine(cfg, 'trainerPath', nonEmptyString, warnings);
  const mpirun = machine(cfg, 'mpirunPath', nonEmptyString, warnings);
  const mpirunArgs = machine(cfg, 'mpirunArgs', stringArray, warnings);
  const budgetText = cfg.get<string>('memoryBudget', '').trim();
  let memoryBudgetBytes: number | null = null;
  if (budgetText) {
    const s = parseSize(budgetText);
    if (s.ok) memoryBudgetBytes = s.bytes;
    else warnings.push(`${SECTION}.memoryBudget: ${s.error}`);
  }
  const ranks = cfg.get<number>('defaultRanks', 1);
  return {
    trainerPath: trainer.value?.trim() ?? defaultTrainerPath(extensionPath),
    trainerPathFrom: trainer.from,
    mpirunPath: mpirun.value?.trim() ?? 'mpirun',
    mpirunArgs: mpirunArgs.value ?? [],
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
