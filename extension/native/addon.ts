// Typed access to trainscope_addon.node: the trainer's own config parser and
// memory model (native/addon/addon.cpp), so the editor reports exactly the
// errors `trainscope-train --check` would. No `vscode` import: the tests load
// it under plain Node.
//
// The addon gives 1-based line and BYTE columns (UTF-8, as the C++ counts);
// positions.ts turns them into the 0-based UTF-16 positions an editor uses.
import type { ResolvedConfig } from '../../common/config';
import type { MemoryPrediction, PlanReport } from '../../common/events/schema';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type Severity = 'error' | 'warning';

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

export interface SourceLoc {
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

export interface ParseResult {
  ok: boolean;
  diagnostics: Diagnostic[];
  /** null when the config has errors. */
  config: ResolvedConfig | null;
  /** "section.key" -> where it was set; keys absent took their default. */
  where: Record<string, SourceLoc>;
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
  parse(text: string, fileName: string, overrides?: readonly string[]): ParseResult;
  /** Throws an Error with the first diagnostic ("file:line:col: error: msg") when the config has errors. */
  predictMemory(text: string, fileName: string, overrides?: readonly string[]): MemoryPrediction;
  /**
   * Every checkpoint schedule, precision and accumulation with its predicted
   * memory and recompute (the trainer's own planner). budgetBytes: plan for
   * this activation budget (0: the config's own `checkpoint budget`, if any).
   * Throws like predictMemory on a config with errors.
   */
  plan(text: string, fileName: string, overrides?: readonly string[], budgetBytes?: number): PlanReport;
  keyTable(): KeyInfo[];
  version(): string;
}

/** The diagnostics' file name for --set overrides. */
export const OVERRIDE_FILE = '--set';

/** Where the addon lives, relative to the extension (and repository) root. */
export const ADDON_RELATIVE_PATH = path.join('native', 'build', 'trainscope_addon.node');

export const NOT_BUILT_MESSAGE = "TrainScope's native addon is not built: run npm run build";

export interface LoadOptions {
  /** The .node file itself; wins over extensionRoot. */
  addonPath?: string;
  /** The extension root (context.extensionPath); the addon is <root>/native/build/trainscope_addon.node. */
  extensionRoot?: string;
}

// The raw addon, as native/addon/addon.cpp exports it.
interface RawAddon {
  parse(text: string, fileName: string, overrides?: readonly string[]): Omit<ParseResult, 'config'> & { config: string | null };
  predictMemory(text: string, fileName: string, overrides?: readonly string[]): string;
  plan(text: string, fileName: string, overrides?: readonly string[], budgetBytes?: number): string;
  keyTable(): KeyInfo[];
  version(): string;
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

export function resolveAddonPath(opts: LoadOptions = {}): string {
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
  const api: TrainScopeNative = {
    path: file,
    parse(text, fileName, overrides) {
      const r = raw.parse(text, fileName, overrides ? [...overrides] : undefined);
      return {
        ok: r.ok,
        diagnostics: r.diagnostics,
        config: r.config === null ? null : parseJson<ResolvedConfig>(r.config, 'the config'),
        where: r.where,
      };
    },
    predictMemory(text, fileName, overrides) {
      return parseJson<MemoryPrediction>(
        raw.predictMemory(text, fileName, overrides ? [...overrides] : undefined),
        'the memory prediction',
      );
    },
    plan(text, fileName, overrides, budgetBytes) {
      return parseJson<PlanReport>(
        raw.plan(text, fileName, overrides ? [...overrides] : undefined, budgetBytes),
        'the plan',
      );
    },
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
