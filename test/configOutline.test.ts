// Where keys and sections are in .train text (hovers, edits, reveal from
// the Layers view, the panel's cursor highlight): the queries over an
// outline; the lexer that must give the parser's own outline; and one
// analysis per document version.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { AnalysisCache, type ConfigText } from '../extension/config/analysis';
import { outlineOf } from '../extension/config/lexer';
import { findKeyLine, findSectionLine, focusAt, keyAt, lineForLayer, plannedBlocks, sectionAt } from '../extension/config/outline';
import { configInsights } from '../extension/config/suggestions';
import { ADDON_RELATIVE_PATH, loadNative, type TrainScopeNative } from '../extension/native/addon';
import { splitLines } from '../extension/native/positions';
import { root } from './support/trainer';

const haveAddon = existsSync(path.join(root, ADDON_RELATIVE_PATH));
const NO_ADDON = `no addon at ${ADDON_RELATIVE_PATH} (npm run build)`;
const native = (): TrainScopeNative => loadNative({ extensionRoot: root });

const text = `# comment
[model]
  vocab 64   # tokens
layers 4

[train]   # the loop
steps 300
lr 3e-3
[model]
width 128
`;

describe('the outline', () => {
  const outline = outlineOf(text);

  test('sections and keys', () => {
    assert.equal(sectionAt(outline, 0), undefined);
    assert.equal(sectionAt(outline, 3), 'model');
    assert.equal(sectionAt(outline, 7), 'train');
    assert.equal(sectionAt(outline, 9), 'model');
    const k = keyAt(outline, 2);
    assert.deepEqual(k && { section: k.section, key: k.key, start: k.start, end: k.end }, { section: 'model', key: 'vocab', start: 2, end: 7 });
    assert.equal(keyAt(outline, 1), undefined);
    assert.equal(keyAt(outline, 0), undefined);
    assert.equal(keyAt(outline, 4), undefined);
  });

  test('finding lines', () => {
    assert.equal(findSectionLine(outline, 'train'), 5);
    assert.equal(findKeyLine(outline, 'model', 'layers'), 3);
    assert.equal(findKeyLine(outline, 'model', 'width'), 9);
    assert.equal(findKeyLine(outline, 'train', 'layers'), undefined);
  });

  test('the line to reveal for a layer', () => {
    assert.equal(lineForLayer(outline, 'block.3'), 3);
    assert.equal(lineForLayer(outline, 'embed'), 2);
    assert.equal(lineForLayer(outline, 'head'), 1);
    assert.equal(lineForLayer(outlineOf('[train]\nsteps 1\n'), 'block.0'), 0);
    assert.equal(lineForLayer(outlineOf('[train]\n[model]\n'), 'block.0'), 1);
  });

  // Every config the tests know, odd ones included: the lexer reads lines
  // exactly as the parser does, so the editor works the same without the addon.
  test('the lexer gives the parser\'s outline', { skip: haveAddon ? false : NO_ADDON }, () => {
    const dirs = ['examples', 'test/fixtures/configs', 'test/fixtures/bad-configs', 'test/grammar'];
    const texts: [string, string][] = [
      ['inline', text],
      ['unicode', '\uFEFF[data]\r\ntext "données/é→😀.txt"   # é\r\n  [ train ]  \n\tsteps\t 5 #x\nlr=1\n[mod\nbatch "a #b" # c\n'],
    ];
    for (const dir of dirs) {
      if (!existsSync(path.join(root, dir))) continue;
      for (const f of readdirSync(path.join(root, dir)).filter((x) => x.endsWith('.train'))) {
        texts.push([`${dir}/${f}`, readFileSync(path.join(root, dir, f), 'utf8')]);
      }
    }
    assert.ok(texts.length > 40, `${texts.length} configs`);
    for (const [name, t] of texts) {
      for (const variant of [t, t.replace(/\r?\n/g, '\r\n')]) {
        assert.deepEqual(outlineOf(variant), native().analyze(variant, name).outline, name);
      }
    }
  });
});

