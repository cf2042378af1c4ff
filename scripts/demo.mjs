// npm run demo: build what is missing, train the bundled example on the CPU,
// print the trainer's summary and where the run folder is.
// Extra arguments go to the trainer: npm run demo -- --set train.steps=50
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { buildNative, buildTypeScript, ensureNodeModules, ensureSystemPackages, root, run, trainerPath } from './lib.mjs';

const config = 'examples/tiny-gpt.train';

ensureSystemPackages(['core']);
ensureNodeModules();
buildNative({ target: 'trainscope-train' });
await buildTypeScript();

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
const runDir = path.join(root, '.trainscope', 'runs', `${stamp}-${path.basename(config, '.train')}`);
try {
  // The trainer makes the folder once the config is good.
  run(trainerPath, [config, '--out', runDir, ...process.argv.slice(2)]);
  // The panel the extension shows, as a page any browser opens offline.
  run(process.execPath, [path.join(root, 'out', 'report.js'), runDir], { stdio: ['ignore', 'ignore', 'inherit'] });
} catch (err) {
  // A run that failed before writing anything leaves no folder behind.
  if (existsSync(runDir) && readdirSync(runDir).length === 0) rmdirSync(runDir);
  console.error(`trainscope: ${err.message}`);
  process.exit(err.exitCode ?? 1);
}
const rel = path.relative(process.cwd(), runDir) || '.';
console.log(`
Run folder: ${rel}/
  events.jsonl   every record of the run (schema: docs/events.md)
  trace.json     Chrome trace: open it in https://ui.perfetto.dev
  summary.json   the final summary record
  report.html    the TrainScope panel for this run: open it in any browser (no network needed)`);
