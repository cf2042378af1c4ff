// Run folders on disk: naming and creating them, listing those in a runs
// folder, and loading one into a RunModel through the event stream parser.
// No `vscode` import (unit-tested under plain Node).
import { isAscii } from 'node:buffer';
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { EventStreamParser } from '../../common/events/parse';
import type { RunRecord, TrainerEvent } from '../../common/events/schema';
import { validateEvent } from '../../common/events/validate';
import type { RunModel } from '../../common/runModel';
import { type BuilderOptions, RunModelBuilder } from './runModelBuilder';

export const EVENTS_FILE = 'events.jsonl';
export const TRACE_FILE = 'trace.json';
export const SUMMARY_FILE = 'summary.json';
export const REPORT_FILE = 'report.html';

/** `.train` base name made safe for a folder name. */
function configStem(configPath: string): string {
  const base = path.basename(configPath).replace(/\.train$/i, '');
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '');
  return safe || 'config';
}

/**
 * `<yyyymmdd-hhmmss>-<config-basename>`, in UTC like scripts/demo.mjs, so
 * runs made by the demo and by the editor sort together by name.
 */
export function runDirName(configPath: string, when: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp =
    `${when.getUTCFullYear()}${p(when.getUTCMonth() + 1)}${p(when.getUTCDate())}-` +
    `${p(when.getUTCHours())}${p(when.getUTCMinutes())}${p(when.getUTCSeconds())}`;
  return `${stamp}-${configStem(configPath)}`;
}

/**
 * Creates a new, empty run folder under `runsFolder` and returns its path.
 * Two runs started in the same second get `-2`, `-3`, ... rather than
 * sharing (and overwriting) a folder.
 */
export async function createRunDir(runsFolder: string, configPath: string, when = new Date()): Promise<string> {
  await mkdir(runsFolder, { recursive: true });
  const base = runDirName(configPath, when);
  for (let i = 1; ; i++) {
    const dir = path.join(runsFolder, i === 1 ? base : `${base}-${i}`);
    try {
      await mkdir(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || i > 1000) throw err;
    }
  }
}

export interface RunInfo {
  /** The folder name. */
  id: string;
  dir: string;
  /** The run record, when the stream has one (not for a config error before the run). */
  run: RunRecord | undefined;
  /** Last change of events.jsonl, ms since the epoch. */
  mtimeMs: number;
}

// The run record is the first line; its size grows with the layer count
// (~200 bytes a layer), so a generous bound still stops a garbage file from
// being read whole.
const MAX_FIRST_LINE = 8 * 1024 * 1024;

/** Reads the first line of a file (without its newline), at most `max` bytes. */
async function readFirstLine(file: string, max = MAX_FIRST_LINE): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, total);
      if (bytesRead === 0) break;
      const nl = buf.subarray(0, bytesRead).indexOf(10);
      if (nl !== -1) {
        chunks.push(Buffer.from(buf.subarray(0, nl)));
        return Buffer.concat(chunks).toString('utf8');
      }
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
      total += bytesRead;
      if (total > max) return undefined;
    }
    return chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;
  } finally {
    await fh.close();
  }
}

