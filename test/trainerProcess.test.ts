// The trainer process as the extension drives it: spawned in its own
// process group, events tailed as the file grows, exit statuses mapped to
// outcomes, and Stop leaving no process behind. Against the real trainer.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TrainerEvent } from '../common/events/schema';
import { parseTrainerLine } from '../extension/runs/trainerDiagnostics';
import { LineSplitter, outcomeOf, TrainerProcess, trainerArgs } from '../extension/runs/trainerProcess';
import { haveTrainer, NO_TRAINER, root, tempDir, TINY, trainer } from './support/trainer';

/**
 * Whether a process is still running. A killed grandchild is reparented to
 * PID 1, and in a container PID 1 may never reap it: a zombie has exited and
 * holds nothing but its table entry, so it counts as gone.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ESRCH');
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/** Live (non-zombie) processes of a process group, from ps; empty when none. */
function psGroup(pgid: number): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4 && Number(f[1]) === pgid && !f[2].startsWith('Z'))
    .map((f) => f.join(' '));
}

describe('LineSplitter', () => {
  test('splits across chunks, strips CR, keeps a split UTF-8 character, flushes the rest', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const euro = Buffer.from('€');
    s.push(Buffer.concat([Buffer.from('a\r\nb'), euro.subarray(0, 1)]));
    s.push(Buffer.concat([euro.subarray(1), Buffer.from('\nc')]));
    s.end();
    assert.deepEqual(lines, ['a', 'b€', 'c']);
  });

  test('cuts an endless line instead of holding it', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 10);
    s.push('x'.repeat(25));
    assert.deepEqual(lines, ['x'.repeat(10), 'x'.repeat(10)]);
    s.end();
    assert.equal(lines[2], 'x'.repeat(5));
  });
});

describe('outcomeOf', () => {
  test('maps the trainer exit statuses', () => {
    assert.equal(outcomeOf(0, null, false), 'completed');
    assert.equal(outcomeOf(0, null, true), 'completed');
    assert.equal(outcomeOf(2, null, false), 'bad-config');
    assert.equal(outcomeOf(1, null, false), 'failed');
    assert.equal(outcomeOf(3, null, false), 'failed');
    assert.equal(outcomeOf(130, null, false), 'interrupted');
    assert.equal(outcomeOf(143, null, false), 'interrupted');
    assert.equal(outcomeOf(143, null, true), 'cancelled');
    assert.equal(outcomeOf(null, 'SIGKILL', true), 'cancelled');
    assert.equal(outcomeOf(null, 'SIGKILL', false), 'killed');
    assert.equal(outcomeOf(null, 'SIGSEGV', false), 'killed');
  });
});

