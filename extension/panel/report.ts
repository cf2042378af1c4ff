// report.html: one run as a single self-contained page that any browser
// opens from disk: the webview bundle and the run's model inlined, with a
// CSP that allows no network at all. No `vscode` import; the extension
// writes one when a run ends, and extension/panel/reportCli.ts does from a shell.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { InitMessage, ViewSettings } from '../../common/protocol';
import { makeNonce, renderPage } from './html';
import type { RunModel } from '../../common/runModel';
import { loadRun, REPORT_FILE } from '../runs/runStore';

interface ReportOptions {
  /** The built webview bundle (out/webview.js). */
  webviewScript: string;
  settings?: ViewSettings;
}

/** The page for a model, given the bundle's text. */
export function renderReport(model: RunModel, webviewJs: string, settings: ViewSettings = { budgetBytes: null }): string {
  const data: InitMessage = { type: 'init', model, compare: [], settings };
  const title = `TrainScope — ${model.id}`;
  return renderPage({ title, nonce: makeNonce(), script: { inline: webviewJs }, data });
}

/**
 * Writes `<runDir>/report.html` (atomically: a reader never sees half a
 * page) and returns its path.
 */
export async function writeReport(runDir: string, options: ReportOptions): Promise<string> {
  const [{ model }, js] = await Promise.all([loadRun(runDir), readFile(options.webviewScript, 'utf8')]);
  const html = renderReport(model, js, options.settings);
  const out = path.join(runDir, REPORT_FILE);
  const tmp = `${out}.${process.pid}.tmp`;
  await writeFile(tmp, html, 'utf8');
  await rename(tmp, out);
  return out;
}