/** The run record of a run folder, if its stream starts with one. */
export async function readRunRecord(dir: string): Promise<RunRecord | undefined> {
  const line = await readFirstLine(path.join(dir, EVENTS_FILE));
  if (line === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const r = validateEvent(value);
  return r.ok && r.event.type === 'run' ? r.event : undefined;
}

/**
 * The runs in a runs folder (folders holding an events.jsonl, neither of
 * them a symlink), newest first.
 * A missing runs folder is no runs, not an error.
 */
export async function listRuns(runsFolder: string): Promise<RunInfo[]> {
  let names: string[];
  try {
    names = await readdir(runsFolder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const runs = await Promise.all(
    names.map(async (id): Promise<RunInfo | undefined> => {
      const dir = path.join(runsFolder, id);
      try {
        // Links are not runs: a checked-in link could point the panel at any
        // folder of the machine (acceptRunDir holds restored panels to the same).
        if (!(await lstat(dir)).isDirectory()) return undefined;
        const st = await lstat(path.join(dir, EVENTS_FILE));
        if (!st.isFile()) return undefined;
        return { id, dir, run: await readRunRecord(dir), mtimeMs: st.mtimeMs };
      } catch {
        // Not a run folder (no events.jsonl, or it vanished meanwhile).
        return undefined;
      }
    }),
  );
  return runs
    .filter((r): r is RunInfo => r !== undefined)
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : b.mtimeMs - a.mtimeMs));
}

/**
 * Whether a run was made from `configPath`: its run record names the config
 * as given on the trainer's command line, so a relative name is resolved
 * against `baseDir` (the folder the trainer ran in: the workspace folder).
 */
export function runUsesConfig(run: RunInfo, configPath: string, baseDir: string): boolean {
  if (!run.run) return false;
  const given = run.run.config_file;
  const resolved = path.isAbsolute(given) ? given : path.resolve(baseDir, given);
  return path.normalize(resolved) === path.normalize(configPath);
}

/** A run folder the host will read, by its real path; or why it will not. */
type AcceptedRunDir = { dir: string } | { refused: string };

/**
 * Whether `dir` is a run folder that listRuns lists in one of `runsFolders`
 * (a folder directly inside one, holding an events.jsonl file), with every
 * symlink resolved: the runs folders', the folder's and its events file's,
 * so that no link leads out of the runs folder. A webview's saved state
 * names the folders to restore, and the page is less trusted than the
 * host: only what the host itself would offer is read.
 */
export async function acceptRunDir(dir: string, runsFolders: readonly string[]): Promise<AcceptedRunDir> {
  if (!path.isAbsolute(dir)) return { refused: `${dir} is not an absolute path` };
  let real: string;
  try {
    real = await realpath(dir);
  } catch {
    return { refused: `${dir} does not exist` };
  }
  const roots = await Promise.all(runsFolders.map((f) => realpath(f).catch(() => undefined)));
  if (!roots.includes(path.dirname(real))) {
    return { refused: `${dir} is not a run folder of the workspace's runs folders (${runsFolders.join(', ') || 'none'})` };
  }
  try {
    const events = await realpath(path.join(real, EVENTS_FILE));
    if (path.dirname(events) !== real || !(await stat(events)).isFile()) return { refused: `${dir}/${EVENTS_FILE} is not a file of that folder` };
  } catch {
    return { refused: `${dir} has no ${EVENTS_FILE}` };
  }
  return { dir: real };
}

/**
 * The config file a run record names (`config_file`: absolute, or relative
 * to the folder the trainer ran in), when it is a file inside one of
 * `workspaceDirs` once symlinks are resolved. A run folder is data someone
 * else may have written: the path in it must not lead the editor to open a
 * file outside the workspace. The path is returned as found (not resolved),
 * so that it matches the editor's URI of the same file.
 */
export function configInWorkspace(given: string, workspaceDirs: readonly string[]): string | undefined {
  const real = (p: string): string | undefined => {
    try {
      return realpathSync(p);
    } catch {
      return undefined;
    }
  };
  const roots = workspaceDirs.map(real).filter((r): r is string => r !== undefined);
  const candidates = path.isAbsolute(given) ? [given] : workspaceDirs.map((d) => path.join(d, given));
  return candidates.find((c) => {
    const r = real(c);
    return r !== undefined && roots.some((root) => r.startsWith(root + path.sep)) && statSync(r).isFile();
  });
}

/**
 * The parser's problems that deserve a mention: record types a newer trainer
 * writes (docs/events.md says to skip them) are expected, not damage.
 */
function streamProblemsOf(parser: EventStreamParser): { count: number; messages: string[] } {
  const kept = parser.errors.filter((e) => e.kind !== 'unknown-type');
  const dropped = parser.errorCount - parser.errors.length;
  return { count: kept.length + dropped, messages: kept.map((e) => e.message) };
}

// Pieces the parser gets: JSON.parse over a 64 KiB text is about 40%
// faster per record than over a 1 MiB one (young-generation strings).
const PIECE = 64 * 1024;

/**
 * Feeds bytes read from an events file to a parser, in 64 KiB pieces. A
 * piece that is pure ASCII (nearly all of a stream) is decoded as Latin-1,
 * several times faster than UTF-8 and the same text; others go to the
 * parser's UTF-8 decoder, which keeps a character split across pieces.
 * A piece after a split character starts with its continuation bytes, so
 * it is never ASCII: the order of text is kept.
 */
export function pushBytes(parser: EventStreamParser, bytes: Buffer): TrainerEvent[] {
  let out: TrainerEvent[] | undefined;
  for (let o = 0; o < bytes.length; o += PIECE) {
    const piece = bytes.subarray(o, Math.min(bytes.length, o + PIECE));
    const events = parser.push(isAscii(piece) ? piece.toString('latin1') : piece);
    if (!out) out = events;
    else for (const e of events) out.push(e);
  }
  return out ?? [];
}

/** The parser of a rank N ≥ 1 file, and the file's name (for messages). */
interface RankParser {
  file: string;
  parser: EventStreamParser;
}

/** The problems of a run's streams: events.jsonl's, then each rank file's, named. */
export function allStreamProblems(main: EventStreamParser, ranks: readonly RankParser[]): { count: number; messages: string[] } {
  const p = streamProblemsOf(main);
  for (const r of ranks) {
    const rp = streamProblemsOf(r.parser);
    p.count += rp.count;
    for (const msg of rp.messages) p.messages.push(`${r.file}: ${msg}`);
  }
  return p;
}

interface LoadedRun {
  dir: string;
  model: RunModel;
}

/**
 * Loads a run folder's events.jsonl into a model, streaming it in chunks
 * (a long run's stream can be hundreds of MB; only the compact model stays).
 * Bad lines are counted in `model.streamProblems`, not thrown; a missing
 * stream is an error.
 */
export async function loadRun(dir: string, options: BuilderOptions = {}): Promise<LoadedRun> {
  const builder = new RunModelBuilder(path.basename(dir), options);
  const parser = new EventStreamParser();
  const stream = createReadStream(path.join(dir, EVENTS_FILE), { highWaterMark: 1 << 20 });
  for await (const chunk of stream) builder.add(pushBytes(parser, chunk as Buffer));
  builder.add(parser.end());
  const rankParsers: RankParser[] = [];
  if (builder.model.timeline) {
    // Data-parallel: the other ranks' files, through the same parser, into
    // the timeline of the sampled steps rank 0's stream kept.
    for (const file of await rankFiles(dir, builder.model.timeline.ranks)) {
      const p = new EventStreamParser();
      try {
        for await (const chunk of createReadStream(path.join(dir, file), { highWaterMark: 1 << 20 })) {
          builder.addRank(pushBytes(p, chunk as Buffer));
        }
      } catch {
        // A rank file that vanished or cannot be read: the timeline lacks that rank.
        continue;
      }
      builder.addRank(p.end());
      rankParsers.push({ file, parser: p });
    }
  }
  const problems = allStreamProblems(parser, rankParsers);
  builder.setStreamProblems(problems.count, problems.messages);
  builder.finish();
  return { dir, model: builder.model };
}

/** The events file rank N ≥ 1 of a data-parallel run writes. */
export function rankFileName(rank: number): string {
  return `events.rank${rank}.jsonl`;
}

/** The rank files of a data-parallel run folder (`events.rank1.jsonl`, …) of ranks 1 … ranks − 1, by rank. */
async function rankFiles(dir: string, ranks: number): Promise<string[]> {
  let names: string[];
  try {
    // Plain files only: the trainer writes them so, and a symlink could
    // lead the reader out of the run folder.
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ n, m: /^events\.rank(\d+)\.jsonl$/.exec(n) }))
    .filter((x) => x.m !== null && Number(x.m[1]) >= 1 && Number(x.m[1]) < ranks)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map((x) => x.n);
}
