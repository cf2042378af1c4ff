// The trainer's command line, end to end: trainscope-train is spawned as a
// user (or the extension) would run it, and its exit codes, stderr lines,
// stdout and output files are checked against the contract in
// native/cli/main.cpp and docs/config.md:
//   exit 0 ok, 2 bad config or usage, 1 run-time failure;
//   diagnostics as `file:line:col: error: message`, the file as passed.
// Every run is tiny (a few steps of a one-block model) so the whole file
// takes a couple of seconds.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { root } from './support/root';

// ---------------------------------------------------------------------------
// Locating the repository and the trainer

const trainer = process.env.TRAINSCOPE_TRAINER ?? path.join(root, 'native', 'build', 'trainscope-train');
const fixtureDir = path.join('test', 'fixtures', 'bad-configs'); // relative to root
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

// ---------------------------------------------------------------------------
// Running it

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

// Starts the trainer, collects stdout and stderr, and kills it (SIGKILL) if
// it outlives the timeout; a timed-out run rejects with what it printed.
// Every child is also killed by the afterEach/after hooks if still alive.
function startTrainer(args: readonly string[], opts: RunOptions = {}): { child: ChildProcess; done: Promise<RunResult> } {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const child = spawn(trainer, [...args], { cwd: opts.cwd ?? root, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  live.add(child);
  const done = new Promise<RunResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (timedOut) {
        reject(new Error(`trainscope-train ${args.join(' ')} timed out after ${timeoutMs} ms\nstderr:\n${stderr}`));
      } else {
        resolve({ code, signal, stdout, stderr });
      }
    });
  });
  return { child, done };
}

function runTrainer(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return startTrainer(args, opts).done;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

function show(r: RunResult): string {
  return `exit ${r.code ?? r.signal}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
}

function assertExit(r: RunResult, code: number): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${show(r)}`);
}

// ---------------------------------------------------------------------------
// Configs, data files and events

let tmpRoot = '';
let tmpCount = 0;

