// The trainer's stderr error lines as editor diagnostics: parsing
// `file:line:col: error: message` and turning byte columns into ranges.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isOverrideMessage, parseTrainerLine, rangeForColumn } from '../extension/runs/trainerDiagnostics';
import { haveTrainer, NO_TRAINER, tempDir, trainer } from './support/trainer';

describe('parseTrainerLine', () => {
  test('a located error', () => {
    assert.deepEqual(parseTrainerLine('run.train:3:7: error: train.steps: expected an integer, got \'1.5\''), {
      kind: 'located',
      file: 'run.train',
      line: 3,
      col: 7,
      severity: 'error',
      message: "train.steps: expected an integer, got '1.5'",
    });
  });

  test('paths with colons and spaces keep the last location', () => {
    const m = parseTrainerLine('C:\\my runs\\a.train:12:1: warning: something: odd');
    assert.ok(m && m.kind === 'located');
    assert.equal(m.file, 'C:\\my runs\\a.train');
    assert.equal(m.line, 12);
    assert.equal(m.severity, 'warning');
    assert.equal(m.message, 'something: odd');
  });

  test('overrides, general errors, and everything else', () => {
    const o = parseTrainerLine("--set:1:10: error: train.lr: expected a number, got 'fast'");
    assert.ok(o && isOverrideMessage(o));
    assert.deepEqual(parseTrainerLine('trainscope-train: error: out of memory at step 3'), {
      kind: 'general',
      severity: 'error',
      message: 'out of memory at step 3',
    });
    assert.equal(parseTrainerLine('step     1/5 | loss 4.1905 | lr 2.74e-03 | 170.9 ms | 5993 tok/s'), undefined);
    assert.equal(parseTrainerLine('trainscope: run.train | 0.81M params'), undefined);
    assert.equal(parseTrainerLine(''), undefined);
  });
});

describe('rangeForColumn', () => {
  test('from the column to the end of the token', () => {
    const text = '[train]\nsteps 1.5   # comment\n';
    assert.deepEqual(rangeForColumn(text, 2, 7), { line: 1, start: 6, end: 9 });
  });

  test('a quoted path runs to its closing quote', () => {
    const text = '[data]\ntext "my corpus.txt" # x';
    assert.deepEqual(rangeForColumn(text, 2, 6), { line: 1, start: 5, end: 20 });
  });

  test('byte columns after non-ASCII text become UTF-16 offsets', () => {
    // "é" is 2 bytes, "𝒳" 4 bytes and 2 UTF-16 units.
    const text = '[data]\ntext é𝒳/x.txt bad';
    // 'text ' is columns 1-5, then 2 + 4 + 6 bytes and a space: 'bad' is at column 19.
    const r = rangeForColumn(text, 2, 19);
    assert.equal(text.split('\n')[1].slice(r.start, r.end), 'bad');
  });

  test('a byte-order mark is not counted', () => {
    const text = '\uFEFF[trian]';
    const r = rangeForColumn(text, 1, 2);
    assert.equal(text.slice(r.start, r.end), 'trian]');
  });

  test('nothing at the column: the line; past the end of the text: the last line', () => {
    assert.deepEqual(rangeForColumn('[train]\nsteps   \n', 2, 7), { line: 1, start: 0, end: 5 });
    assert.equal(rangeForColumn('a\nb', 99, 1).line, 1);
  });

  test('CRLF line endings', () => {
    const text = '[train]\r\nsteps x\r\n';
    assert.deepEqual(rangeForColumn(text, 2, 7), { line: 1, start: 6, end: 7 });
  });
});

describe('diagnostics from the real trainer', { skip: haveTrainer ? false : NO_TRAINER }, () => {
  test('every error line of a bad config lands on the offending token', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'bad.train');
      writeFileSync(file, '[model]\nlayers 0\n[train]\nschedule cosin\nlr fast\n');
      const r = spawnSync(trainer, [file, '--check'], { encoding: 'utf8' });
      assert.equal(r.status, 2);
      const text = readFileSync(file, 'utf8');
      const lines = text.split('\n');
      const got = r.stderr
        .split('\n')
        .map(parseTrainerLine)
        .filter((m) => m !== undefined)
        .map((m) => {
          assert.equal(m.kind, 'located');
          if (m.kind !== 'located') return '';
          assert.equal(m.file, file);
          const range = rangeForColumn(text, m.line, m.col);
          return lines[range.line].slice(range.start, range.end);
        });
      assert.deepEqual(got, ['0', 'cosin', 'fast']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
