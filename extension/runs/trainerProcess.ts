// One trainer process: spawned in its own process group so that stopping it
// stops everything it started (mpirun and its ranks included), its stdout and
// stderr read line by line, and its event stream tailed as the file grows.
// No `vscode` import: tested against the real trainer under plain Node.
import { type ChildProcess, spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { EventStreamParser } from '../../common/events/parse';
import type { TrainerEvent } from '../../common/events/schema';
import { pushBytes } from './runStore';

/** Splits a byte stream into lines; an endless line is cut at `maxLine` rather than held whole. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 64 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      this.emit(text.slice(start, nl));
      start = nl + 1;
    }
    this.partial = text.slice(start);
    while (this.partial.length > this.maxLine) {
      this.emit(this.partial.slice(0, this.maxLine));
      this.partial = this.partial.slice(this.maxLine);
    }
  }

  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.length) this.emit(rest);
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

interface EventTailOptions {
  /** Poll interval: fs.watch misses changes on some file systems (network, containers). */
  pollMs?: number;
  /** Largest read at once, so a big backlog is taken in bounded bites. */
  chunkBytes?: number;
  onWarning?: (message: string) => void;
}

/**
 * Follows a growing events.jsonl: on every change (fs.watch on its folder,
 * plus a periodic poll) reads only the bytes added since the last read and
 * feeds them to the EventStreamParser. Reads are async and never overlap,
 * and memory holds at most one chunk plus the parser's partial line.
 */
export class EventTail {
  readonly parser = new EventStreamParser();
  private offset = 0;
  private fh: FileHandle | undefined;
  private watcher: FSWatcher | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private pending: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly chunk: Buffer;

  constructor(
    readonly file: string,
    private readonly onEvents: (events: TrainerEvent[]) => void,
    private readonly options: EventTailOptions = {},
  ) {
    this.chunk = Buffer.alloc(options.chunkBytes ?? 1 << 20);
  }