describe('what the line under the cursor refers to', { skip: haveAddon ? false : NO_ADDON }, () => {
  const run = { names: ['embed', 'block.0', 'block.1', 'block.2', 'block.3', 'head'], checkpointed: [1, 2] };
  const focus = (config: string, line: number) => {
    const a = native().analyze(config, 'f.train');
    return focusAt(a.outline, splitLines(config)[line], line, run, plannedBlocks(a.plan));
  };

  test('keys, headers, the checkpoint list', () => {
    const config = `[model]
layers 4
vocab 64   # tokens
context 32

[train]
# comment
checkpoint layers 0-1,3   # two segments
precision bf16
batch 8
`;
    assert.deepEqual(focus(config, 0), { key: 'model', layers: [] });
    assert.deepEqual(focus(config, 1), { key: 'model.layers', layers: [1, 2, 3, 4] });
    assert.deepEqual(focus(config, 2), { key: 'model.vocab', layers: [0, 5] });
    assert.deepEqual(focus(config, 3), { key: 'model.context', layers: [0, 1, 2, 3, 4, 5] });
    assert.equal(focus(config, 4), undefined, 'blank line');
    assert.equal(focus(config, 6), undefined, 'comment line');
    // The list in the text, not the run's plan (the config may have changed since).
    assert.deepEqual(focus(config, 7), { key: 'train.checkpoint', layers: [1, 2, 4] });
    assert.deepEqual(focus(config, 8), { key: 'train.precision', layers: [] });
    assert.deepEqual(focus(config, 9), { key: 'train.batch', layers: [0, 1, 2, 3, 4, 5] });
    // sqrt, every K, budget: the blocks the run checkpointed; none: no layer.
    const other = (value: string) => focus(`[train]\ncheckpoint ${value}\n`, 1);
    assert.deepEqual(other('sqrt'), { key: 'train.checkpoint', layers: [1, 2] });
    assert.deepEqual(other('budget 1GB'), { key: 'train.checkpoint', layers: [1, 2] });
    assert.deepEqual(other('none'), { key: 'train.checkpoint', layers: [] });
    // Blocks the run does not have are left out.
    assert.deepEqual(focus('[model]\nlayers 10\n[train]\ncheckpoint layers 3-9\n', 3), { key: 'train.checkpoint', layers: [4] });
    assert.equal(focus('steps 3\n', 0), undefined, 'a key before any section');
  });

  // What the parser makes of a `checkpoint layers` list: its blocks, or an
  // error (then no plan, and no blocks to name).
  test('checkpoint layer lists', () => {
    const blocks = (value: string) => plannedBlocks(native().analyze(`[model]\nlayers 6\n[train]\ncheckpoint ${value}\n`, 'l.train').plan);
    assert.deepEqual(blocks('layers 0-3,5'), [0, 1, 2, 3, 5]);
    assert.deepEqual(blocks('layers 2'), [2]);
    for (const bad of ['layers', 'layers 3-1', 'layers a-b', 'layers 1,,2']) assert.equal(blocks(bad), undefined, bad);
  });
});

// A code-action request, a hover and the diagnostics on one version of the
// example config: one addon call. An edit (a new version) or another
// memory budget: one more.
test('one analysis per document version', { skip: haveAddon ? false : NO_ADDON }, async () => {
  let calls = 0;
  const counting: Pick<TrainScopeNative, 'analyzeAsync'> = {
    analyzeAsync: (...args) => {
      calls++;
      return native().analyzeAsync(...args);
    },
  };
  const cache = new AnalysisCache(() => counting);
  let body = readFileSync(path.join(root, 'examples', 'tiny-gpt.train'), 'utf8');
  const doc: ConfigText & { version: number } = { key: 'file:///tiny-gpt.train', version: 1, fileName: 'tiny-gpt.train', getText: () => body };
  const budget = 40e6;
  assert.equal(cache.peek(doc, budget), undefined, 'nothing made yet');
  // Diagnostics, then the code-action request (its insights), then hovers.
  const diagnostics = (await cache.get(doc, budget))?.diagnostics;
  const actions = configInsights({ text: body, analysis: (await cache.get(doc, budget))!, budgetBytes: budget }).actions;
  const hover = (await cache.get(doc, budget))?.plan?.precisions;
  assert.deepEqual(diagnostics, []);
  assert.ok(actions.some((a) => a.id === 'budget' && a.fitsBudget));
  assert.ok(hover && hover.length === 3);
  assert.equal(cache.peek(doc, budget)?.plan?.precisions.length, 3, 'the cursor reads the made analysis without a call');
  assert.equal(calls, 1);
  body = body.replace('batch 16', 'batch 8');
  doc.version = 2;
  assert.equal(cache.peek(doc, budget), undefined, 'an edit makes the old analysis stale');
  assert.equal((await cache.get(doc, budget))?.config?.train.batch, 8);
  await cache.get(doc, budget);
  assert.equal(calls, 2);
  await cache.get(doc, null);
  assert.equal(calls, 3);
  cache.delete(doc.key);
  await cache.get(doc, null);
  assert.equal(calls, 4);
});

// Typing: versions asked for while one is being planned give way to the
// newest; the editor gets the analysis of the text as it is.
test('a burst of versions plans the first and the last, not each', { skip: haveAddon ? false : NO_ADDON }, async () => {
  const texts: string[] = [];
  const counting: Pick<TrainScopeNative, 'analyzeAsync'> = {
    analyzeAsync: (text, ...rest) => {
      texts.push(text);
      return native().analyzeAsync(text, ...rest);
    },
  };
  const cache = new AnalysisCache(() => counting);
  let body = '';
  const doc: ConfigText & { version: number } = { key: 'file:///burst.train', version: 0, fileName: 'burst.train', getText: () => body };
  const results: Promise<unknown>[] = [];
  const ask = (steps: number) => {
    body = `[train]\nsteps ${steps}\n`;
    doc.version = steps;
    results.push(cache.get(doc, null).then((a) => a?.config?.train.steps));
  };
  ask(1);
  // Version 1 is on the worker pool by now; 2 to 5 come while it runs.
  await new Promise((r) => setImmediate(r));
  assert.equal(texts.length, 1);
  for (let steps = 2; steps <= 5; steps++) ask(steps);
  assert.deepEqual(await Promise.all(results), [1, undefined, undefined, undefined, 5]);
  assert.deepEqual(texts, ['[train]\nsteps 1\n', '[train]\nsteps 5\n']);
});
