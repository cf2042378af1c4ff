// What the profile panel shows: a live run, or saved run folders loaded
// from disk (with the runs they are compared with).
import * as vscode from 'vscode';
import type { RunModel } from '../../common/runModel';
import type { LiveRun } from '../runs/liveRun';
import { configInWorkspace, loadRun } from '../runs/runStore';

/** A saved run shown in the panel (with the runs it is compared with). */
export interface SavedSource {
  kind: 'saved';
  model: RunModel;
  dir: string;
  configUri: vscode.Uri | undefined;
  compare: RunModel[];
  compareDirs: string[];
  /** The tab to open on (e.g. "compare" after Apply and Re-profile). */
  focus?: string;
}

/** What the panel shows: a live run (grows), or saved runs (fixed). */
export type PanelSource = { kind: 'live'; run: LiveRun } | SavedSource;

export function sourceDir(s: PanelSource): string {
  return s.kind === 'live' ? s.run.dir : s.dir;
}

/** The config file of a saved run, when it is still on disk in the workspace (configInWorkspace says why only there). */
function configOf(run: RunModel['run']): vscode.Uri | undefined {
  const given = run?.config_file;
  if (!given) return undefined;
  const found = configInWorkspace(given, (vscode.workspace.workspaceFolders ?? []).map((wf) => wf.uri.fsPath));
  return found ? vscode.Uri.file(found) : undefined;
}

/** Loads run folders to show: `dir`, compared with `compareDirs`. */
export async function loadSaved(dir: string, compareDirs: string[] = [], focus?: string): Promise<SavedSource> {
  const [main, ...others] = await Promise.all([dir, ...compareDirs].map((d) => loadRun(d)));
  return { kind: 'saved', model: main.model, dir, configUri: configOf(main.model.run), compare: others.map((o) => o.model), compareDirs, focus };
}
