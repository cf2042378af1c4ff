// Finding keys and sections in .train text (hovers, reveal from the Layers view).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findKeyLine, findSectionLine, keyAt, lineForLayer, sectionAt } from '../extension/configText';
import { splitLines } from '../extension/native';

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
});