  start(): void {
    const dir = path.dirname(this.file);
    const base = path.basename(this.file);
    try {
      this.watcher = watch(dir, (_event, name) => {
        if (!name || name.toString() === base) this.poke();
      });
      this.watcher.on('error', (err) => {
        this.warn(`cannot watch ${dir} (${err.message}); polling instead`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.warn(`cannot watch ${dir} (${(err as Error).message}); polling instead`);
    }
    this.timer = setInterval(() => this.poke(), this.options.pollMs ?? 500);
    this.poke();
  }

  /** Schedules a read of whatever has been appended. */
  poke(): void {
    if (this.stopped) return;
    if (this.pending) {
      this.again = true;
      return;
    }
    this.pending = this.loop().finally(() => {
      this.pending = undefined;
    });
  }

  /** Reads everything appended so far. */
  async drain(): Promise<void> {
    this.poke();
    while (this.pending) await this.pending;
  }

  /** Final read, then ends the stream (a truncated last line is reported), then stops. */
  async finish(): Promise<void> {
    await this.drain();
    this.stopWatching();
    this.stopped = true;
    const last = this.parser.end();
    if (last.length) this.onEvents(last);
    await this.closeFile();
  }

  dispose(): void {
    this.stopped = true;
    this.stopWatching();
    void this.closeFile();
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await fh.close().catch(() => undefined);
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.readNew();
      } catch (err) {
        this.warn(`cannot read ${this.file}: ${(err as Error).message}`);
      }
    } while (this.again && !this.stopped);
  }

  private async readNew(): Promise<void> {
    if (!this.fh) {
      try {
        this.fh = await open(this.file, 'r');
      } catch (err) {
        // Not written yet: the trainer opens it after checking the config.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
    }
    const size = (await this.fh.stat()).size;
    if (size < this.offset) {
      this.warn(`${this.file} shrank from ${this.offset} to ${size} bytes; reading on from its new end`);
      this.offset = size;
      return;
    }
    while (this.offset < size && this.fh) {
      const want = Math.min(this.chunk.length, size - this.offset);
      const { bytesRead } = await this.fh.read(this.chunk, 0, want, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      // The parser keeps a split character and copies what it keeps, so
      // the chunk buffer can be reused.
      const events = pushBytes(this.parser, this.chunk.subarray(0, bytesRead));
      if (events.length) this.onEvents(events);
    }
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }
}

/** How a run ended, from the trainer's exit status (native/cli/main.cpp). */
type RunOutcome =
  | 'completed' // exit 0
  | 'bad-config' // exit 2: config or usage error, nothing ran
  | 'failed' // exit 1 (or any other code): a run-time failure
  | 'interrupted' // 128+signal: a signal from elsewhere; the trainer wrote its summary
  | 'cancelled' // stopped by us
  | 'killed' // died of a signal without handling it (crash, OOM killer)
  | 'spawn-error'; // never started

export function outcomeOf(code: number | null, signal: string | null, cancelRequested: boolean): RunOutcome {
  if (code === 0) return 'completed';
  if (cancelRequested && (signal !== null || (code !== null && code >= 128))) return 'cancelled';
  if (code === 2) return 'bad-config';
  if (code !== null && code >= 128) return 'interrupted';
  if (signal !== null) return 'killed';
  return 'failed';
}

export interface RunResult {
  outcome: RunOutcome;
  exitCode: number | null;
  signal: string | null;
  /** One line for people. */
  message: string;
  /** The last lines of stderr, for error messages. */
  stderrTail: string[];
}

function describeOutcome(r: Pick<RunResult, 'outcome' | 'exitCode' | 'signal'>): string {
  switch (r.outcome) {
    case 'completed':
      return 'completed';
    case 'bad-config':
      return 'the config has errors';
    case 'failed':
      return `failed (exit status ${r.exitCode ?? '?'})`;
    case 'interrupted':
      return `interrupted (exit status ${r.exitCode ?? '?'})`;
    case 'cancelled':
      return 'stopped';
    case 'killed':
      return `killed by ${r.signal ?? 'a signal'}`;
    case 'spawn-error':
      return 'could not start';
  }
}

export interface TrainerLaunch {
  /** The executable: the trainer, or mpirun for several ranks. */
  command: string;
  args: readonly string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** The events.jsonl the trainer will write (DIR/events.jsonl for --out DIR). */
  eventsFile: string;
}

interface TrainerHandlers {
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Validated records, in stream order, as the file grows. */
  onEvents?: (events: TrainerEvent[]) => void;
  onWarning?: (message: string) => void;
}

/** Arguments of `trainscope-train CONFIG --out DIR [--set k=v]...`. */
export function trainerArgs(configPath: string, runDir: string, overrides: readonly string[] = []): string[] {
  const args = [configPath, '--out', runDir];
  for (const o of overrides) args.push('--set', o);
  return args;
}

const STDERR_TAIL = 40;
// After the trainer exits, how long to wait for its pipes to close (a
// grandchild that kept them open must not hold the result back forever).
const CLOSE_GRACE_MS = 2000;

export class TrainerProcess {
  readonly done: Promise<RunResult>;
  readonly tail: EventTail;
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  private cancelRequested = false;
  private exited = false;
  private killTimer: ReturnType<typeof setTimeout> | undefined;
  private resolveDone!: (r: RunResult) => void;
  private finalizing = false;

  private constructor(launch: TrainerLaunch, private readonly handlers: TrainerHandlers) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.tail = new EventTail(launch.eventsFile, (evs) => handlers.onEvents?.(evs), { onWarning: handlers.onWarning });
    this.tail.start();
    const out = new LineSplitter((l) => handlers.onStdoutLine?.(l));
    const err = new LineSplitter((l) => {
      this.stderrTail.push(l);
      if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
      handlers.onStderrLine?.(l);
    });
    // detached: the child leads a new process group, so one kill(-pgid)
    // reaches everything it spawns. On Windows there are no groups; the
    // direct kill is the best available there.
    this.child = spawn(launch.command, [...launch.args], {
      cwd: launch.cwd,
      env: launch.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    this.child.stdout?.on('data', (c: Buffer) => out.push(c));
    this.child.stderr?.on('data', (c: Buffer) => err.push(c));
    let exit: { code: number | null; signal: string | null } | undefined;
    const finish = (): void => {
      out.end();
      err.end();
      const e = exit ?? { code: null, signal: null };
      void this.finalize(e.code, e.signal);
    };
    this.child.on('error', (e) => {
      // Only a failure to spawn reaches here before 'exit'; later errors
      // (a failed kill) are handled where the kill is sent.
      if (this.child.pid === undefined && !this.finalizing) {
        this.exited = true;
        this.stderrTail.push(e.message);
        void this.finalize(null, null, e.message);
      }
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      exit = { code, signal };
      if (this.killTimer) clearTimeout(this.killTimer);
      this.killTimer = undefined;
      // Stragglers of a stopped run (ranks under mpirun) go with it.
      if (this.cancelRequested) this.signalGroup('SIGKILL');
      setTimeout(finish, CLOSE_GRACE_MS).unref();
    });
    this.child.on('close', finish);
  }

  static start(launch: TrainerLaunch, handlers: TrainerHandlers = {}): TrainerProcess {
    return new TrainerProcess(launch, handlers);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  get cancelling(): boolean {
    return this.cancelRequested;
  }

  /**
   * Asks the trainer to stop (SIGTERM: it finishes the step in flight and
   * writes its summary and trace), and kills its whole group if it is still
   * there after `graceMs`.
   */
  cancel(graceMs = 5000): void {
    if (this.exited) return;
    if (!this.cancelRequested) {
      this.cancelRequested = true;
      this.signalGroup('SIGTERM');
    }
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
  }

  /**
   * Kills the trainer's whole process group now (SIGKILL; use cancel() first
   * to let it write its summary). The result still arrives on `done`.
   */
  dispose(): void {
    if (this.exited) return;
    this.cancelRequested = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = undefined;
    this.signalGroup('SIGKILL');
  }

  private signalGroup(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      if (process.platform === 'win32') this.child.kill(sig);
      else process.kill(-pid, sig);
    } catch (err) {
      // ESRCH: the group is gone already, which is what we wanted.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
        this.handlers.onWarning?.(`cannot send ${sig} to the trainer (pid ${pid}): ${(err as Error).message}`);
      }
    }
  }

  private async finalize(code: number | null, signal: string | null, spawnError?: string): Promise<void> {
    if (this.finalizing) return;
    this.finalizing = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = undefined;
    await this.tail.finish();
    const outcome: RunOutcome = spawnError !== undefined ? 'spawn-error' : outcomeOf(code, signal, this.cancelRequested);
    const message = spawnError ?? describeOutcome({ outcome, exitCode: code, signal });
    this.resolveDone({ outcome, exitCode: code, signal, message, stderrTail: [...this.stderrTail] });
  }
}
