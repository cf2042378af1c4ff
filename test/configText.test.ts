// Finding keys and sections in .train text (hovers, reveal from the Layers view).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkpointBlocks, findKeyLine, findSectionLine, focusAt, keyAt, lineForLayer, sectionAt } from '../extension/config/configText';
import { splitLines } from '../extension/native/positions';

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

describe('configText', () => {
  const lines = splitLines(text);

  test('sections and keys', () => {
    assert.equal(sectionAt(lines, 0), undefined);
    assert.equal(sectionAt(lines, 3), 'model');
    assert.equal(sectionAt(lines, 7), 'train');
    assert.equal(sectionAt(lines, 9), 'model');
    assert.deepEqual(keyAt(lines, 2), { section: 'model', key: 'vocab', start: 2, end: 7 });
    assert.equal(keyAt(lines, 1), undefined);
    assert.equal(keyAt(lines, 0), undefined);
    assert.equal(keyAt(lines, 4), undefined);
  });

  test('finding lines', () => {
    assert.equal(findSectionLine(text, 'train'), 5);
    assert.equal(findKeyLine(text, 'model', 'layers'), 3);
    assert.equal(findKeyLine(text, 'model', 'width'), 9);
    assert.equal(findKeyLine(text, 'train', 'layers'), undefined);
  });

  test('the line to reveal for a layer', () => {
    assert.equal(lineForLayer(text, 'block.3'), 3);
    assert.equal(lineForLayer(text, 'embed'), 2);
    assert.equal(lineForLayer(text, 'head'), 1);
    assert.equal(lineForLayer('[train]\nsteps 1\n', 'block.0'), 0);
    assert.equal(lineForLayer('[train]\n[model]\n', 'block.0'), 1);
  });

  test('checkpoint layer lists', () => {
    assert.deepEqual(checkpointBlocks('layers 0-3,5'), [0, 1, 2, 3, 5]);
    assert.deepEqual(checkpointBlocks('layers 2'), [2]);
    assert.deepEqual(checkpointBlocks('  layers 1 - 2 , 4 '), [1, 2, 4]);
    for (const other of ['sqrt', 'every 2', 'budget 1GB', 'none', 'layers', 'layers 3-1', 'layers a-b', 'layers 1,,2']) {
      assert.equal(checkpointBlocks(other), undefined, other);
    }
  });

  test('what the line under the cursor refers to', () => {
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
    const lines = splitLines(config);
    const run = { names: ['embed', 'block.0', 'block.1', 'block.2', 'block.3', 'head'], checkpointed: [1, 2] };
    assert.deepEqual(focusAt(lines, 0, run), { key: 'model', layers: [] });
    assert.deepEqual(focusAt(lines, 1, run), { key: 'model.layers', layers: [1, 2, 3, 4] });
    assert.deepEqual(focusAt(lines, 2, run), { key: 'model.vocab', layers: [0, 5] });
    assert.deepEqual(focusAt(lines, 3, run), { key: 'model.context', layers: [0, 1, 2, 3, 4, 5] });
    assert.equal(focusAt(lines, 4, run), undefined, 'blank line');
    assert.equal(focusAt(lines, 6, run), undefined, 'comment line');
    // The list in the text, not the run's plan (the config may have changed since).
    assert.deepEqual(focusAt(lines, 7, run), { key: 'train.checkpoint', layers: [1, 2, 4] });
    assert.deepEqual(focusAt(lines, 8, run), { key: 'train.precision', layers: [] });
    assert.deepEqual(focusAt(lines, 9, run), { key: 'train.batch', layers: [0, 1, 2, 3, 4, 5] });
    // sqrt, every K, budget: the blocks the run checkpointed; none: no layer.
    const other = (value: string) => focusAt(splitLines(`[train]\ncheckpoint ${value}\n`), 1, run);
    assert.deepEqual(other('sqrt'), { key: 'train.checkpoint', layers: [1, 2] });
    assert.deepEqual(other('budget 1GB'), { key: 'train.checkpoint', layers: [1, 2] });
    assert.deepEqual(other('none'), { key: 'train.checkpoint', layers: [] });
    // Blocks the run does not have are left out.
    assert.deepEqual(other('layers 3-9'), { key: 'train.checkpoint', layers: [4] });
    assert.equal(focusAt(splitLines('steps 3\n'), 0, run), undefined, 'a key before any section');
  });
});
