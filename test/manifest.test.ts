// package.json against the code: every command in the table is contributed
// with its title and category, the settings exist with the scopes that keep
// a workspace from choosing the programs run, and Restricted Mode is declared.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { COMMAND_CATEGORY, COMMANDS, EXECUTABLE_SETTINGS, PANEL_TYPE } from '../extension/commandIds';
import { root } from './support/trainer';

interface Manifest {
  main: string;
  activationEvents: string[];
  contributes: {
    commands: Array<{ command: string; title: string; category: string }>;
    configuration: { properties: Record<string, { scope?: string; default?: unknown; type: string }> };
    languages: Array<{ id: string }>;
    grammars: unknown[];
  };
  capabilities: { untrustedWorkspaces: { supported: string | boolean; restrictedConfigurations: string[] } };
  dependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;

describe('package.json', () => {
  test('commands match the command table', () => {
    const contributed = new Map(pkg.contributes.commands.map((c) => [c.command, c]));
    for (const { id, title } of Object.values(COMMANDS)) {
      const c = contributed.get(id);
      assert.ok(c, `${id} is not contributed`);
      assert.equal(c.title, title);
      assert.equal(c.category, COMMAND_CATEGORY);
    }
    assert.equal(contributed.size, Object.keys(COMMANDS).length);
  });

  test('settings', () => {
    const p = pkg.contributes.configuration.properties;
    for (const k of ['trainerPath', 'mpirunPath', 'mpirunArgs', 'runsFolder', 'defaultRanks', 'memoryBudget']) {
      assert.ok(p[`trainscope.${k}`], `trainscope.${k} missing`);
    }
    // "machine", not "machine-overridable": a workspace must not override them.
    for (const k of EXECUTABLE_SETTINGS) assert.equal(p[`trainscope.${k}`].scope, 'machine', `trainscope.${k}`);
    assert.equal(p['trainscope.runsFolder'].default, '.trainscope/runs');
  });

  test('restricted mode and activation', () => {
    const u = pkg.capabilities.untrustedWorkspaces;
    assert.equal(u.supported, 'limited');
    assert.deepEqual([...u.restrictedConfigurations].sort(), EXECUTABLE_SETTINGS.map((k) => `trainscope.${k}`).sort());
    assert.ok(pkg.activationEvents.includes('onLanguage:trainscope'));
    // The profile panel comes back after a window reload.
    assert.ok(pkg.activationEvents.includes(`onWebviewPanel:${PANEL_TYPE}`));
    assert.equal(pkg.main, './out/extension.js');
    assert.ok(pkg.contributes.languages.some((l) => l.id === 'trainscope'));
    assert.ok(pkg.contributes.grammars.length > 0);
    assert.ok(pkg.dependencies['chart.js']);
    assert.ok(pkg.dependencies['@vscode/webview-ui-toolkit']);
  });
});
