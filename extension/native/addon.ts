// Typed access to trainscope_addon.node: the trainer's own config parser,
// memory model and planner (native/addon/addon.cpp), so the editor reports
// exactly the errors `trainscope-train --check` would and predicts with the
// models the trainer runs. The addon's protocol is mirrored here and nowhere
// else. No `vscode` import: the tests load it under plain Node.
//
// The addon gives 1-based line and BYTE columns (UTF-8, as the C++ counts);
// positions.ts turns them into the 0-based UTF-16 positions an editor uses.
import type { ResolvedConfig } from '../../common/config';
import type { PlanReport } from '../../common/events/schema';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type Range, splitLines, utf16Range } from './positions';

type Severity = 'error' | 'warning';

export interface Diagnostic {
  /** The file name given to parse, or "--set" for an override (line = its 1-based index). */
  file: string;
  /** 1-based line; 0 = not from a line. */
  line: number;
  /** 1-based byte column. */
  col: number;
  /** One past the last byte of the offending token (1-based). */
  endCol: number;
  severity: Severity;
  message: string;
  /** "section.key" the diagnostic is about, "" when none. */
  key: string;
}

interface SourceLoc {
  /** The config file, or "--set" for an override. */
  file: string;
  line: number;
  /** Byte column of the key. */
  col: number;
  /** Byte column of the value. */
  valueCol: number;
  /** One past the value. */
  endCol: number;
}

/**
 * A `[section]` header or key line as the parser read it (keys it rejected
 * included): 0-based line, 0-based UTF-16 offsets on that line.
 */
export interface OutlineLine {
  line: number;
  header: boolean;
  /** The header's name; a key line's section ('' before any header). */
  section: string;
  /** The key ('' on a header line). */
  key: string;
  /** The key's span; a header's from '[' to past ']'. */
  start: number;
  end: number;
  /** The value, without a comment or trailing blanks; both `end` when the key has none (and on headers). */
  valueStart: number;
  valueEnd: number;
}

/** A config's header and key lines, in order. */
export type Outline = readonly OutlineLine[];

/** Everything the editor knows of one config text, from one call (analyze). */
export interface Analysis {
  /** No diagnostic of severity error. */
  ok: boolean;
  /** The parser's, and a checkpoint budget no plan fits: what `trainscope-train --check` prints. */
  diagnostics: Diagnostic[];
  /** null when the config has errors. */
  config: ResolvedConfig | null;
  /** "section.key" -> where it was set; keys absent took their default. */
  where: Record<string, SourceLoc>;
  outline: Outline;
  /**
   * The planner's report; null when the parser rejects the config (a
   * checkpoint budget no plan fits is still planned, for its ways out).
   */
  plan: PlanReport | null;
}

interface AnalyzeOptions {
  /** "section.key=value", as the trainer's --set. */
  overrides?: readonly string[];
  /** Bytes a whole run may use (trainscope.memoryBudget): adds the plan that fits it (`plan.fit`). */
  memoryBudget?: number | null;
}

export interface KeyInfo {
  section: string;
  key: string;
  /** "int" | "number" | "size" | "enum" | "path" | "flag" | "word" */
  type: string;
  /** Enum choices "a|b|c", "" otherwise. */
  values: string;
  default: string;
  /** One sentence, for hovers. */
  doc: string;
}

export interface TrainScopeNative {
  /** The resolved path the addon was loaded from. */
  readonly path: string;
  /** One parse, and the planner on what it parsed. */
  analyze(text: string, fileName: string, options?: AnalyzeOptions): Analysis;
  /** The same, on Node's worker pool: what the editor calls, so planning never stalls its thread. */
  analyzeAsync(text: string, fileName: string, options?: AnalyzeOptions): Promise<Analysis>;
  keyTable(): KeyInfo[];
  version(): string;
}

/** The diagnostics' file name for --set overrides. */
export const OVERRIDE_FILE = '--set';

/** Where the addon lives, relative to the extension (and repository) root. */
export const ADDON_RELATIVE_PATH = path.join('native', 'build', 'trainscope_addon.node');

export const NOT_BUILT_MESSAGE = "TrainScope's native addon is not built: run npm run build";

interface LoadOptions {
  /** The .node file itself; wins over extensionRoot. */
  addonPath?: string;
  /** The extension root (context.extensionPath); the addon is <root>/native/build/trainscope_addon.node. */
  extensionRoot?: string;
}

// The raw addon, as native/addon/addon.cpp exports it.
type RawOptions = { overrides?: string[]; memoryBudget?: number };
interface RawAddon {
  analyze(text: string, fileName: string, options?: RawOptions): string;
  analyzeAsync(text: string, fileName: string, options?: RawOptions): Promise<string>;
  keyTable(): KeyInfo[];
  version(): string;
}