describe('TrainerProcess with the real trainer', { skip: haveTrainer ? false : NO_TRAINER }, () => {
  let tmp: string;
  const config = path.join(root, 'examples', 'tiny-gpt.train');

  before(() => {
    tmp = tempDir();
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  function start(name: string, sets: string[], configPath = config) {
    const dir = path.join(tmp, name);
    mkdirSync(dir, { recursive: true });
    const events: TrainerEvent[] = [];
    const stderr: string[] = [];
    const proc = TrainerProcess.start(
      { command: trainer, args: trainerArgs(configPath, dir, sets), cwd: root, eventsFile: path.join(dir, 'events.jsonl') },
      { onEvents: (e) => events.push(...e), onStderrLine: (l) => stderr.push(l) },
    );
    return { proc, events, stderr, dir };
  }

  test('a completed run: exit 0, every event delivered in order', async () => {
    const { proc, events } = start('ok', [...TINY, 'train.steps=20', 'train.eval_every=10']);
    const r = await proc.done;
    assert.equal(r.outcome, 'completed');
    assert.equal(r.exitCode, 0);
    assert.equal(events[0].type, 'run');
    assert.equal(events[events.length - 1].type, 'summary');
    assert.equal(events.filter((e) => e.type === 'step').length, 20);
    assert.equal(events.filter((e) => e.type === 'eval').length, 2);
    assert.equal(proc.tail.parser.errorCount, 0);
    assert.equal(proc.running, false);
  });

  test('a bad config: exit 2, outcome bad-config, the error line parses into a location', async () => {
    const { proc, events, stderr, dir } = start('bad', ['train.steps=5']); // warmup 30 ≥ steps 5
    const r = await proc.done;
    assert.equal(r.outcome, 'bad-config');
    assert.equal(r.exitCode, 2);
    assert.deepEqual(events, []);
    const m = stderr.map(parseTrainerLine).find((x) => x !== undefined);
    assert.ok(m && m.kind === 'located');
    assert.equal(m.file, config);
    assert.equal(m.line, 23);
    assert.equal(m.col, 8);
    assert.match(m.message, /train\.warmup 30 must be less than train\.steps 5/);
    assert.equal(m.severity, 'error');
    assert.ok(dir);
  });

  test('a run-time failure: exit 1, outcome failed, an error record in the stream', async () => {
    const bad = path.join(tmp, 'missing-data.train');
    writeFileSync(bad, '[data]\ntext no-such-file.txt\n[model]\nvocab 256\n');
    const { proc, events, stderr } = start('fail', [...TINY.filter((s) => !s.startsWith('model.vocab')), 'train.steps=3'], bad);
    const r = await proc.done;
    assert.equal(r.outcome, 'failed');
    assert.equal(r.exitCode, 1);
    const err = events.find((e) => e.type === 'error');
    assert.ok(err && err.type === 'error');
    const m = parseTrainerLine(stderr.find((l) => l.includes('error:'))!);
    assert.ok(m && m.kind === 'located');
    assert.equal(m.line, 2);
  });

  test('Cancel on a long run: SIGTERM, the trainer writes its summary, no process is left', async () => {
    const { proc, events } = start('long', [...TINY, 'train.steps=100000']);
    const pid = proc.pid;
    assert.ok(pid !== undefined);
    // Wait until it is training (a few steps in the stream).
    const t0 = Date.now();
    while (events.filter((e) => e.type === 'step').length < 3) {
      assert.ok(Date.now() - t0 < 20000, 'no steps within 20 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(alive(pid), true);
    proc.cancel();
    const r = await proc.done;
    assert.equal(r.outcome, 'cancelled');
    assert.equal(r.exitCode, 143); // 128 + SIGTERM: handled, not killed
    const summary = events[events.length - 1];
    assert.ok(summary.type === 'summary' && summary.status === 'interrupted');
    assert.ok(events.filter((e) => e.type === 'step').length < 100000);
    assert.equal(alive(pid), false);
    assert.deepEqual(psGroup(pid), []);
  });

  test('dispose kills the whole tree at once', async () => {
    const { proc } = start('disposed', [...TINY, 'train.steps=100000']);
    const pid = proc.pid!;
    await new Promise((r) => setTimeout(r, 300));
    proc.dispose();
    const r = await proc.done;
    assert.equal(r.outcome, 'cancelled');
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(alive(pid), false);
    assert.deepEqual(psGroup(pid), []);
  });
});

describe('TrainerProcess with other programs', () => {
  test('a process that ignores SIGTERM is killed with its children after the grace period', async () => {
    const dir = tempDir();
    try {
      const lines: string[] = [];
      // The shell ignores TERM, and so does the sleep it starts (ignored
      // signals are inherited); it prints the sleep's pid.
      const proc = TrainerProcess.start(
        { command: 'sh', args: ['-c', 'trap "" TERM; sleep 30 & echo $!; wait'], cwd: dir, eventsFile: path.join(dir, 'events.jsonl') },
        { onStdoutLine: (l) => lines.push(l) },
      );
      const t0 = Date.now();
      while (!lines.length) {
        assert.ok(Date.now() - t0 < 5000);
        await new Promise((r) => setTimeout(r, 10));
      }
      const child = Number(lines[0]);
      assert.equal(alive(child), true);
      proc.cancel(300);
      const r = await proc.done;
      assert.equal(r.outcome, 'cancelled');
      assert.equal(r.signal, 'SIGKILL');
      assert.ok(Date.now() - t0 >= 300);
      // The grandchild went with the group.
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(alive(child), false);
      assert.deepEqual(psGroup(proc.pid!), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a program that does not exist: outcome spawn-error with the reason', async () => {
    const dir = tempDir();
    try {
      const proc = TrainerProcess.start({
        command: path.join(dir, 'no-such-trainer'),
        args: [],
        cwd: dir,
        eventsFile: path.join(dir, 'events.jsonl'),
      });
      const r = await proc.done;
      assert.equal(r.outcome, 'spawn-error');
      assert.match(r.message, /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the tail reads only what is appended, in chunks, across split lines', async () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'events.jsonl');
      const got: TrainerEvent[] = [];
      // Node itself appends to the file in pieces, half lines included.
      const script = `
        const fs = require('fs');
        const lines = [];
        for (let i = 1; i <= 50; i++) lines.push(JSON.stringify({type:'eval', step:i, val_loss:1/i}) + '\\n');
        const text = lines.join('');
        let at = 0;
        const t = setInterval(() => {
          const n = Math.min(text.length - at, 37);
          fs.appendFileSync(${JSON.stringify(file)}, text.slice(at, at + n));
          at += n;
          if (at >= text.length) clearInterval(t);
        }, 1);
      `;
      const proc = TrainerProcess.start(
        { command: process.execPath, args: ['-e', script], cwd: dir, eventsFile: file },
        { onEvents: (e) => got.push(...e) },
      );
      const r = await proc.done;
      assert.equal(r.outcome, 'completed');
      assert.deepEqual(
        got.map((e) => (e.type === 'eval' ? e.step : -1)),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.equal(proc.tail.parser.errorCount, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
