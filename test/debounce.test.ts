import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedDebouncer } from '../extension/config/debounce';

test('a burst on one key runs once, after the last call', async () => {
  const d = new KeyedDebouncer();
  const runs: number[] = [];
  for (let i = 0; i < 5; ++i) d.schedule('a', 20, () => runs.push(i));
  await sleep(60);
  assert.deepEqual(runs, [4]);
  d.dispose();
});

test('keys are independent; cancel and dispose stop pending runs', async () => {
  const d = new KeyedDebouncer();
  const runs: string[] = [];
  d.schedule('a', 10, () => runs.push('a'));
  d.schedule('b', 10, () => runs.push('b'));
  d.schedule('c', 10, () => runs.push('c'));
  d.cancel('b');
  await sleep(40);
  assert.deepEqual(runs.sort(), ['a', 'c']);
  d.schedule('d', 10, () => runs.push('d'));
  d.dispose();
  await sleep(30);
  assert.deepEqual(runs.sort(), ['a', 'c']);
});
