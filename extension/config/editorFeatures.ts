// Editing `.train` files: hovers from the addon's key table (with the
// planner's predictions on precision, attention, checkpoint and
// accumulate), code actions (codeActions.ts), and CodeLenses to profile the
// config or reopen its last profile. Errors while typing are published from
// each version's one analysis (codeActions.ts, ConfigInsightsService).
import * as vscode from 'vscode';
import { COMMANDS } from '../commandIds';
import { registerConfigActions } from './codeActions';
import { keyAt } from './outline';
import { predictionNotes } from './suggestions';
import type { Ctx } from '../ctx';
import type { KeyInfo } from '../native/addon';

const LANGUAGE = 'trainscope';
const SELECTOR: vscode.DocumentSelector = { language: LANGUAGE };

export function registerEditorFeatures(ctx: Ctx): void {
  ctx.own(vscode.languages.registerHoverProvider(SELECTOR, new KeyHover(ctx)));
  registerConfigActions(ctx);
  const lenses = new ProfileLenses(ctx);
  ctx.own(lenses);
  ctx.own(vscode.languages.registerCodeLensProvider(SELECTOR, lenses));
}

/** Hovers on keys: the key table's one-line meaning, type, default and choices. */
class KeyHover implements vscode.HoverProvider {
  private table: KeyInfo[] | undefined;

  constructor(private readonly ctx: Ctx) {}

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const native = this.ctx.nativeApi();
    if (!native) return undefined;
    const k = keyAt(this.ctx.insights.outline(doc), pos.line);
    if (!k || pos.character < k.start || pos.character > k.end) return undefined;
    this.table ??= native.keyTable();
    // A key in the wrong section still gets its documentation (the
    // diagnostic says where it belongs).
    const info = this.table.find((e) => e.key === k.key && e.section === k.section) ?? this.table.find((e) => e.key === k.key);
    if (!info) return undefined;
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${info.section}.${info.key}** — ${info.type}`);
    if (info.default !== '') md.appendMarkdown(`, default \`${info.default}\``);
    md.appendMarkdown(`\n\n${info.doc}`);
    if (info.values) md.appendMarkdown(`\n\nOne of: ${info.values.split('|').map((v) => `\`${v}\``).join(', ')}`);
    if (info.section === 'train' && k.section === 'train') {
      const notes = await this.predictions(doc, info.key);
      if (notes) md.appendMarkdown(`\n\n${notes}`);
    }
    return new vscode.Hover(md, new vscode.Range(pos.line, k.start, pos.line, k.end));
  }

  /** The planner's numbers for each choice of `key`; none for other keys or a config with errors. */
  private async predictions(doc: vscode.TextDocument, key: string): Promise<string | undefined> {
    if (key !== 'precision' && key !== 'attention' && key !== 'checkpoint' && key !== 'accumulate') return undefined;
    const analysis = await this.ctx.insights.analysis(doc);
    if (!analysis?.ok || !analysis.config || !analysis.plan) return undefined;
    return predictionNotes(analysis.plan, analysis.config, key);
  }
}

/** "▶ Profile" and, when the config has runs, "Show last profile", on line 1. */
class ProfileLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly ctx: Ctx) {
    this.sub = ctx.runs.onDidChangeRuns(() => this.changed.fire());
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const top = new vscode.Range(0, 0, 0, 0);
    const live = this.ctx.runs.current;
    const running = live?.configUri.toString() === doc.uri.toString();
    const lenses = [
      running
        ? new vscode.CodeLens(top, { title: '■ Stop', command: COMMANDS.stop.id, tooltip: 'Stop the run of this config' })
        : new vscode.CodeLens(top, { title: '▶ Profile', command: COMMANDS.profile.id, arguments: [doc.uri], tooltip: 'Train this config and profile it' }),
    ];
    if (running) {
      lenses.push(new vscode.CodeLens(top, { title: 'Show live profile', command: COMMANDS.showProfile.id, arguments: [doc.uri] }));
      return lenses;
    }
    if (doc.uri.scheme !== 'file') return lenses;
    try {
      const last = await this.ctx.runs.latestFor(doc.uri);
      if (last) {
        lenses.push(
          new vscode.CodeLens(top, {
            title: 'Show last profile',
            command: COMMANDS.showProfile.id,
            arguments: [doc.uri],
            tooltip: `Open ${last.id}`,
          }),
        );
      }
    } catch (err) {
      this.ctx.log.warn(`listing runs for ${doc.uri.fsPath}: ${(err as Error).message}`);
    }
    return lenses;
  }
}