// A fresh folder under this file's temp root.
function freshDir(name: string): string {
  const dir = path.join(tmpRoot, `${String(++tmpCount).padStart(2, '0')}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface TinyOptions {
  vocab?: number;
  context?: number;
  steps?: number;
  data?: string[]; // lines of [data]
  train?: string[]; // extra lines of [train]
}

// A one-block model small enough to train a few steps in milliseconds.
function tinyConfig(o: TinyOptions = {}): string {
  const lines = [
    '# trainer-cli test config',
    '[model]',
    `vocab ${o.vocab ?? 32}`,
    `context ${o.context ?? 8}`,
    'layers 1',
    'width 16',
    'heads 2',
    '',
    '[data]',
    ...(o.data ?? []),
    '',
    '[train]',
    `steps ${o.steps ?? 3}`,
    'batch 2',
    'threads 1',
    ...(o.train ?? []),
  ];
  return lines.join('\n') + '\n';
}

function writeConfig(dir: string, o: TinyOptions = {}, name = 'run.train'): string {
  const file = path.join(dir, name);
  writeFileSync(file, tinyConfig(o));
  return file;
}

// Where a diagnostic about `key`'s value points: `LINE:COL` of the value's
// first character (1-based) on the first line that sets the key.
function valueLoc(configText: string, key: string): string {
  const lines = configText.split('\n');
  for (let i = 0; i < lines.length; ++i) {
    const m = new RegExp(`^(\\s*${key}\\s+)\\S`).exec(lines[i]);
    if (m) return `${i + 1}:${m[1].length + 1}`;
  }
  throw new Error(`no '${key}' line in config:\n${configText}`);
}

// An error record (docs/events.md): its message is the stderr line after
// "error: ", and the location the stderr line starts with is in file, line
// and col.
function checkErrorRecord(err: Rec, stderrLine: string, where: { file: string; loc: string; key: string }): void {
  const prefix = `${where.file}:${where.loc}: error: `;
  assert.ok(stderrLine.startsWith(prefix), `want '${prefix}...', got '${stderrLine}'`);
  assert.equal(err.message, stderrLine.slice(prefix.length), 'the record\'s message is the stderr line without its location');
  const [line, col] = where.loc.split(':').map(Number);
  assert.equal(err.file, where.file);
  assert.equal(err.line, line);
  assert.equal(err.col, col);
  assert.equal(err.key, where.key);
  assert.equal(err.step, undefined, 'no step: the run failed before training');
}

// The stream of a run that failed before it started: an error record and a
// short summary, nothing else (docs/events.md, "Runs that fail before they start").
function checkFailedBeforeStart(recs: Rec[]): Rec {
  assert.deepEqual(
    recs.map((x) => x.type),
    ['error', 'summary'],
    'an error record and a summary, no run record',
  );
  assert.deepEqual(recs[1], { type: 'summary', status: 'failed', steps: 0, tokens: 0, wall_s: recs[1].wall_s });
  assert.equal(typeof recs[1].wall_s, 'number');
  return recs[0];
}

const kMagic = 20240520;

interface TokenFileOptions {
  magic?: number;
  version?: number;
  count?: number; // the header's token count (default: tokens.length)
}

// An llm.c .bin token file: 256 little-endian int32 (magic, version, count),
// then the tokens as little-endian uint16.
function tokenFile(tokens: readonly number[], o: TokenFileOptions = {}): Buffer {
  const buf = Buffer.alloc(1024 + tokens.length * 2);
  buf.writeInt32LE(o.magic ?? kMagic, 0);
  buf.writeInt32LE(o.version ?? 1, 4);
  buf.writeInt32LE(o.count ?? tokens.length, 8);
  tokens.forEach((t, i) => buf.writeUInt16LE(t, 1024 + 2 * i));
  return buf;
}

function someTokens(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7 + 3) % vocab);
}

type Rec = Record<string, unknown> & { type: string };

// Reads a JSON Lines events file; every non-empty line must parse as an
// object with a string `type`.
function readEvents(file: string): Rec[] {
  assert.ok(existsSync(file), `no events file at ${file}`);
  const text = readFileSync(file, 'utf8');
  const out: Rec[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      assert.fail(`${file}:${i + 1} is not JSON (${(err as Error).message}): ${line}`);
    }
    assert.ok(isObject(v) && typeof v.type === 'string', `${file}:${i + 1} is not a record: ${line}`);
    out.push(v as Rec);
  });
  assert.ok(text === '' || text.endsWith('\n'), `${file} does not end with a newline`);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  assert.ok(isObject(v), `${what} is not an object: ${JSON.stringify(v)}`);
  return v;
}

function only(recs: Rec[], type: string): Rec {
  const found = recs.filter((r) => r.type === type);
  assert.equal(found.length, 1, `expected one '${type}' record, got ${found.length}: ${JSON.stringify(recs.map((r) => r.type))}`);
  return found[0];
}

// The run record's config echo, one section.
function echoed(recs: Rec[], section: string): Record<string, unknown> {
  return obj(obj(only(recs, 'run').config, 'run.config')[section], `run.config.${section}`);
}

// ---------------------------------------------------------------------------

before(() => {
  assert.ok(
    existsSync(trainer),
    `${trainer} is missing: build it with\n  cmake -S native -B native/build -DCMAKE_BUILD_TYPE=Release && cmake --build native/build -j2`,
  );
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'trainscope-cli-'));
});

afterEach(killAll);

after(() => {
  killAll();
  if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// 1. The bad-config table

interface Expect {
  line: number;
  col: number;
  message: string;
}

function readExpect(file: string): Expect {
  const first = firstLine(readFileSync(path.join(root, file), 'utf8'));
  const m = /^# expect: (\d+):(\d+): error: (.+)$/.exec(first);
  assert.ok(m, `${file}: first line is not '# expect: LINE:COL: error: MESSAGE': ${first}`);
  return { line: Number(m[1]), col: Number(m[2]), message: m[3] };
}

const fixtures = existsSync(path.join(root, fixtureDir))
  ? readdirSync(path.join(root, fixtureDir)).filter((f) => f.endsWith('.train')).sort()
  : [];

describe('bad-config table through the CLI', () => {
  test('the table is there', () => {
    assert.ok(fixtures.length >= 40, `only ${fixtures.length} fixtures in ${fixtureDir}`);
  });

  for (const name of fixtures) {
    const file = path.join(fixtureDir, name);
    test(name, async () => {
      const want = readExpect(file);
      const prefix = `${file}:${want.line}:${want.col}: error: `;
      // A plain run and --check must stop on the same first diagnostic.
      for (const extra of [['--quiet'], ['--check']]) {
        const r = await runTrainer([file, ...extra]);
        assertExit(r, 2);
        const line = firstLine(r.stderr);
        assert.ok(line.startsWith(prefix), `${extra[0]}: want '${prefix}...', got '${line}'`);
        assert.ok(
          line.slice(prefix.length).includes(want.message),
          `${extra[0]}: message should contain '${want.message}', got '${line}'`,
        );
        assert.equal(r.stdout, '', `${extra[0]}: nothing on stdout for a bad config`);
      }
    });
  }

  test('the path is printed as passed (absolute, and relative from another folder)', async () => {
    const name = 'bad-int.train';
    const want = readExpect(path.join(fixtureDir, name));
    const abs = path.join(root, fixtureDir, name);
    const r1 = await runTrainer([abs, '--quiet']);
    assertExit(r1, 2);
    assert.ok(firstLine(r1.stderr).startsWith(`${abs}:${want.line}:${want.col}: error: `), r1.stderr);

    const rel = path.join('..', 'bad-configs', name);
    const r2 = await runTrainer([rel, '--quiet'], { cwd: path.join(root, fixtureDir) });
    assertExit(r2, 2);
    assert.ok(firstLine(r2.stderr).startsWith(`${rel}:${want.line}:${want.col}: error: `), r2.stderr);
  });

  test('every bad line is reported, first one first', async () => {
    const file = path.join(fixtureDir, 'first-of-several.train');
    const r = await runTrainer([file, '--check']);
    assertExit(r, 2);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 3, r.stderr);
    assert.deepEqual(
      lines.map((l) => Number(l.slice(file.length + 1).split(':')[0])),
      [3, 5, 6],
      r.stderr,
    );
  });
});

// ---------------------------------------------------------------------------
// 2. Usage errors

describe('usage errors exit 2', () => {
  let cfg = '';
  before(() => {
    cfg = writeConfig(freshDir('usage'));
  });

  async function usageError(args: string[], message: string): Promise<RunResult> {
    const r = await runTrainer(args);
    assertExit(r, 2);
    assert.equal(firstLine(r.stderr), `trainscope-train: error: ${message}`, show(r));
    assert.match(r.stderr, /^usage: trainscope-train CONFIG/m, 'usage follows the error');
    assert.equal(r.stdout, '');
    return r;
  }

  test('no arguments', async () => {
    await usageError([], 'no config file given');
  });

  test('only options, no config', async () => {
    await usageError(['--quiet', '--check'], 'no config file given');
  });

  test('unknown option', async () => {
    await usageError([cfg, '--bogus'], "unknown option '--bogus'");
    await usageError([cfg, '-x'], "unknown option '-x'");
  });

  test('an option without its value', async () => {
    await usageError([cfg, '--set'], '--set needs a value');
    await usageError([cfg, '--events'], '--events needs a value');
    await usageError([cfg, '--trace'], '--trace needs a value');
    await usageError([cfg, '--out'], '--out needs a value');
  });

  test('two config files', async () => {
    const other = path.join(path.dirname(cfg), 'other.train');
    await usageError([cfg, other], `one config file at a time (got '${cfg}' and '${other}')`);
  });

  test('missing config file', async () => {
    const missing = path.join(path.dirname(cfg), 'missing.train');
    const r = await runTrainer([missing, '--quiet']);
    assertExit(r, 2);
    assert.equal(firstLine(r.stderr), `${missing}:1:1: error: cannot read config: No such file or directory`);
  });

  test('a folder as the config', async () => {
    const dir = path.dirname(cfg);
    const r = await runTrainer([dir, '--quiet']);
    assertExit(r, 2);
    assert.ok(firstLine(r.stderr).startsWith(`${dir}:1:1: error: cannot read config: `), r.stderr);
  });

  test('malformed --set', async () => {
    const r = await runTrainer([cfg, '--set', 'steps20']);
    assertExit(r, 2);
    assert.equal(firstLine(r.stderr), "--set:1:1: error: --set expects section.key=value, got 'steps20'");
  });

  test('--set with a bad value points into the override', async () => {
    const ov = 'train.steps=abc';
    const col = ov.indexOf('=') + 2;
    const r = await runTrainer([cfg, '--set', ov]);
    assertExit(r, 2);
    assert.equal(firstLine(r.stderr), `--set:1:${col}: error: train.steps: expected an integer, got 'abc'`);
  });

  test('--set=KEY=VALUE form, and the N-th override is line N', async () => {
    const r = await runTrainer([cfg, '--set=train.steps=2', '--set', 'model.layers=x']);
    assertExit(r, 2);
    assert.equal(firstLine(r.stderr), "--set:2:14: error: model.layers: expected an integer, got 'x'");
  });

  test('--set of an unknown section or key', async () => {
    const r1 = await runTrainer([cfg, '--set', 'trian.steps=2']);
    assertExit(r1, 2);
    assert.equal(firstLine(r1.stderr), "--set:1:1: error: unknown section 'trian' (did you mean 'train'?)");
    const r2 = await runTrainer([cfg, '--set', 'train.stpes=2']);
    assertExit(r2, 2);
    assert.match(firstLine(r2.stderr), /^--set:1:7: error: unknown key 'stpes' in \[train\]/);
  });

  test('file errors come before --set errors', async () => {
    const bad = path.join(root, fixtureDir, 'bad-int.train');
    const r = await runTrainer([bad, '--check', '--set', 'train.lr=fast']);
    assertExit(r, 2);
    const lines = r.stderr.trimEnd().split('\n');
    assert.ok(lines[0].startsWith(`${bad}:3:7: error: `), r.stderr);
    assert.ok(lines[1]?.startsWith('--set:1:10: error: train.lr: expected a number'), r.stderr);
  });
});

// ---------------------------------------------------------------------------
// 3. --help, --version, --check, --predict

describe('informational modes', () => {
  let dir = '';
  let cfg = '';
  before(() => {
    dir = freshDir('info');
    cfg = writeConfig(dir, { train: ['eval_every 2'] });
  });

  test('--help and -h print the usage on stdout and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await runTrainer([flag]);
      assertExit(r, 0);
      assert.match(r.stdout, /^usage: trainscope-train CONFIG/);
      for (const opt of ['--events', '--trace', '--out', '--set', '--check', '--predict', '--quiet']) {
        assert.ok(r.stdout.includes(opt), `usage mentions ${opt}`);
      }
      assert.equal(r.stderr, '');
    }
  });

  test('--help wins over a bad config', async () => {
    const r = await runTrainer([path.join(fixtureDir, 'bad-int.train'), '--help']);
    assertExit(r, 0);
  });

  test('--version prints the package version', async () => {
    const r = await runTrainer(['--version']);
    assertExit(r, 0);
    assert.equal(r.stdout, `trainscope-train ${version}\n`);
  });

  test('--check on a good config exits 0 without training', async () => {
    const out = path.join(dir, 'check-out');
    const events = path.join(dir, 'check-events.jsonl');
    const r = await runTrainer([cfg, '--check', '--out', out, '--events', events]);
    assertExit(r, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
    assert.ok(!existsSync(events), 'no events file after --check');
    assert.ok(!existsSync(path.join(out, 'events.jsonl')), 'no events.jsonl after --check');
  });

  test('--predict prints the memory prediction as JSON', async () => {
    const out = path.join(dir, 'predict-out');
    const r = await runTrainer([cfg, '--predict', '--out', out]);
    assertExit(r, 0);
    let p: Record<string, unknown>;
    try {
      p = obj(JSON.parse(r.stdout), 'prediction');
    } catch (err) {
      assert.fail(`--predict did not print JSON (${(err as Error).message}): ${r.stdout}`);
    }
    for (const k of ['param', 'grad', 'optim', 'peak_bytes', 'peak_act_bytes', 'params']) {
      assert.equal(typeof p[k], 'number', `prediction.${k} is a number`);
      assert.ok((p[k] as number) > 0, `prediction.${k} > 0`);
    }
    const sum = (p.param as number) + (p.grad as number) + (p.optim as number);
    assert.ok((p.peak_bytes as number) >= sum, 'peak covers param + grad + optim');
    assert.ok(Array.isArray(p.layers) && p.layers.length >= 3, 'layers: embed, block.0, head');
    const names = (p.layers as unknown[]).map((l) => obj(l, 'layer').name);
    assert.ok(names.includes('block.0'), JSON.stringify(names));
    for (const l of p.layers as unknown[]) {
      const layer = obj(l, 'layer');
      const b = obj(layer.bytes, 'layer.bytes');
      for (const k of ['param', 'grad', 'optim', 'act', 'act_peak', 'workspace']) assert.equal(typeof b[k], 'number', `bytes.${k}`);
      assert.equal(layer.checkpointed, false, 'no checkpoint plan: no layer is checkpointed');
      assert.equal(layer.segment_start, false);
      assert.equal(b.act, b.act_peak, 'not checkpointed: act is the peak');
    }
    assert.equal(p.checkpoint, 'none');
    assert.equal(p.recompute_flops, 0);
    assert.ok((p.step_flops as number) > 0, 'step_flops > 0');
    assert.equal(p.act_end_of_forward, p.peak_act_bytes);
    assert.equal(p.error, undefined);
    assert.ok(!existsSync(path.join(out, 'events.jsonl')), '--predict does not train');
  });

  test('without OpenBLAS the built-in kernel trains, and the run record says why', async () => {
    const sets = ['--set', 'train.steps=3', '--set', 'train.warmup=0', '--set', 'train.threads=1'];
    const config = path.join(root, 'examples', 'tiny-gpt.train');
    const losses = async (env: NodeJS.ProcessEnv, name: string) => {
      const out = freshDir(name);
      const r = await runTrainer([config, '--quiet', '--out', out, ...sets], { env: { ...process.env, ...env } });
      assertExit(r, 0);
      const recs = readEvents(path.join(out, 'events.jsonl'));
      return { blas: String(recs[0].blas), losses: recs.filter((x) => x.type === 'step').map((x) => Number(x.loss)) };
    };
    const missing = await losses({ TRAINSCOPE_BLAS: '/nonexistent/libopenblas.so.0' }, 'blas-missing');
    assert.match(missing.blas, /^builtin \(\/nonexistent\/libopenblas\.so\.0: cannot open shared object file/);
    const builtin = await losses({ TRAINSCOPE_BLAS: 'builtin' }, 'blas-builtin');
    assert.equal(builtin.blas, 'builtin (TRAINSCOPE_BLAS=builtin)');
    assert.deepEqual(missing.losses, builtin.losses, 'the same kernel, the same losses');
    // Where OpenBLAS is installed it is found at run time, and agrees closely.
    const found = await losses({ TRAINSCOPE_BLAS: '' }, 'blas-found');
    if (found.blas.startsWith('OpenBLAS')) {
      for (let i = 0; i < 3; ++i) assert.ok(Math.abs(found.losses[i] - builtin.losses[i]) < 1e-4, `step ${i + 1}: ${found.losses[i]} vs ${builtin.losses[i]}`);
    }
  });

  test('a run with --out names the command that writes its report.html, and the command works as printed', async () => {
    const out = path.join(freshDir('report cmd'), "it's here");
    const r = await runTrainer([path.join(root, 'examples', 'tiny-gpt.train'), '--quiet', '--out', out, '--set', 'train.steps=2', '--set', 'train.warmup=0']);
    assertExit(r, 0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('  report   '));
    assert.ok(line, `a report line:\n${r.stdout}`);
    const cmd = /^ {2}report {3}(.+?) {3}\(writes /.exec(line)![1];
    assert.ok(!existsSync(path.join(out, 'report.html')));
    const sh = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
    assert.equal(sh.status, 0, sh.stderr);
    assert.match(readFileSync(path.join(out, 'report.html'), 'utf8'), /^<!DOCTYPE html>/i);
  });

  test('--plan prints tables a terminal reads, one row per schedule of --plan --json', async () => {
    const config = path.join(root, 'examples', 'tiny-gpt.train');
    const text = await runTrainer([config, '--plan']);
    assertExit(text, 0);
    const json = await runTrainer([config, '--plan', '--json']);
    assertExit(json, 0);
    const report = JSON.parse(json.stdout) as {
      schedules: { name: string; checkpoint: string; recompute_fraction: number }[];
      precisions: { precision: string }[];
      accumulate: { accumulate: number; batch: number }[];
    };
    const lines = text.stdout.split('\n');
    assert.ok(!text.stdout.trimStart().startsWith('{'), 'not JSON');
    assert.ok(lines.every((l) => l.length <= 100), `no line wider than a terminal:\n${text.stdout}`);
    for (const s of report.schedules) {
      const row = lines.find((l) => l.trim().startsWith(`${s.name} `) && l.includes(` ${s.checkpoint} `));
      assert.ok(row, `a row for ${s.name} (${s.checkpoint}):\n${text.stdout}`);
      assert.ok(row.trimEnd().endsWith(` ${Math.round(s.recompute_fraction * 100)}%`), `its recompute: ${row}`);
    }
    for (const p of report.precisions) assert.ok(lines.some((l) => l.trim().startsWith(`${p.precision} `)), p.precision);
    for (const k of report.accumulate)
      assert.ok(lines.some((l) => new RegExp(`^\\s+${k.accumulate}\\s+${k.batch}\\s`).test(l)), `accumulate ${k.accumulate}`);
    const bad = await runTrainer([config, '--json']);
    assertExit(bad, 2);
    assert.match(bad.stderr, /--json goes with --plan/);
  });

  test('--predict reports a checkpoint budget no plan fits in its error field', async () => {
    const r = await runTrainer([cfg, '--predict', '--set', 'train.checkpoint=budget 1KB']);
    assertExit(r, 0);
    const p = obj(JSON.parse(r.stdout), 'prediction');
    assert.match(String(p.error), /^train\.checkpoint budget .* is too small/);
    assert.equal(p.checkpoint, 'none', 'the other fields describe the plan "none"');
  });

  test('--predict follows --set', async () => {
    const one = obj(JSON.parse((await runTrainer([cfg, '--predict'])).stdout), 'p1');
    const r = await runTrainer([cfg, '--predict', '--set', 'model.layers=3']);
    assertExit(r, 0);
    const three = obj(JSON.parse(r.stdout), 'p3');
    assert.equal((three.layers as unknown[]).length, (one.layers as unknown[]).length + 2);
    assert.ok((three.params as number) > (one.params as number));
  });
});

// ---------------------------------------------------------------------------
// 4. Data files

describe('data files', () => {
  test('text PATH trains on a real text file', async () => {
    const dir = freshDir('text');
    const corpus = 'The quick brown fox jumps over the lazy dog. '.repeat(40);
    writeFileSync(path.join(dir, 'corpus.txt'), corpus);
    const cfg = writeConfig(dir, { vocab: 256, context: 16, data: ['text corpus.txt'], train: ['eval_every 2'] });
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out]);
    assertExit(r, 0);
    const recs = readEvents(path.join(out, 'events.jsonl'));
    const data = echoed(recs, 'data');
    assert.equal(data.source, 'text');
    assert.equal(data.path, path.join(dir, 'corpus.txt'));
    const run = obj(only(recs, 'run').data, 'run.data');
    assert.equal((run.train_tokens as number) + (run.val_tokens as number), corpus.length);
    assert.equal(recs.filter((x) => x.type === 'step').length, 3);
    assert.ok(recs.some((x) => x.type === 'eval'), 'an eval record (val split used)');
    assert.equal(only(recs, 'summary').status, 'completed');
    assert.ok(!recs.some((x) => x.type === 'error'));
  });

  test('text PATH with a quoted path holding a space', async () => {
    const dir = freshDir('text quoted');
    writeFileSync(path.join(dir, 'my corpus.txt'), 'hello, world\n'.repeat(20));
    const cfg = writeConfig(dir, { vocab: 256, data: ['text "my corpus.txt"'] });
    const r = await runTrainer([cfg, '--quiet']);
    assertExit(r, 0);
  });

  test('tokens PATH trains on an llm.c .bin file', async () => {
    const dir = freshDir('tokens');
    const n = 500;
    writeFileSync(path.join(dir, 'train.bin'), tokenFile(someTokens(n, 64)));
    const cfg = writeConfig(dir, { vocab: 64, data: ['tokens train.bin'] });
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out]);
    assertExit(r, 0);
    const recs = readEvents(path.join(out, 'events.jsonl'));
    assert.equal(echoed(recs, 'data').source, 'tokens');
    const run = obj(only(recs, 'run').data, 'run.data');
    assert.equal(run.train_tokens, n - Math.floor(n * 0.1));
    assert.equal(run.val_tokens, Math.floor(n * 0.1));
    assert.equal(only(recs, 'summary').status, 'completed');
    // --out writes the summary and the trace too, both JSON.
    const summary = obj(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')), 'summary.json');
    assert.equal(summary.status, 'completed');
    assert.equal(summary.steps, 3);
    JSON.parse(readFileSync(path.join(out, 'trace.json'), 'utf8'));
  });

  test('a file longer than its header says uses the header count', async () => {
    const dir = freshDir('tokens-extra');
    // 200 tokens in the file, header says 100: the rest is ignored.
    writeFileSync(path.join(dir, 'train.bin'), tokenFile(someTokens(200, 64), { count: 100 }));
    const cfg = writeConfig(dir, { vocab: 64, data: ['tokens train.bin', 'val_fraction 0'] });
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out]);
    assertExit(r, 0);
    assert.equal(obj(only(readEvents(path.join(out, 'events.jsonl')), 'run').data, 'run.data').train_tokens, 100);
  });

  // Each case: the data file's bytes (undefined: no file), the config
  // options, and what stderr's message must contain after `data.KEY: `.
  interface BadData {
    name: string;
    key?: 'tokens' | 'text';
    bytes?: Buffer | 'folder';
    opts?: TinyOptions;
    expect: (file: string) => string[];
  }
  const vocab = 64;
  const badData: BadData[] = [
    {
      name: 'missing file',
      expect: (f) => [`cannot open '${f}'`, 'No such file or directory'],
    },
    {
      name: 'truncated header',
      bytes: Buffer.alloc(100),
      expect: (f) => [`'${f}'`, '100 bytes', 'truncated header'],
    },
    {
      name: 'empty file',
      bytes: Buffer.alloc(0),
      expect: (f) => [`'${f}'`, '0 bytes', 'truncated header'],
    },
    {
      name: 'wrong magic',
      bytes: tokenFile(someTokens(100, vocab), { magic: 12345 }),
      expect: (f) => [`'${f}'`, 'magic 12345', `expected ${kMagic}`],
    },
    {
      name: 'a text file given as tokens',
      bytes: Buffer.from('hello world, this is not a token file\n'.repeat(40)),
      expect: (f) => [`'${f}'`, 'magic', `expected ${kMagic}`],
    },
    {
      name: 'wrong version',
      bytes: tokenFile(someTokens(100, vocab), { version: 2 }),
      expect: (f) => [`'${f}'`, 'version 2', 'only version 1'],
    },
    {
      name: 'token count larger than the file holds',
      bytes: tokenFile(someTokens(100, vocab), { count: 1000 }),
      expect: (f) => [`'${f}'`, 'header says 1000 tokens', 'holds 100', 'truncated file'],
    },
    {
      name: 'negative token count',
      bytes: tokenFile(someTokens(100, vocab), { count: -1 }),
      expect: (f) => [`'${f}'`, 'truncated file'],
    },
    {
      name: 'token not below vocab',
      bytes: tokenFile([...someTokens(5, vocab), vocab, ...someTokens(100, vocab)]),
      expect: (f) => [`'${f}'`, `token 5 is ${vocab}`, `not below model.vocab ${vocab}`],
    },
    {
      name: 'too few tokens for one sequence',
      bytes: tokenFile(someTokens(10, vocab)),
      opts: { context: 16, data: ['tokens data.bin', 'val_fraction 0'] },
      expect: (f) => [`'${f}'`, 'has 10 training tokens', 'model.context 16', 'at least 17'],
    },
    {
      name: 'too few tokens for the validation split',
      bytes: tokenFile(someTokens(100, vocab)),
      opts: { context: 16 },
      expect: (f) => [`'${f}'`, 'leaves 10 validation tokens', 'val_fraction'],
    },
    {
      name: 'a folder as the data file',
      bytes: 'folder',
      expect: (f) => [`cannot open '${f}'`, 'it is a folder, not a regular file'],
    },
    {
      name: 'missing text file',
      key: 'text',
      expect: (f) => [`cannot open '${f}'`, 'No such file or directory'],
    },
    {
      name: 'text file too short',
      key: 'text',
      bytes: Buffer.from('tiny'),
      expect: (f) => [`'${f}'`, 'has 4 training tokens', 'at least 9'],
    },
    {
      name: 'empty text file',
      key: 'text',
      bytes: Buffer.alloc(0),
      expect: (f) => [`'${f}'`, 'has 0 training tokens'],
    },
  ];

  for (const c of badData) {
    test(`bad data: ${c.name} -> exit 1, located error, error record`, async () => {
      const key = c.key ?? 'tokens';
      const dir = freshDir(`bad-${key}`);
      const dataName = key === 'text' ? 'data.txt' : 'data.bin';
      const dataFile = path.join(dir, dataName);
      if (c.bytes === 'folder') mkdirSync(dataFile);
      else if (c.bytes) writeFileSync(dataFile, c.bytes);
      const opts: TinyOptions = {
        vocab: key === 'text' ? 256 : vocab,
        ...c.opts,
        data: c.opts?.data ?? [`${key} ${dataName}`],
      };
      const cfg = writeConfig(dir, opts);
      const out = path.join(dir, 'out');
      const r = await runTrainer([cfg, '--quiet', '--out', out]);
      assertExit(r, 1);
      const prefix = `${cfg}:${valueLoc(tinyConfig(opts), key)}: error: data.${key}: `;
      const line = firstLine(r.stderr);
      assert.ok(line.startsWith(prefix), `want '${prefix}...', got '${line}'`);
      for (const s of c.expect(dataFile)) assert.ok(line.includes(s), `message should contain "${s}": ${line}`);
      assert.equal(r.stdout, '', 'no run summary on stdout for a run that never started');

      const recs = readEvents(path.join(out, 'events.jsonl'));
      const err = checkFailedBeforeStart(recs);
      checkErrorRecord(err, line, { file: cfg, loc: valueLoc(tinyConfig(opts), key), key: `data.${key}` });
      assert.ok(String(err.message).startsWith(`data.${key}: `), String(err.message));
      assert.deepEqual(
        obj(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')), 'summary.json'),
        recs[1],
        'summary.json is the stream\'s summary',
      );
    });
  }

  test('a relative data path is resolved against the config folder, not the cwd', async () => {
    const cfgDir = freshDir('rel-config');
    const cwd = freshDir('rel-cwd');
    writeFileSync(path.join(cfgDir, 'data.bin'), tokenFile(someTokens(300, vocab)));
    // A decoy with the same name in the cwd: using it would fail (bad magic).
    writeFileSync(path.join(cwd, 'data.bin'), tokenFile(someTokens(300, vocab), { magic: 1 }));
    mkdirSync(path.join(cfgDir, 'sub'));
    writeFileSync(path.join(cfgDir, 'sub', 'corpus.txt'), 'abcdefghij'.repeat(30));
    const cfg = writeConfig(cfgDir, { vocab, data: ['tokens data.bin'] });
    const textCfg = writeConfig(cfgDir, { vocab: 256, data: ['text sub/corpus.txt'] }, 'text.train');

    // The config by absolute path, and by a path relative to the cwd.
    const relCfg = path.relative(cwd, cfg);
    for (const c of [cfg, relCfg]) {
      const out = path.join(cwd, `out-${c === cfg ? 'abs' : 'rel'}`);
      const r = await runTrainer([c, '--quiet', '--out', out], { cwd });
      assertExit(r, 0);
      const data = echoed(readEvents(path.join(out, 'events.jsonl')), 'data');
      assert.equal(path.resolve(cwd, String(data.path)), path.join(cfgDir, 'data.bin'));
    }
    const r = await runTrainer([path.relative(cwd, textCfg), '--quiet'], { cwd });
    assertExit(r, 0);

    // And a missing relative file is reported under the config's folder.
    const missing = writeConfig(cfgDir, { vocab, data: ['tokens nope.bin'] }, 'missing.train');
    const r2 = await runTrainer([missing, '--quiet'], { cwd });
    assertExit(r2, 1);
    assert.ok(r2.stderr.includes(`cannot open '${path.join(cfgDir, 'nope.bin')}'`), r2.stderr);
  });

  test('a data path from --set is resolved against the config folder and located at the override', async () => {
    const dir = freshDir('set-data');
    writeFileSync(path.join(dir, 'good.bin'), tokenFile(someTokens(300, vocab)));
    const cfg = writeConfig(dir, { vocab, data: ['synthetic'] });
    const cwd = freshDir('set-data-cwd');
    const ok = await runTrainer([cfg, '--quiet', '--set', 'data.tokens=good.bin'], { cwd });
    assertExit(ok, 0);

    const ov = 'data.tokens=bad.bin';
    const events = path.join(dir, 'bad-set.jsonl');
    const r = await runTrainer([cfg, '--quiet', '--set', ov, '--events', events], { cwd });
    assertExit(r, 1);
    assert.equal(
      firstLine(r.stderr),
      `--set:1:${ov.indexOf('=') + 2}: error: data.tokens: cannot open '${path.join(dir, 'bad.bin')}': No such file or directory`,
    );
    const err = checkFailedBeforeStart(readEvents(events));
    checkErrorRecord(err, firstLine(r.stderr), { file: '--set', loc: `1:${ov.indexOf('=') + 2}`, key: 'data.tokens' });
  });

  test('--set data.synthetic= replaces a broken data source from the file', async () => {
    const dir = freshDir('set-synthetic');
    const cfg = writeConfig(dir, { vocab, data: ['tokens nope.bin'] });
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out, '--set', 'data.synthetic=']);
    assertExit(r, 0);
    assert.equal(echoed(readEvents(path.join(out, 'events.jsonl')), 'data').source, 'synthetic');
  });

  test('odd characters in a data path survive into the error record', async () => {
    const dir = freshDir('odd-path');
    const odd = 'x"y\\z\td \u00e9\u6f22.bin'; // quote, backslash, tab, non-ASCII
    const opts: TinyOptions = { vocab, data: [`tokens ${odd}`] };
    const cfg = writeConfig(dir, opts);
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out]);
    assertExit(r, 1);
    const line = firstLine(r.stderr);
    assert.equal(line, `${cfg}:${valueLoc(tinyConfig(opts), 'tokens')}: error: data.tokens: cannot open '${path.join(dir, odd)}': No such file or directory`);
    const err = checkFailedBeforeStart(readEvents(path.join(out, 'events.jsonl')));
    checkErrorRecord(err, line, { file: cfg, loc: valueLoc(tinyConfig(opts), 'tokens'), key: 'data.tokens' });
    assert.equal(err.message, `data.tokens: cannot open '${path.join(dir, odd)}': No such file or directory`);
  });

  test('eval_every without a held-out split is a located run-time error', async () => {
    const dir = freshDir('eval-no-val');
    writeFileSync(path.join(dir, 'data.bin'), tokenFile(someTokens(300, vocab)));
    const opts: TinyOptions = { vocab, data: ['tokens data.bin', 'val_fraction 0'], train: ['eval_every 2'] };
    const cfg = writeConfig(dir, opts);
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out]);
    assertExit(r, 1);
    assert.equal(
      firstLine(r.stderr),
      `${cfg}:${valueLoc(tinyConfig(opts), 'eval_every')}: error: train.eval_every needs a held-out split, but data.val_fraction is 0`,
    );
    const err = checkFailedBeforeStart(readEvents(path.join(out, 'events.jsonl')));
    checkErrorRecord(err, firstLine(r.stderr), { file: cfg, loc: valueLoc(tinyConfig(opts), 'eval_every'), key: 'train.eval_every' });
    assert.equal(err.message, 'train.eval_every needs a held-out split, but data.val_fraction is 0');
  });
});

// ---------------------------------------------------------------------------
// Memory: the prediction is checked before anything is allocated

describe('memory pre-flight', () => {
  test('a model predicted far beyond the machine is refused at once: exit 1, an error record, a summary', async () => {
    const dir = freshDir('too-big');
    // About a terabyte predicted: allocating it would get the trainer OOM-killed.
    const text = ['[model]', 'vocab 50304', 'context 2048', 'layers 48', 'width 4096', 'heads 32', '', '[data]', 'synthetic', '', '[train]', 'steps 3', 'batch 16', ''].join('\n');
    const cfg = path.join(dir, 'big.train');
    writeFileSync(cfg, text);
    const out = path.join(dir, 'out');
    const t0 = Date.now();
    const r = await runTrainer([cfg, '--quiet', '--out', out]);
    const ms = Date.now() - t0;
    assertExit(r, 1);
    assert.ok(ms < 1000, `refused after ${ms} ms`);
    const line = firstLine(r.stderr);
    assert.match(line, /error: predicted peak [\d.]+ GB \(params [\d.]+ GB, grads [\d.]+ GB, optimizer [\d.]+ GB, activations [\d.]+ GB, workspace [\d.]+ [GM]B\) does not fit in the [\d.]+ [GMT]B of memory available: /);
    assert.match(line, /lower model\.width or model\.layers/);
    const err = checkFailedBeforeStart(readEvents(path.join(out, 'events.jsonl')));
    checkErrorRecord(err, line, { file: cfg, loc: valueLoc(text, 'width'), key: 'model.width' });
    assert.equal(obj(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')), 'summary.json').status, 'failed');
  });

  test('--memory-budget below the prediction is refused, naming the checkpoint plan that fits', async () => {
    const dir = freshDir('budget');
    // Four blocks: checkpointing them saves most of the activations.
    const text = ['[model]', 'vocab 32', 'context 64', 'layers 4', 'width 32', 'heads 2', '', '[data]', 'synthetic', '', '[train]', 'steps 2', 'batch 4', 'threads 1', 'checkpoint none', ''].join('\n');
    const cfg = path.join(dir, 'run.train');
    writeFileSync(cfg, text);
    const planned = await runTrainer([cfg, '--plan', '--json']);
    assertExit(planned, 0);
    const schedules = (JSON.parse(planned.stdout) as { schedules: { name: string; peak_bytes: number }[] }).schedules;
    const peak = (name: string) => schedules.find((x) => x.name === name)!.peak_bytes;
    // Between checkpointing every block and none: some plan fits, the config's own does not.
    const budget = Math.round((peak('every 1') + peak('none')) / 2);
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out, '--memory-budget', String(budget)]);
    assertExit(r, 1);
    const line = firstLine(r.stderr);
    assert.match(line, /does not fit in --memory-budget [\d.]+ [KMG]?B \(trainscope\.memoryBudget\): use train\.checkpoint (budget [\d.]+[KMG]i?B|layers [\d,-]+|every \d+) \(predicted peak /);
    const err = checkFailedBeforeStart(readEvents(path.join(out, 'events.jsonl')));
    checkErrorRecord(err, line, { file: cfg, loc: valueLoc(text, 'checkpoint'), key: 'train.checkpoint' });
    // The plan it names fits the budget: the run with it trains.
    const plan = /use train\.checkpoint (.+?) \(predicted peak/.exec(line)![1];
    const ok = await runTrainer([cfg, '--quiet', '--out', path.join(dir, 'ok'), '--memory-budget', String(budget), '--set', `train.checkpoint=${plan}`]);
    assertExit(ok, 0);
    // At the prediction itself the config trains as it is.
    assertExit(await runTrainer([cfg, '--quiet', '--memory-budget', String(peak('none'))]), 0);
  });

  test('--memory-budget takes sizes as the config writes them', async () => {
    const dir = freshDir('budget-usage');
    const cfg = writeConfig(dir);
    const r = await runTrainer([cfg, '--memory-budget', '3XB']);
    assertExit(r, 2);
    assert.match(firstLine(r.stderr), /^trainscope-train: error: --memory-budget: unknown size unit 'XB'/);
    assertExit(await runTrainer([cfg, '--quiet', '--memory-budget', '1GiB']), 0);
  });
});

// ---------------------------------------------------------------------------
// 5. Unwritable outputs

describe('unwritable outputs exit 1', () => {
  let dir = '';
  let cfg = '';
  let plainFile = '';
  before(() => {
    dir = freshDir('unwritable');
    cfg = writeConfig(dir);
    plainFile = path.join(dir, 'a-file');
    writeFileSync(plainFile, 'not a folder\n');
  });

  test('--out under a regular file', async () => {
    const out = path.join(plainFile, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out]);
    assertExit(r, 1);
    assert.equal(firstLine(r.stderr), `trainscope-train: error: cannot create folder '${out}': Not a directory`);
    assert.equal(r.stdout, '');
  });

  test('--out deeper under a regular file', async () => {
    const out = path.join(plainFile, 'a', 'b');
    const r = await runTrainer([cfg, '--quiet', '--out', out]);
    assertExit(r, 1);
    assert.match(firstLine(r.stderr), /^trainscope-train: error: cannot create folder '.*': Not a directory$/);
  });

  test('--out naming a regular file', async () => {
    const r = await runTrainer([cfg, '--quiet', '--out', plainFile]);
    assertExit(r, 1);
    assert.match(firstLine(r.stderr), /^trainscope-train: error: cannot create .*events.*Not a directory$/);
    assert.equal(readFileSync(plainFile, 'utf8'), 'not a folder\n', 'the file is left alone');
  });

  test('--events under a regular file', async () => {
    const events = path.join(plainFile, 'events.jsonl');
    const r = await runTrainer([cfg, '--quiet', '--events', events]);
    assertExit(r, 1);
    assert.equal(firstLine(r.stderr), `trainscope-train: error: cannot create events file '${events}': Not a directory`);
  });

  test(
    '--trace under a regular file',
    async () => {
      const trace = path.join(plainFile, 'trace.json');
      const r = await runTrainer([cfg, '--quiet', '--trace', trace]);
      assertExit(r, 1);
      assert.match(r.stderr, /trace\.json/);
    },
  );
});

// ---------------------------------------------------------------------------
// 5b. Special files, links and failed writes

function mkfifo(file: string): string {
  const r = spawnSync('mkfifo', [file]);
  assert.equal(r.status, 0, `mkfifo ${file}: ${r.stderr}`);
  return file;
}

// A 64 KiB tmpfs at a fresh folder, or why there is none (mounting needs
// root: CI runs these tests as root, elsewhere they are skipped).
function tinyDisk(name: string): { dir: string; why?: string } {
  const dir = freshDir(name);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? { dir } : { dir, why: `cannot mount a tmpfs: ${(r.stderr || String(r.error)).trim()}` };
}

function unmount(dir: string): void {
  spawnSync('umount', [dir]);
}

describe('special files as inputs are refused, never waited on', () => {
  test('a FIFO as data tokens is an error at the key (it used to block forever)', async () => {
    const dir = freshDir('fifo-data');
    const fifo = mkfifo(path.join(dir, 'train.bin'));
    const opts = { data: ['tokens train.bin'] };
    const cfg = writeConfig(dir, opts);
    const r = await runTrainer([cfg, '--quiet'], { timeoutMs: 10_000 });
    assertExit(r, 1);
    assert.equal(
      firstLine(r.stderr),
      `${cfg}:${valueLoc(tinyConfig(opts), 'tokens')}: error: data.tokens: cannot open '${fifo}': it is a FIFO, not a regular file`,
    );
  });

  test('/dev/zero as data text is refused (it used to run out of memory)', async () => {
    const dir = freshDir('dev-zero');
    const opts = { vocab: 256, data: ['text /dev/zero'] };
    const cfg = writeConfig(dir, opts);
    const r = await runTrainer([cfg, '--quiet'], { timeoutMs: 10_000 });
    assertExit(r, 1);
    assert.equal(
      firstLine(r.stderr),
      `${cfg}:${valueLoc(tinyConfig(opts), 'text')}: error: data.text: cannot open '/dev/zero': it is a character device, not a regular file`,
    );
  });

  test('a FIFO as the config is a usage error at 1:1', async () => {
    const fifo = mkfifo(path.join(freshDir('fifo-config'), 'run.train'));
    const r = await runTrainer([fifo, '--quiet'], { timeoutMs: 10_000 });
    assertExit(r, 2);
    assert.equal(firstLine(r.stderr), `${fifo}:1:1: error: cannot read config: it is a FIFO, not a regular file`);
  });

  test('a FIFO as --resume is refused, naming the flag', async () => {
    const dir = freshDir('fifo-resume');
    const fifo = mkfifo(path.join(dir, 'snapshot.bin'));
    const r = await runTrainer([writeConfig(dir), '--quiet', '--resume', fifo, '--out', path.join(dir, 'out')], { timeoutMs: 10_000 });
    assertExit(r, 1);
    assert.equal(firstLine(r.stderr), `trainscope-train: error: --resume ${fifo}: cannot open snapshot '${fifo}': it is a FIFO, not a regular file`);
  });
});

describe('outputs are never written through links nor over special files', () => {
  test('an events.jsonl symlink in --out is refused and its target left alone', async () => {
    const dir = freshDir('events-link');
    const target = path.join(dir, 'precious.txt');
    writeFileSync(target, 'precious\n');
    const out = path.join(dir, 'out');
    mkdirSync(out);
    symlinkSync(target, path.join(out, 'events.jsonl'));
    const r = await runTrainer([writeConfig(dir), '--quiet', '--out', out]);
    assertExit(r, 1);
    assert.match(firstLine(r.stderr), /^trainscope-train: error: cannot write events file '.*events\.jsonl': it is a symbolic link/);
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
  });

  test('*.tmp symlinks planted in --out are not followed; stale temps of ours are removed', async () => {
    const dir = freshDir('tmp-links');
    const out = path.join(dir, 'out');
    mkdirSync(out);
    const targets = ['summary.json', 'trace.json', 'snapshot.bin'].map((name) => {
      const target = path.join(dir, `${name}.target`);
      writeFileSync(target, 'precious\n');
      symlinkSync(target, path.join(out, `${name}.tmp`));
      return target;
    });
    writeFileSync(path.join(out, 'trace.json.4242-0.tmp'), 'left by a killed run');
    writeFileSync(path.join(out, 'notes.tmp'), 'not ours');
    const r = await runTrainer([writeConfig(dir, { train: ['save_every 1'] }), '--quiet', '--out', out]);
    assertExit(r, 0);
    for (const t of targets) assert.equal(readFileSync(t, 'utf8'), 'precious\n', `${t} was truncated`);
    assert.ok(!existsSync(path.join(out, 'trace.json.4242-0.tmp')), 'the stale temp file is removed');
    assert.ok(existsSync(path.join(out, 'notes.tmp')), 'a file that is not ours stays');
    JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
  });

  test('--trace naming a FIFO is refused, not renamed over (as /dev/null was)', async () => {
    const dir = freshDir('trace-fifo');
    const fifo = mkfifo(path.join(dir, 'trace.json'));
    const r = await runTrainer([writeConfig(dir), '--quiet', '--trace', fifo], { timeoutMs: 10_000 });
    assertExit(r, 1);
    assert.equal(
      firstLine(r.stderr),
      `trainscope-train: error: cannot write trace '${fifo}': it is a FIFO, not a regular file (outputs replace only regular files)`,
    );
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
  });

  test('--resume into its own folder is refused however it is spelled', async () => {
    const dir = freshDir('resume-same');
    const cfg = writeConfig(dir, { train: ['save_every 1'] });
    const first = path.join(dir, 'rc1');
    assertExit(await runTrainer([cfg, '--quiet', '--out', first]), 0);
    const events = readFileSync(path.join(first, 'events.jsonl'), 'utf8');
    const snapshot = readFileSync(path.join(first, 'snapshot.bin'));
    const cfg5 = writeConfig(dir, { steps: 5, train: ['save_every 1'] }, 'more.train');
    for (const args of [
      ['--resume', path.join(first, 'snapshot.bin'), '--out', first],
      ['--resume', first, '--out', `${first}/./`],
      ['--resume', first, '--events', path.join(first, 'more.jsonl')],
      ['--resume', path.join(first, 'snapshot.bin'), '--out', path.join(dir, 'rc2'), '--trace', path.join(first, 'trace2.json')],
    ]) {
      const r = await runTrainer([cfg5, '--quiet', ...args]);
      assertExit(r, 2);
      assert.match(firstLine(r.stderr), /^trainscope-train: error: --resume .*: the resumed run would write '.*' into the folder of the snapshot it resumes/);
    }
    assert.equal(readFileSync(path.join(first, 'events.jsonl'), 'utf8'), events, 'the old stream is as it was');
    assert.ok(readFileSync(path.join(first, 'snapshot.bin')).equals(snapshot), 'and so is its snapshot');
    assertExit(await runTrainer([cfg5, '--quiet', '--resume', first, '--out', path.join(dir, 'rc3')]), 0);
  });
});

describe('a full disk fails the run (it used to exit 0)', () => {
  test('the stream fills the disk: exit 1, the file named, whole records only', async (t) => {
    const disk = tinyDisk('full-events');
    if (disk.why) return t.skip(disk.why);
    try {
      const dir = freshDir('full-events-config');
      const cfg = writeConfig(dir, { steps: 100_000, train: ['profile_every 0'] });
      const r = await runTrainer([cfg, '--quiet', '--out', disk.dir]);
      assertExit(r, 1);
      const events = path.join(disk.dir, 'events.jsonl');
      assert.equal(firstLine(r.stderr), `trainscope-train: error: cannot write events file '${events}': No space left on device`);
      const recs = readEvents(events); // every line a whole record
      assert.equal(recs[0].type, 'run');
    } finally {
      unmount(disk.dir);
    }
  });

  test('a snapshot that does not fit: exit 1, an error record and a failed summary', async (t) => {
    const disk = tinyDisk('full-snapshot');
    if (disk.why) return t.skip(disk.why);
    try {
      const dir = freshDir('full-snapshot-config');
      const cfg = writeConfig(dir, { train: ['save_every 1'] });
      const r = await runTrainer([cfg, '--quiet', '--set', 'model.width=64', '--out', disk.dir]);
      assertExit(r, 1);
      const snapshot = path.join(disk.dir, 'snapshot.bin');
      assert.match(firstLine(r.stderr), /^trainscope-train: error: snapshot at step 1 not saved: cannot write '.*snapshot\.bin'.*No space left on device$/);
      assert.ok(firstLine(r.stderr).includes(snapshot), r.stderr);
      const recs = readEvents(path.join(disk.dir, 'events.jsonl'));
      const types = recs.map((x) => x.type);
      assert.equal(types[types.length - 2], 'error');
      assert.equal(only(recs, 'summary').status, 'failed');
      assert.ok(!types.includes('save'), 'no save record');
    } finally {
      unmount(disk.dir);
    }
  });
});

// ---------------------------------------------------------------------------
// 6. Defaults and --set chains

describe('defaults and --set', () => {
  test('an empty config with a --set chain trains the default model', async () => {
    const dir = freshDir('defaults');
    const cfg = path.join(dir, 'empty.train');
    writeFileSync(cfg, '');
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out, '--set', 'train.steps=2', '--set', 'model.layers=1']);
    assertExit(r, 0);
    assert.match(r.stdout, /TrainScope run completed/);
    assert.equal(r.stderr, '', '--quiet: nothing on stderr');
    const recs = readEvents(path.join(out, 'events.jsonl'));
    assert.equal(only(recs, 'run').config_file, cfg);
    const model = echoed(recs, 'model');
    assert.deepEqual(model, { type: 'gpt', vocab: 256, context: 64, layers: 1, width: 128, heads: 4 });
    const train = echoed(recs, 'train');
    assert.equal(train.steps, 2);
    assert.equal(train.batch, 8);
    assert.equal(train.lr, 0.001);
    assert.equal(train.schedule, 'cosine');
    assert.deepEqual(echoed(recs, 'data'), { source: 'synthetic', path: '', val_fraction: 0.1, seed: 1234 });
    assert.deepEqual(echoed(recs, 'parallel'), { ranks: 1, bucket: 4194304, backend: 'mpi' });
    assert.equal(recs.filter((x) => x.type === 'step').length, 2);
    assert.equal(recs.filter((x) => x.type === 'layer').length, 3, 'embed, block.0, head');
    const summary = only(recs, 'summary');
    assert.equal(summary.status, 'completed');
    assert.equal(summary.steps, 2);
    assert.equal(recs[0].type, 'run', 'the run record comes first');
    assert.equal(recs[recs.length - 1].type, 'summary', 'the summary comes last');
  });

  test('--set wins over the file, and the last --set wins', async () => {
    const dir = freshDir('set-wins');
    const cfg = writeConfig(dir, { steps: 5, train: ['lr 3e-3', 'schedule constant'] });
    const out = path.join(dir, 'out');
    const r = await runTrainer([
      cfg, '--quiet', '--out', out,
      '--set', 'train.steps=4',
      '--set=train.lr=0.002',
      '--set', 'model.width=32',
      '--set', 'train.steps=2',
    ]);
    assertExit(r, 0);
    const recs = readEvents(path.join(out, 'events.jsonl'));
    const train = echoed(recs, 'train');
    assert.equal(train.steps, 2);
    assert.equal(train.lr, 0.002);
    assert.equal(train.schedule, 'constant', 'file values that are not overridden stay');
    assert.equal(echoed(recs, 'model').width, 32);
    assert.equal(recs.filter((x) => x.type === 'step').length, 2);
    const lrs = recs.filter((x) => x.type === 'step').map((x) => x.lr);
    assert.deepEqual(lrs, [0.002, 0.002], 'the constant schedule at the overridden lr');
  });

  test('spaces around the --set value are trimmed', async () => {
    const dir = freshDir('set-spaces');
    const cfg = writeConfig(dir);
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out, '--set', 'train.steps = 2 ']);
    assertExit(r, 0);
    assert.equal(echoed(readEvents(path.join(out, 'events.jsonl')), 'train').steps, 2);
  });

  test('--events and --trace alone, without --out', async () => {
    const dir = freshDir('events-trace');
    const cfg = writeConfig(dir);
    const events = path.join(dir, 'e.jsonl');
    const trace = path.join(dir, 't.json');
    const r = await runTrainer([cfg, '--quiet', '--events', events, '--trace', trace]);
    assertExit(r, 0);
    assert.equal(only(readEvents(events), 'summary').status, 'completed');
    const t = obj(JSON.parse(readFileSync(trace, 'utf8')), 'trace');
    assert.ok(Array.isArray(t.traceEvents), 'a Chrome trace has traceEvents');
    assert.ok(!existsSync(path.join(dir, 'summary.json')), 'summary.json only with --out');
  });

  test('without --quiet, progress goes to stderr, not stdout', async () => {
    const dir = freshDir('progress');
    const cfg = writeConfig(dir);
    const r = await runTrainer([cfg]);
    assertExit(r, 0);
    assert.match(r.stderr, /^step\s+1\/3 \| loss /m);
    assert.doesNotMatch(r.stdout, /^step /m);
    assert.match(r.stdout, /TrainScope run completed/);
  });
});

// ---------------------------------------------------------------------------
// Interrupting a run

// The first `limit` bytes of a file ('' if it is not there yet).
function head(file: string, limit = 1 << 16): string {
  if (!existsSync(file)) return '';
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(limit);
    return buf.subarray(0, readSync(fd, buf, 0, limit, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

// Waits (at most 20 s) until the running trainer's stream holds a step record.
async function firstStep(events: string, child: { exitCode: number | null }): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!head(events).includes('"type":"step"')) {
    assert.ok(Date.now() < deadline, 'no step record within 20 s');
    assert.equal(child.exitCode, null, 'the trainer exited early');
    await new Promise((res) => setTimeout(res, 10));
  }
}

describe('interrupting', () => {
  test('SIGINT ends the run after the step in flight: exit 130, status interrupted', async () => {
    const dir = freshDir('sigint');
    const cfg = writeConfig(dir, { steps: 100_000_000, train: ['profile_every 0'] });
    const out = path.join(dir, 'out');
    const events = path.join(out, 'events.jsonl');
    const { child, done } = startTrainer([cfg, '--quiet', '--out', out]);
    await firstStep(events, child);
    child.kill('SIGINT');
    const r = await done;
    assertExit(r, 130);
    const recs = readEvents(events);
    const summary = recs[recs.length - 1];
    assert.equal(summary.type, 'summary');
    assert.equal(summary.status, 'interrupted');
    assert.equal(summary.steps, recs.filter((x) => x.type === 'step').length);
    assert.equal(obj(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')), 'summary.json').status, 'interrupted');
    assert.match(r.stdout, /TrainScope run interrupted/);
  });

  test('SIGINT during a long evaluation ends the run within a second, interrupted, every record written', async () => {
    const dir = freshDir('sigint-eval');
    // An evaluation of a million batches after step 1 would take minutes.
    const cfg = writeConfig(dir, { steps: 1000, train: ['profile_every 0', 'eval_every 1', 'eval_batches 1000000'] });
    const out = path.join(dir, 'out');
    const events = path.join(out, 'events.jsonl');
    const { child, done } = startTrainer([cfg, '--quiet', '--out', out]);
    // Step 1's record reaches the disk before its evaluation starts.
    await firstStep(events, child);
    await new Promise((res) => setTimeout(res, 200)); // well inside the evaluation
    const t0 = Date.now();
    child.kill('SIGINT');
    const r = await done;
    const ms = Date.now() - t0;
    assertExit(r, 130);
    assert.ok(ms < 1000, `the trainer took ${ms} ms to stop`);
    const recs = readEvents(events);
    assert.deepEqual(recs.filter((x) => x.type === 'step').map((x) => x.step), [1]);
    assert.equal(recs.filter((x) => x.type === 'eval').length, 0, 'no record of an evaluation cut short');
    const summary = recs[recs.length - 1];
    assert.equal(summary.type, 'summary');
    assert.equal(summary.status, 'interrupted');
    assert.equal(summary.steps, 1);
  });
});

describe('train.threads', () => {
  test('more threads than cores: a warning at the key and a note in the run record, and the run trains', async () => {
    const dir = freshDir('threads');
    const text = tinyConfig().replace('threads 1\n', 'threads 1000\n');
    const cfg = path.join(dir, 'run.train');
    writeFileSync(cfg, text);
    const out = path.join(dir, 'out');
    const r = await runTrainer([cfg, '--quiet', '--out', out]);
    assertExit(r, 0);
    assert.ok(os.cpus().length < 1000, 'this test needs fewer than 1000 cores');
    assert.ok(
      firstLine(r.stderr).startsWith(`${cfg}:${valueLoc(text, 'threads')}: warning: train.threads 1000 is more than the `),
      r.stderr,
    );
    const run = readEvents(path.join(out, 'events.jsonl'))[0];
    assert.match(String((run.device_info as Rec).note), /^train\.threads 1000 is more than the \d+ cores available: /);
  });
});
