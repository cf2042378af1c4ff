// The editor side of suggestions.ts: one analysis of each version of an
// open config (analysis.ts), the diagnostics published from it (the
// parser's errors; TrainScope's warnings: the last run went over the memory
// budget, the config's checkpoint budget fits no plan), and the code
// actions on `.train` configs (each titled with the planner's predicted
// effect) with their "apply and re-profile" variants.
import * as vscode from 'vscode';
import { KeyedDebouncer } from './debounce';
import { COMMANDS } from '../commandIds';
import { AnalysisCache, type ConfigText } from './analysis';
import { outlineOf } from './lexer';
import { type ConfigAction, type ConfigInsights, configInsights, type LastRunFacts } from './suggestions';
import type { TextEdit } from './edits';
import type { Ctx } from '../ctx';
import { type Analysis, diagnosticRange, OVERRIDE_FILE, type Outline } from '../native/addon';
import { type Range, splitLines } from '../native/positions';
import { readRunFacts } from '../runs/runFacts';

const LANGUAGE = 'trainscope';
/** The `source` of TrainScope's own warnings (the parser's errors are "trainscope"). */
const INSIGHTS_SOURCE = 'TrainScope';
const DEBOUNCE_MS = 300;

/** A change a code action proposes, as the applyAndProfile command takes it. */
export interface ProposedChange {
  title: string;
  edits: TextEdit[];
  /** The document version the edits were computed for. */
  version: number;
}

function isPosition(v: unknown): boolean {
  const p = v as { line?: unknown; character?: unknown } | null;
  return typeof p === 'object' && p !== null && Number.isInteger(p.line) && Number.isInteger(p.character);
}

// The command can be run by anyone (a keybinding, another extension) with
// any arguments: check the shape before editing a file with them.
export function isProposedChange(v: unknown): v is ProposedChange {
  const c = v as Partial<ProposedChange> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.title === 'string' &&
    Number.isInteger(c.version) &&
    Array.isArray(c.edits) &&
    c.edits.every((e) => typeof e?.newText === 'string' && isPosition(e.range?.start) && isPosition(e.range?.end))
  );
}

