// Editing `.train` files: errors while typing (the trainer's own parser via
// the addon, debounced), hovers from the addon's key table (with the
// planner's predictions on precision, checkpoint and accumulate), code
// actions (codeActions.ts), and CodeLenses to profile the config or reopen
// its last profile.
import * as vscode from 'vscode';
import { KeyedDebouncer } from './debounce';
import { COMMANDS } from '../commandIds';
import { registerConfigActions } from './codeActions';
import { predictionNotes } from './configActions';
import { keyAt } from './configText';
import type { Ctx } from '../ctx';
import { type KeyInfo, OVERRIDE_FILE } from '../native/addon';
import { diagnosticRange, splitLines } from '../native/positions';

const LANGUAGE = 'trainscope';
const SELECTOR: vscode.DocumentSelector = { language: LANGUAGE };
const PARSE_DEBOUNCE_MS = 300;

export function registerEditorFeatures(ctx: Ctx): void {
  ctx.own(new ParseDiagnostics(ctx));
  ctx.own(vscode.languages.registerHoverProvider(SELECTOR, new KeyHover(ctx)));
  registerConfigActions(ctx);
  const lenses = new ProfileLenses(ctx);
  ctx.own(lenses);
  ctx.own(vscode.languages.registerCodeLensProvider(SELECTOR, lenses));
}

/** Runs the addon's parser on open and edit (debounced) and publishes its diagnostics. */
class ParseDiagnostics implements vscode.Disposable {
  private readonly debounce = new KeyedDebouncer();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.languageId !== LANGUAGE || e.contentChanges.length === 0) return;
        // The trainer's errors describe the text it ran; after an edit they may point anywhere.
        ctx.runDiagnostics.delete(e.document.uri);
        this.schedule(e.document, PARSE_DEBOUNCE_MS);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.debounce.cancel(d.uri.toString());
        ctx.parseDiagnostics.delete(d.uri);
      }),
    );
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  dispose(): void {
    this.debounce.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private schedule(doc: vscode.TextDocument, delay: number): void {
    if (doc.languageId !== LANGUAGE) return;
    this.debounce.schedule(doc.uri.toString(), delay, () => this.check(doc));
  }

  private check(doc: vscode.TextDocument): void {
    if (doc.isClosed) return;
    const native = this.ctx.nativeApi();
    if (!native) return;
    const text = doc.getText();
    const lines = splitLines(text);
    let result;
    try {
      // The file name makes messages read like the trainer's; relative data
      // paths resolve against the config's folder as they will at run time.
      result = native.parse(text, doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.path);
    } catch (err) {
      this.ctx.showError(err, `checking ${doc.uri.fsPath}`);
      return;
    }
    const diags: vscode.Diagnostic[] = [];
    for (const d of result.diagnostics) {
      if (d.file === OVERRIDE_FILE) continue;
      const r = diagnosticRange(lines, d) ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
      const diag = new vscode.Diagnostic(
        new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character),
        d.message,
        d.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
      );
      diag.source = 'trainscope';
      diags.push(diag);
    }
    this.ctx.parseDiagnostics.set(doc.uri, diags);
  }
}

/** Hovers on keys: the key table's one-line meaning, type, default and choices. */
class KeyHover implements vscode.HoverProvider {
  private table: KeyInfo[] | undefined;

  constructor(private readonly ctx: Ctx) {}

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const native = this.ctx.nativeApi();
    if (!native) return undefined;
    const lines = splitLines(doc.getText());
    const k = keyAt(lines, pos.line);
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
      const notes = this.predictions(doc, info.key);
      if (notes) md.appendMarkdown(`\n\n${notes}`);
    }
    return new vscode.Hover(md, new vscode.Range(pos.line, k.start, pos.line, k.end));
  }

  /** The planner's numbers for each choice of `key`; none for other keys or a config with errors. */
  private predictions(doc: vscode.TextDocument, key: string): string | undefined {
    if (key !== 'precision' && key !== 'attention' && key !== 'checkpoint' && key !== 'accumulate') return undefined;
    const native = this.ctx.nativeApi();
    if (!native) return undefined;
    const text = doc.getText();
    const name = doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.path;
    const parsed = native.parse(text, name);
    if (!parsed.ok || !parsed.config) return undefined;
    try {
      return predictionNotes(native.plan(text, name), parsed.config, key);
    } catch (err) {
      this.ctx.log.warn(`planning ${name}: ${(err as Error).message}`);
      return undefined;
    }
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