// The addon's outline: 1-based lines and byte columns.
interface RawOutlineLine {
  line: number;
  header: boolean;
  section: string;
  key?: string;
  col: number;
  endCol: number;
  valueCol?: number;
  valueEnd?: number;
}
type RawAnalysis = Omit<Analysis, 'outline'> & { outline: RawOutlineLine[] };

function outlineFromBytes(text: string, raw: readonly RawOutlineLine[]): Outline {
  const lines = splitLines(text);
  return raw.map((o) => {
    const key = utf16Range(lines, o.line, o.col, o.endCol);
    const value = o.header ? key : utf16Range(lines, o.line, o.valueCol ?? o.endCol, o.valueEnd ?? o.endCol);
    const empty = o.header || o.valueCol === o.valueEnd;
    return {
      line: key.start.line,
      header: o.header,
      section: o.section,
      key: o.key ?? '',
      start: key.start.character,
      end: key.end.character,
      valueStart: empty ? key.end.character : value.start.character,
      valueEnd: empty ? key.end.character : value.end.character,
    };
  });
}

const loaded = new Map<string, TrainScopeNative>();

/** Folders the bundle may run from: out/ (extension.js) or out/test/ (tests). */
function defaultRoot(): string {
  const starts: string[] = [];
  if (typeof __dirname === 'string') starts.push(__dirname);
  starts.push(process.cwd());
  for (const start of starts) {
    let dir = path.resolve(start);
    for (;;) {
      if (existsSync(path.join(dir, ADDON_RELATIVE_PATH))) return dir;
      if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'native'))) return dir;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return path.resolve(starts[0]);
}

function resolveAddonPath(opts: LoadOptions = {}): string {
  if (opts.addonPath) return path.resolve(opts.addonPath);
  return path.join(path.resolve(opts.extensionRoot ?? defaultRoot()), ADDON_RELATIVE_PATH);
}

function parseJson<T>(json: string, what: string): T {
  try {
    return JSON.parse(json) as T;
  } catch (err) {
    throw new Error(`TrainScope's native addon returned invalid JSON for ${what}: ${(err as Error).message}`);
  }
}

/**
 * Loads the addon (once per path). Throws an Error saying how to build it
 * when the file is missing, and the loader's reason when it does not load.
 */
export function loadNative(opts: LoadOptions = {}): TrainScopeNative {
  const file = resolveAddonPath(opts);
  const cached = loaded.get(file);
  if (cached) return cached;
  if (!existsSync(file)) {
    throw new Error(`${NOT_BUILT_MESSAGE} (no ${file})`);
  }
  let raw: RawAddon;
  try {
    // A require made here at run time: esbuild leaves the .node file out of
    // the bundle, and it works from the CJS extension and the ESM tests.
    raw = createRequire(file)(file) as RawAddon;
  } catch (err) {
    throw new Error(`TrainScope's native addon failed to load from ${file}: ${(err as Error).message}`);
  }
  const rawOptions = (options?: AnalyzeOptions): RawOptions => ({
    overrides: options?.overrides ? [...options.overrides] : undefined,
    memoryBudget: options?.memoryBudget ?? undefined,
  });
  const analysis = (text: string, json: string): Analysis => {
    const r = parseJson<RawAnalysis>(json, 'the analysis');
    return { ...r, outline: outlineFromBytes(text, r.outline) };
  };
  const api: TrainScopeNative = {
    path: file,
    analyze: (text, fileName, options) => analysis(text, raw.analyze(text, fileName, rawOptions(options))),
    analyzeAsync: async (text, fileName, options) => analysis(text, await raw.analyzeAsync(text, fileName, rawOptions(options))),
    keyTable: () => raw.keyTable(),
    version: () => raw.version(),
  };
  loaded.set(file, api);
  return api;
}

/** "file:line:col: severity: message", as the trainer prints it on stderr (Diagnostic::format). */
export function formatDiagnostic(d: Diagnostic): string {
  const at = d.line > 0 ? `:${d.line}:${d.col}` : '';
  return `${d.file}${at}: ${d.severity}: ${d.message}`;
}

/**
 * The range of a diagnostic in the text that was parsed, or null when it is
 * not about a line of that text (an override, a file that cannot be read).
 */
export function diagnosticRange(text: string | readonly string[], d: Diagnostic): Range | null {
  if (d.line <= 0 || d.file === OVERRIDE_FILE) return null;
  return utf16Range(text, d.line, d.col, d.endCol);
}
