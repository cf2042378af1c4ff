// One analysis per document version: the addon's analyze() (diagnostics,
// resolved config, the parser's outline, the planner's report) made once
// for each version of a config and memory budget, then read by everything
// that asks about that text: the diagnostics, hovers, code actions, the
// rank lookup before a run, the panel's cursor highlight. No `vscode` import.
import type { Analysis, TrainScopeNative } from '../native/addon';

/** A document as the cache sees it: an editor's TextDocument, or a test's stand-in. */
export interface ConfigText {
  /** Identifies the document (its URI). */
  readonly key: string;
  /** Grows with every edit (TextDocument.version). */
  readonly version: number;
  /** Names it in diagnostics and anchors its relative data paths. */
  readonly fileName: string;
  getText(): string;
}

interface Entry {
  version: number;
  budget: number | null;
  analysis: Analysis;
}

export class AnalysisCache {
  private readonly entries = new Map<string, Entry>();

  /** `native`: the addon, or undefined when it is not built or does not load. */
  constructor(private readonly native: () => Pick<TrainScopeNative, 'analyze'> | undefined) {}

  /**
   * The analysis of the document as it is now, with `budget` as the memory
   * budget (trainscope.memoryBudget, bytes); undefined without the addon.
   */
  get(doc: ConfigText, budget: number | null): Analysis | undefined {
    const hit = this.entries.get(doc.key);
    if (hit && hit.version === doc.version && hit.budget === budget) return hit.analysis;
    const native = this.native();
    if (!native) return undefined;
    const analysis = native.analyze(doc.getText(), doc.fileName, { memoryBudget: budget });
    this.entries.set(doc.key, { version: doc.version, budget, analysis });
    return analysis;
  }

  /** Forgets a closed document. */
  delete(key: string): void {
    this.entries.delete(key);
  }
}
