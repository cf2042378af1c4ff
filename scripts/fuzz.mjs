// npm run fuzz: the fuzz campaigns of issue 11, one after another.
//
//   native: each libFuzzer target in native/fuzz/ (built in native/build-fuzz
//   by clang, the whole core under ASan + UBSan), seeded from the inputs
//   users write (examples/, the fixture configs, the bad-config table, the
//   grammar samples) and from native/fuzz/corpus/<target>/, where every
//   input that crashed is kept (libFuzzer writes it there: commit it with
//   the fix, and it is a seed from then on).
//   js: the property-based fuzz tests (test/*Fuzz.test.ts, fast-check).
//
// Options: --seconds N per native target (default 300), --runs N per JS
// property (default 20000), --only native|js. CI runs `--seconds 30 --runs 2000`.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTypeScript, ensureNodeModules, ensureSystemPackages, root, run } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const v = args[i + 1];
  if (v === undefined) throw new Error(`npm run fuzz: --${name} needs a value`);
  return v;
};
const seconds = Number(option('seconds', '300'));
const runs = Number(option('runs', '20000'));
const only = option('only', '');
if (!(seconds > 0) || !(runs > 0) || !['', 'native', 'js'].includes(only)) {
  console.error('usage: npm run fuzz -- [--seconds N] [--runs N] [--only native|js]');
  process.exit(2);
}

// What each native target reads, besides its own corpus folder.
const seeds = {
  fuzz_config: ['examples', 'test/fixtures/configs', 'test/fixtures/bad-configs', 'test/grammar'],
  fuzz_data: [],
  // Its custom mutator starts from the valid snapshot the target writes.
  fuzz_snapshot: [],
};

const buildDir = path.join(root, 'native', 'build-fuzz');
const results = [];

if (only !== 'js') {
  ensureSystemPackages(['core', 'fuzz']);
  run('cmake', ['-S', 'native', '-B', buildDir, '-DCMAKE_CXX_COMPILER=clang++', '-DTRAINSCOPE_FUZZ=ON',
    '-DTRAINSCOPE_USE_CUDA=OFF', '-DTRAINSCOPE_USE_MPI=OFF', '-DCMAKE_BUILD_TYPE=RelWithDebInfo']);
  const targets = Object.keys(seeds);
  run('cmake', ['--build', buildDir, '-j', String(Math.min(8, os.availableParallelism())), '--target', ...targets]);
  for (const target of targets) {
    const corpus = path.join(root, 'native', 'fuzz', 'corpus', target);
    mkdirSync(corpus, { recursive: true });
    // New coverage goes to a scratch folder (the first one libFuzzer is
    // given); crashes go to the corpus folder in the repository. The files
    // a target writes for readers that take a path go to a second one,
    // removed here however the target ends.
    const scratch = mkdtempSync(path.join(os.tmpdir(), `trainscope-${target}-`));
    const files = mkdtempSync(path.join(os.tmpdir(), `trainscope-${target}-files-`));
    const started = Date.now();
    let ok = true;
    try {
      run(path.join(buildDir, target), [
        `-max_total_time=${seconds}`, '-timeout=10', '-rss_limit_mb=2048', '-max_len=8192', '-print_final_stats=1',
        `-artifact_prefix=${corpus}${path.sep}`, scratch, corpus, ...seeds[target].map((d) => path.join(root, d)),
      ], { env: { ...process.env, TRAINSCOPE_FUZZ_SCRATCH: files } });
    } catch (e) {
      ok = false;
      console.error(`${target}: ${e.message}; the input is in ${path.relative(root, corpus)}/`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      rmSync(files, { recursive: true, force: true });
    }
    results.push({ name: target, ok, s: (Date.now() - started) / 1000 });
  }
}

if (only !== 'native') {
  ensureNodeModules();
  await buildTypeScript();
  const tests = readdirSync(path.join(root, 'out', 'test')).filter((f) => /Fuzz\.test\.mjs$/.test(f));
  for (const t of tests) {
    const started = Date.now();
    let ok = true;
    try {
      run(process.execPath, ['--test', path.join('out', 'test', t)], { env: { ...process.env, FUZZ_RUNS: String(runs) } });
    } catch (e) {
      ok = false;
      console.error(e.message);
    }
    results.push({ name: `${t.replace(/\.test\.mjs$/, '')} (${runs} runs/property)`, ok, s: (Date.now() - started) / 1000 });
  }
}

console.log('\n=== fuzz summary ===');
for (const r of results) console.log(`${r.ok ? 'pass' : 'FAIL'}  ${r.name.padEnd(44)} ${r.s.toFixed(1)} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
