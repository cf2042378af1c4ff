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
  /** Settles once this version's analysis is made, or is undefined when a newer version superseded it first. */
  result: Promise<Analysis | undefined>;
  /** Once made. */
  analysis?: Analysis;
}

export class AnalysisCache {
  private readonly entries = new Map<string, Entry>();

  /** `native`: the addon, or undefined when it is not built or does not load. */
  constructor(private readonly native: () => Pick<TrainScopeNative, 'analyzeAsync'> | undefined) {}

  /**
   * The analysis of the document as it is now, with `budget` as the memory
   * budget (trainscope.memoryBudget, bytes); undefined without the addon,
   * or when the document changed before its turn came.
   *
   * It runs on Node's worker pool, one at a time per document: a version
   * waits for the analysis before it and, if a newer version was asked for
   * meanwhile, gives way to it. So a burst of edits plans the text once
   * the burst ends, never each keystroke in a queue, and the editor's
   * thread never waits for the planner.
   */
  get(doc: ConfigText, budget: number | null): Promise<Analysis | undefined> {
    const hit = this.entries.get(doc.key);
    if (hit && hit.version === doc.version && hit.budget === budget) return hit.result;
    const native = this.native();
    if (!native) return Promise.resolve(undefined);
    const text = doc.getText();
    const fileName = doc.fileName;
    const previous = hit?.result.catch(() => undefined) ?? Promise.resolve(undefined);
    const entry: Entry = { version: doc.version, budget, result: Promise.resolve(undefined) };
    entry.result = previous.then(async () => {
      if (this.entries.get(doc.key) !== entry) return undefined;
      const analysis = await native.analyzeAsync(text, fileName, { memoryBudget: budget });
      entry.analysis = analysis;
      return analysis;
    });
    this.entries.set(doc.key, entry);
    return entry.result;
  }

  /** The analysis of the document as it is now if it is already made; no addon call. */
  peek(doc: ConfigText, budget: number | null): Analysis | undefined {
    const hit = this.entries.get(doc.key);
    return hit && hit.version === doc.version && hit.budget === budget ? hit.analysis : undefined;
  }

  /** Forgets a closed document. */
  delete(key: string): void {
    this.entries.delete(key);
  }
}
