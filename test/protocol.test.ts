// The webview protocol's guards: what each side accepts from the other.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptyModel } from '../common/runModel';
import { RunModelBuilder } from '../extension/runs/runModelBuilder';
import { isHostMessage, isPanelRestore, isRunModel, isWebviewMessage, MAX_COMPARE_RUNS } from '../common/protocol';
import { matchesFocus } from '../webview/state';

describe('messages from the webview', () => {
  test('accepted', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'resync' },
      { type: 'revealLayer', index: 3, name: 'block.2' },
      { type: 'action', action: 'stop' },
      { type: 'action', action: 'exportTrace' },
      { type: 'action', action: 'openRunFolder' },
    ]) {
      assert.equal(isWebviewMessage(m), true, JSON.stringify(m));
    }
  });

  test('rejected', () => {
    for (const m of [
      null,
      'ready',
      [],
      {},
      { type: 'eval' },
      { type: 'revealLayer', index: -1, name: 'x' },
      { type: 'revealLayer', index: 1.5, name: 'x' },
      { type: 'revealLayer', index: 1 },
      { type: 'revealLayer', index: 1, name: 'x'.repeat(300) },
      { type: 'action', action: 'rm -rf' },
      { type: 'action' },
    ]) {
      assert.equal(isWebviewMessage(m), false, JSON.stringify(m));
    }
  });
});