function toVsRange(r: Range): vscode.Range {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

/** The edits as a WorkspaceEdit on `uri`. */
export function workspaceEdit(uri: vscode.Uri, edits: readonly TextEdit[]): vscode.WorkspaceEdit {
  const we = new vscode.WorkspaceEdit();
  for (const e of edits) we.replace(uri, toVsRange(e.range), e.newText);
  return we;
}

function configText(doc: vscode.TextDocument): ConfigText {
  return {
    key: doc.uri.toString(),
    version: doc.version,
    // The file name makes messages read like the trainer's; relative data
    // paths resolve against the config's folder as they will at run time.
    fileName: doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.path,
    getText: () => doc.getText(),
  };
}

/**
 * Open configs: one analysis per document version, read by diagnostics,
 * hovers, code actions, the run manager and the panel; each config's last
 * run read once (again when runs change); the parser's errors and
 * TrainScope's warnings kept current as configs are edited (one debounced
 * check per document).
 */
export class ConfigInsightsService implements vscode.Disposable {
  private readonly analyses: AnalysisCache;
  private readonly facts = new Map<string, Promise<LastRunFacts | undefined>>();
  private readonly debounce = new KeyedDebouncer();
  private readonly collection = vscode.languages.createDiagnosticCollection('trainscope-insights');
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.analyses = new AnalysisCache(() => ctx.nativeApi());
    const refresh = (): void => {
      this.facts.clear();
      for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
    };
    this.disposables.push(
      this.collection,
      ctx.runs.onDidChangeRuns(refresh),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('trainscope.memoryBudget') || e.affectsConfiguration('trainscope.runsFolder')) refresh();
      }),
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.languageId !== LANGUAGE || e.contentChanges.length === 0) return;
        // The trainer's errors describe the text it ran; after an edit they may point anywhere.
        ctx.runDiagnostics.delete(e.document.uri);
        this.schedule(e.document, DEBOUNCE_MS);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.debounce.cancel(d.uri.toString());
        this.analyses.delete(d.uri.toString());
        this.collection.delete(d.uri);
        ctx.parseDiagnostics.delete(d.uri);
      }),
    );
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  dispose(): void {
    this.debounce.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  /** The analysis of the config as it is now (made once per version); undefined without the addon. */
  async analysis(doc: vscode.TextDocument): Promise<Analysis | undefined> {
    if (doc.languageId !== LANGUAGE) return undefined;
    try {
      return await this.analyses.get(configText(doc), this.ctx.settings(doc.uri).memoryBudgetBytes);
    } catch (err) {
      this.ctx.log.warn(`analysing ${doc.uri.fsPath}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** The analysis of the config as it is now, if already made (for what cannot wait: cursor moves). */
  current(doc: vscode.TextDocument): Analysis | undefined {
    if (doc.languageId !== LANGUAGE) return undefined;
    return this.analyses.peek(configText(doc), this.ctx.settings(doc.uri).memoryBudgetBytes);
  }

  /** Where the config's headers, keys and values are (the parser's outline when made, else the lexer's). */
  outline(doc: vscode.TextDocument): Outline {
    return this.current(doc)?.outline ?? outlineOf(doc.getText());
  }

  /** The config's newest run, read once per change of the runs. */
  lastRun(uri: vscode.Uri): Promise<LastRunFacts | undefined> {
    if (uri.scheme !== 'file') return Promise.resolve(undefined);
    const key = uri.toString();
    let p = this.facts.get(key);
    if (!p) {
      p = this.ctx.runs
        .latestFor(uri)
        .then((r) => (r ? readRunFacts(r.dir) : undefined))
        .catch((err: unknown) => {
          this.ctx.log.warn(`reading the last run of ${uri.fsPath}: ${(err as Error).message}`);
          return undefined;
        });
      this.facts.set(key, p);
    }
    return p;
  }

  /** Actions and warnings for the document as it is now; undefined without the addon. */
  async insights(doc: vscode.TextDocument): Promise<ConfigInsights | undefined> {
    if (doc.languageId !== LANGUAGE) return undefined;
    const lastRun = await this.lastRun(doc.uri);
    const analysis = doc.isClosed ? undefined : await this.analysis(doc);
    if (!analysis || doc.isClosed) return undefined;
    return configInsights({ text: doc.getText(), analysis, budgetBytes: this.ctx.settings(doc.uri).memoryBudgetBytes, lastRun });
  }

  private schedule(doc: vscode.TextDocument, delay: number): void {
    if (doc.languageId !== LANGUAGE) return;
    this.debounce.schedule(doc.uri.toString(), delay, () => void this.publish(doc));
  }

  private async publish(doc: vscode.TextDocument): Promise<void> {
    if (doc.isClosed) return;
    const version = doc.version;
    const analysis = await this.analysis(doc);
    // Edited meanwhile: the edit scheduled its own check.
    if (!analysis || doc.isClosed || doc.version !== version) return;
    const lines = splitLines(doc.getText());
    const parsed: vscode.Diagnostic[] = [];
    for (const d of analysis.diagnostics) {
      if (d.file === OVERRIDE_FILE) continue;
      const r = diagnosticRange(lines, d) ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
      const diag = new vscode.Diagnostic(
        toVsRange(r),
        d.message,
        d.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
      );
      diag.source = PARSER_SOURCE;
      parsed.push(diag);
    }
    this.ctx.parseDiagnostics.set(doc.uri, parsed);
    const ins = await this.insights(doc);
    // Edited meanwhile: the edit scheduled its own check.
    if (doc.isClosed || doc.version !== version) return;
    const diags = (ins?.diagnostics ?? []).map((d) => {
      const v = new vscode.Diagnostic(toVsRange(d.range), d.message, vscode.DiagnosticSeverity.Warning);
      v.source = INSIGHTS_SOURCE;
      v.code = d.code;
      return v;
    });
    this.collection.set(doc.uri, diags);
  }
}

/** The `source` of the parser's diagnostics, among them a checkpoint budget that no plan fits. */
const PARSER_SOURCE = 'trainscope';
const BUDGET_FIXES: readonly ConfigAction['id'][] = ['configBudget', 'raiseBudget', 'leastPlan'];

/**
 * The warnings an action answers: going over the memory budget, anything
 * that saves memory; a checkpoint budget that no plan fits (TrainScope's
 * warning, or the parser's error on that line), the budget fixes.
 */
function answers(a: ConfigAction, d: vscode.Diagnostic): boolean {
  if (d.source === INSIGHTS_SOURCE) {
    if (d.code === 'over-budget') return a.id !== 'noiseScale';
    return d.code === 'budget-unfit' && BUDGET_FIXES.includes(a.id);
  }
  return d.source === PARSER_SOURCE && BUDGET_FIXES.includes(a.id) && a.lines.includes(d.range.start.line);
}

class ConfigActionProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix, vscode.CodeActionKind.RefactorRewrite];

  constructor(private readonly ctx: Ctx) {}

  async provideCodeActions(
    doc: vscode.TextDocument,
    range: vscode.Range | vscode.Selection,
    context: vscode.CodeActionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.CodeAction[]> {
    const ins = await this.ctx.insights.insights(doc);
    if (!ins || token.isCancellationRequested) return [];
    // Re-profiling runs the trainer: not in Restricted Mode, not while a run is live.
    const canRun = vscode.workspace.isTrusted && doc.uri.scheme === 'file' && !this.ctx.runs.current;
    const plain: vscode.CodeAction[] = [];
    const reprofile: vscode.CodeAction[] = [];
    for (const a of ins.actions) {
      const fixes = context.diagnostics.filter((d) => answers(a, d));
      const onLine = a.lines.some((l) => l >= range.start.line && l <= range.end.line);
      if (!onLine && fixes.length === 0) continue;
      const kind = fixes.length ? vscode.CodeActionKind.QuickFix : vscode.CodeActionKind.RefactorRewrite;
      if (context.only && !context.only.contains(kind)) continue;
      const action = new vscode.CodeAction(a.title, kind);
      if (fixes.length) action.diagnostics = fixes;
      if (a.disabled) {
        action.disabled = { reason: a.disabled };
        plain.push(action);
        continue;
      }
      action.edit = workspaceEdit(doc.uri, a.edits);
      // The budget plan is the fix for going over the budget, and the raised
      // budget for one that no plan fits (Auto Fix picks them).
      action.isPreferred = fixes.length > 0 && (a.id === 'budget' || a.id === 'raiseBudget');
      plain.push(action);
      if (canRun) {
        const variant = new vscode.CodeAction(`${a.title}, then re-profile and compare`, kind);
        if (fixes.length) variant.diagnostics = fixes;
        const change: ProposedChange = { title: a.title, edits: a.edits, version: doc.version };
        variant.command = { title: variant.title, command: COMMANDS.applyAndProfile.id, arguments: [doc.uri, change] };
        reprofile.push(variant);
      }
    }
    return [...plain, ...reprofile];
  }
}

export function registerConfigActions(ctx: Ctx): void {
  ctx.own(
    vscode.languages.registerCodeActionsProvider({ language: LANGUAGE }, new ConfigActionProvider(ctx), {
      providedCodeActionKinds: ConfigActionProvider.kinds,
    }),
  );
}
