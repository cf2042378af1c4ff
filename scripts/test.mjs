// npm test: every test of the project. Installs and builds what is missing,
// then runs the native tests (CTest), the Node tests, the grammar tests and
// the type check, and reports each suite; exits non-zero if any failed.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildDir, buildNative, buildTypeScript, ensureNodeModules, ensureSystemPackages, root, run } from './lib.mjs';

// 'browser': the node suite's test/webview.test.ts and the e2e suite run Chromium.
ensureSystemPackages(['core', 'mpi', 'browser']);
ensureNodeModules();
buildNative();
await buildTypeScript();

const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const suites = [
  // The GPU tests (label gpu) need a GPU: npm run test:gpu.
  ['native (ctest)', 'ctest', ['--test-dir', buildDir, '--output-on-failure', '-LE', 'gpu']],
  ['node', process.execPath, ['--test', '--test-reporter=spec', 'out/test/']],
  ['grammar', bin('vscode-tmgrammar-test'), ['-g', 'syntaxes/trainscope.tmLanguage.json', 'test/grammar/*.train']],
  ['types', bin('tsc'), ['--noEmit', '-p', '.']],
  // Packages the extension, installs it in code-server and drives it in Chromium.
  ['e2e (code-server)', process.execPath, ['scripts/e2e.mjs']],
];
const results = [];
for (const [name, cmd, args] of suites) {
  if (name === 'node' && !existsSync(path.join(root, 'out', 'test'))) continue;
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  let ok = true;
  try {
    run(cmd, args);
  } catch (err) {
    ok = false;
    console.error(err.message);
  }
  results.push({ name, ok, s: (Date.now() - started) / 1000 });
}
console.log('\n=== summary ===');
for (const r of results) console.log(`${r.ok ? 'pass' : 'FAIL'}  ${r.name.padEnd(16)} ${r.s.toFixed(1)} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