describe('messages from the host', () => {
  const model = () => {
    const b = new RunModelBuilder('r', { live: true });
    b.add([
      {
        type: 'step',
        step: 1,
        loss: 1,
        lr: 0.1,
        grad_norm: null,
        ms: 1,
        tokens_per_s: 1,
        phases: { data: 0, fwd: 1, bwd: 1, optim: 1 },
        mem: { live_bytes: 1, peak_bytes: 1 },
      },
    ]);
    return b;
  };

  test('init, delta and settings are accepted', () => {
    const b = model();
    assert.equal(isHostMessage({ type: 'init', model: b.model, compare: [emptyModel('c')], settings: { budgetBytes: null } }), true);
    const c = { ...b.cursor(), steps: 0 };
    assert.equal(isHostMessage({ type: 'delta', delta: b.delta(c) }), true);
    assert.equal(isHostMessage({ type: 'settings', settings: { budgetBytes: 1e9 } }), true);
  });

  test('malformed models are rejected', () => {
    const good = model().model;
    const bad = (patch: (m: Record<string, unknown>) => void) => {
      const m = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
      patch(m);
      return m;
    };
    assert.equal(isRunModel(good), true);
    assert.equal(isRunModel(bad((m) => (m.status = 'exploded'))), false);
    assert.equal(isRunModel(bad((m) => ((m.steps as { loss: unknown[] }).loss = []))), false, 'columns of unequal length');
    assert.equal(isRunModel(bad((m) => ((m.steps as { ms: unknown[] }).ms = ['1']))), false);
    assert.equal(isRunModel(bad((m) => (m.run = { type: 'summary' }))), false);
    assert.equal(isRunModel(bad((m) => delete m.layerTime)), false);
    assert.equal(isHostMessage({ type: 'settings', settings: { budgetBytes: -1 } }), false);
    assert.equal(isHostMessage({ type: 'init', model: good, settings: { budgetBytes: null } }), false, 'no compare list');
    assert.equal(isHostMessage({ type: 'delta', delta: { id: 'r', status: 'live', steps: { from: 0, columns: {} } } }), false);
  });

  test('init may carry the run folders to restore the panel with', () => {
    const b = model();
    const init = (restore: unknown) => ({ type: 'init', model: b.model, compare: [], settings: { budgetBytes: null }, restore });
    assert.equal(isHostMessage(init({ dir: '/runs/a', compare: ['/runs/b'] })), true);
    assert.equal(isHostMessage(init(undefined)), true);
    for (const bad of [{ dir: '' , compare: [] }, { dir: '/runs/a' }, { dir: 3, compare: [] }, { dir: '/a', compare: [1] }, 'x']) {
      assert.equal(isHostMessage(init(bad)), false, JSON.stringify(bad));
      assert.equal(isPanelRestore(bad), false);
    }
  });

  test('a restore state is bounded: path lengths, compared runs, no NUL', () => {
    const runs = (n: number) => Array.from({ length: n }, (_, i) => `/runs/r${i}`);
    assert.equal(isPanelRestore({ dir: '/runs/a', compare: runs(MAX_COMPARE_RUNS) }), true);
    assert.equal(isPanelRestore({ dir: '/runs/a', compare: runs(MAX_COMPARE_RUNS + 1) }), false, 'too many compared runs');
    assert.equal(isPanelRestore({ dir: '/runs/a', compare: runs(1_000_000) }), false);
    assert.equal(isPanelRestore({ dir: '/' + 'a'.repeat(4095), compare: [] }), true);
    assert.equal(isPanelRestore({ dir: '/' + 'a'.repeat(4096), compare: [] }), false, 'longer than PATH_MAX');
    assert.equal(isPanelRestore({ dir: '/runs/a', compare: ['/' + 'b'.repeat(1 << 20)] }), false);
    assert.equal(isPanelRestore({ dir: '/runs/a\0/etc', compare: [] }), false);
    assert.equal(isPanelRestore({ dir: '/runs/a', compare: [''] }), false, 'an empty compared path');
  });

  test('focus: a config key and layer indices, or null', () => {
    assert.equal(isHostMessage({ type: 'focus', focus: { key: 'train.checkpoint', layers: [1, 2] } }), true);
    assert.equal(isHostMessage({ type: 'focus', focus: { key: 'model', layers: [] } }), true);
    assert.equal(isHostMessage({ type: 'focus', focus: null }), true);
    for (const focus of [
      undefined,
      { key: 'train.checkpoint' },
      { key: 'train.checkpoint', layers: [-1] },
      { key: 'train.checkpoint', layers: [1.5] },
      { key: 'train.checkpoint', layers: ['1'] },
      { key: '"] *', layers: [] },
      { key: 'a.b.c', layers: [] },
      { key: 7, layers: [] },
    ]) {
      assert.equal(isHostMessage({ type: 'focus', focus }), false, JSON.stringify(focus));
    }
  });

  test('a focus matches the elements that show its key, its section or its layers', () => {
    const f = { key: 'train.checkpoint', layers: [2] };
    assert.equal(matchesFocus(f, 'train.precision train.checkpoint', undefined), true);
    assert.equal(matchesFocus(f, 'train.precision', undefined), false);
    assert.equal(matchesFocus(f, 'train.checkpoints', undefined), false);
    assert.equal(matchesFocus(f, undefined, '2'), true);
    assert.equal(matchesFocus(f, undefined, '3'), false);
    assert.equal(matchesFocus(f, undefined, undefined), false);
    const section = { key: 'train', layers: [] };
    assert.equal(matchesFocus(section, 'model.layers train.batch', undefined), true);
    assert.equal(matchesFocus(section, 'model.layers trainer.x', undefined), false);
  });

  test('a timeline arrives packed; columns of the wrong length or alphabet are rejected', () => {
    const b = new RunModelBuilder('dp');
    b.add([
      { type: 'run', schema: 1, ranks: 2, config: { train: {} }, layers: ['l'], predicted: {} } as unknown as Parameters<RunModelBuilder['add']>[0][number],
      { type: 'span', rank: 0, step: 1, layer: 0, name: 'l', phase: 'bwd', t0: 0, t1: 10 },
      { type: 'comm', rank: 1, step: 1, op: 'allreduce', bucket: 0, bytes: 64, t0: 5, t1: 20, algbw: 1, busbw: 1 },
    ]);
    const wire = () => JSON.parse(JSON.stringify(b.model)) as { timeline: { samples: { bars: { n: number; columns: Record<string, string> } }[] } };
    assert.equal(isRunModel(wire()), true);
    const short = wire();
    short.timeline.samples[0].bars.n = 3;
    assert.equal(isRunModel(short), false, 'n does not match the columns');
    const garbled = wire();
    const t0 = garbled.timeline.samples[0].bars.columns.t0;
    garbled.timeline.samples[0].bars.columns.t0 = '<' + t0.slice(1);
    assert.equal(isRunModel(garbled), false, 'not base64');
    const missing = wire();
    delete missing.timeline.samples[0].bars.columns.busbw;
    assert.equal(isRunModel(missing), false, 'a column missing');
  });
});
