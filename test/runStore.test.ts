// Run folders: naming, listing, and loading a real run written by the
// trainer into the compact model.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EventStreamParser } from '../common/events/parse';
import { createRunDir, listRuns, loadRun, pushBytes, runDirName, runUsesConfig } from '../extension/runs/runStore';
import { haveTrainer, NO_TRAINER, root, runTrainer, tempDir } from './support/trainer';

describe('run folder names', () => {
  test('stamp in UTC, then the config base name', () => {
    const when = new Date(Date.UTC(2026, 0, 31, 9, 5, 7));
    assert.equal(runDirName('/a/b/tiny-gpt.train', when), '20260131-090507-tiny-gpt');
    assert.equal(runDirName('my model.train', when), '20260131-090507-my_model');
    assert.equal(runDirName('.train', when), '20260131-090507-config');
  });

  test('two runs in the same second get distinct folders', async () => {
    const dir = tempDir();
    try {
      const when = new Date(Date.UTC(2026, 0, 31, 9, 5, 7));
      const a = await createRunDir(path.join(dir, 'runs'), 'x.train', when);
      const b = await createRunDir(path.join(dir, 'runs'), 'x.train', when);
      assert.notEqual(a, b);
      assert.equal(path.basename(b), '20260131-090507-x-2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('reading bytes', () => {
  test('ASCII pieces and UTF-8 pieces, with a character split between pieces, decode as one text', () => {
    const span = (i: number, name: string) =>
      `{"type":"span","rank":0,"step":${i + 1},"layer":0,"name":"${name}","phase":"fwd","t0":${i},"t1":${i + 0.5}}\n`;
    // ASCII lines up to just before 64 KiB, then a line whose three-byte
    // character straddles the 64 KiB boundary, then more ASCII pieces.
    let text = '';
    let i = 0;
    while (Buffer.byteLength(text) < 65536 - 200) text += span(i++, 'ascii');
    // The ✓ (3 bytes) starts at byte 65535.
    const nameAt = span(i, '').indexOf('"name":"') + 8;
    const pad = 'p'.repeat(65535 - Buffer.byteLength(text) - nameAt);
    text += span(i++, `${pad}✓tail`);
    for (let k = 0; k < 3000; k++) text += span(i++, k % 100 ? 'ascii' : 'é');
    const bytes = Buffer.from(text, 'utf8');
    const cut = text.indexOf('✓');
    const at = Buffer.byteLength(text.slice(0, cut));
    assert.ok(at < 65536 && at + 3 > 65536, `the character straddles the boundary (bytes ${at}..${at + 2})`);
    const p = new EventStreamParser();
    const events = [...pushBytes(p, bytes), ...p.end()];
    assert.equal(p.errorCount, 0, JSON.stringify(p.errors));
    const whole = new EventStreamParser();
    assert.deepEqual(events, [...whole.push(text), ...whole.end()]);
    assert.equal(events.length, i);
    assert.ok(events.some((e) => e.type === 'span' && e.name.endsWith('✓tail')));
  });
});

describe('a real run', { skip: haveTrainer ? false : NO_TRAINER }, () => {
  let tmp: string;
  let runsFolder: string;
  let runDir: string;
  const config = path.join(root, 'examples', 'tiny-gpt.train');

  before(() => {
    tmp = tempDir();
    runsFolder = path.join(tmp, 'runs');
    runDir = path.join(runsFolder, '20260101-000000-tiny-gpt');
    // tiny-gpt's warmup (30) must stay below the step count.
    runTrainer(config, runDir, ['train.steps=5', 'train.warmup=0', 'train.eval_every=2', 'train.profile_every=2']);
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('loads into columns, layers, evals, spans and summary', async () => {
    const { model } = await loadRun(runDir);
    assert.equal(model.id, '20260101-000000-tiny-gpt');
    assert.equal(model.status, 'completed');
    assert.ok(model.run);
    assert.equal(model.run.config.train.steps, 5);
    assert.deepEqual(model.steps.step, [1, 2, 3, 4, 5]);
    for (const col of [model.steps.loss, model.steps.lr, model.steps.ms, model.steps.tokensPerS, model.steps.liveBytes, model.steps.peakBytes]) {
      assert.equal(col.length, 5);
      assert.ok(col.every((x) => typeof x === 'number' && Number.isFinite(x)));
    }
    assert.deepEqual(model.steps.phaseNames.slice(0, 4), ['data', 'fwd', 'bwd', 'optim']);
    assert.ok(model.steps.phaseMs.every((c) => c.length === 5));
    // embed, 4 blocks, head
    assert.deepEqual(
      model.layers.map((l) => l.name),
      ['embed', 'block.0', 'block.1', 'block.2', 'block.3', 'head'],
    );
    assert.deepEqual(model.evals.step, [2, 4, 5]);
    // Sampled steps: 1, 2 and 4.
    assert.equal(model.layerTime.sampledSteps, 3);
    assert.deepEqual(model.spans.samples.map((s) => s.step), [1, 2, 4]);
    assert.ok(model.layerTime.phases.includes('fwd'));
    assert.equal(model.layerTime.meanMs[0].length, 6);
    assert.ok(model.summary);
    assert.equal(model.summary.steps, 5);
    assert.deepEqual(model.errors, []);
    assert.equal(model.streamProblems.count, 0);
    // The model is plain data: it survives JSON (postMessage, report.html).
    assert.deepEqual(JSON.parse(JSON.stringify(model)), model);
  });

  test('a truncated last line (a killed run) is reported and the rest kept', async () => {
    const cut = path.join(tmp, 'cut');
    mkdirSync(cut);
    const text = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8');
    const lines = text.trimEnd().split('\n');
    // Drop the summary and cut the last step line in half.
    const kept = lines.slice(0, -1);
    const last = kept.pop()!;
    writeFileSync(path.join(cut, 'events.jsonl'), kept.join('\n') + '\n' + last.slice(0, last.length >> 1));
    const { model } = await loadRun(cut);
    assert.equal(model.status, 'incomplete');
    assert.equal(model.summary, null);
    assert.equal(model.streamProblems.count, 1);
    assert.match(model.streamProblems.messages[0], /truncated/);
    assert.ok(model.steps.step.length >= 3);
  });

  test('lists runs newest first and matches them to their config', async () => {
    const older = path.join(runsFolder, '20250101-000000-tiny-gpt');
    mkdirSync(older);
    writeFileSync(path.join(older, 'events.jsonl'), '');
    mkdirSync(path.join(runsFolder, 'not-a-run'));
    // Links lead out of the runs folder: a linked run folder, a linked stream.
    symlinkSync(older, path.join(runsFolder, '20270101-000000-linked'));
    const linkedStream = path.join(runsFolder, '20270102-000000-linked-stream');
    mkdirSync(linkedStream);
    symlinkSync(path.join(older, 'events.jsonl'), path.join(linkedStream, 'events.jsonl'));
    const runs = await listRuns(runsFolder);
    assert.deepEqual(
      runs.map((r) => r.id),
      ['20260101-000000-tiny-gpt', '20250101-000000-tiny-gpt'],
    );
    assert.ok(runs[0].run);
    // The trainer ran with the absolute path; the empty stream has no record.
    assert.equal(runUsesConfig(runs[0], config, root), true);
    assert.equal(runUsesConfig(runs[0], path.join(root, 'examples', 'bench-gpt.train'), root), false);
    assert.equal(runUsesConfig(runs[1], config, root), false);
  });

  test('a missing runs folder is no runs; a missing stream is an error', async () => {
    assert.deepEqual(await listRuns(path.join(tmp, 'nope')), []);
    await assert.rejects(loadRun(path.join(tmp, 'nope')), /ENOENT/);
  });
});
