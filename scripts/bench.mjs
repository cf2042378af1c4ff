// npm run bench: the benchmarks, each a section module under bench/, run in
// turn. A section prints a table on stdout and leaves its numbers as JSON in
// out/bench/<id>.json (for the README and other tools).
//
//   npm run bench [-- --only cpu,...] [--rounds N] [--list]
//
// A section module exports:
//   id       short name, also its JSON file's name
//   title    one line
//   targets  the native build targets it needs (optional)
//   run(ctx) async; returns { table: string, json: object }
// with ctx = { root, buildDir, trainerPath, outDir, options, log }.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  buildDir, buildNative, ensureNodeModules, ensureSystemPackages, root, trainerPath,
} from './lib.mjs';

// In the order they run. Add distributed, checkpointing, ingest, ... here.
const SECTIONS = ['cpu', 'optimisations', 'distributed', 'extension'];

function parseArgs(argv) {
  const opts = { only: null, rounds: undefined, list: false };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--only') opts.only = value().split(',').filter(Boolean);
    else if (a.startsWith('--only=')) opts.only = a.slice(7).split(',').filter(Boolean);
    else if (a === '--rounds') opts.rounds = Number(value());
    else if (a.startsWith('--rounds=')) opts.rounds = Number(a.slice(9));
    else if (a === '--list') opts.list = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option '${a}'`);
  }
  if (opts.rounds !== undefined && !(Number.isInteger(opts.rounds) && opts.rounds >= 1)) {
    usage('--rounds needs a whole number of 1 or more');
  }
  return opts;
}

function usage(error) {
  const text = `usage: npm run bench [-- --only ${SECTIONS.join(',')}] [--rounds N] [--list]\n`;
  if (error) {
    process.stderr.write(`bench: ${error}\n${text}`);
    process.exit(2);
  }
  process.stdout.write(text);
  process.exit(0);
}

// PyTorch (python3-torch) is what some sections compare against: install it
// when we may, but its absence only drops those comparisons.
function ensureOptionalPackages() {
  if (!(process.getuid && process.getuid() === 0)) return;
  try {
    ensureSystemPackages(['bench']);
  } catch (e) {
    console.error(`bench: could not install python3-torch (${e.message}); comparisons with PyTorch are skipped`);
  }
}

const opts = parseArgs(process.argv.slice(2));
const modules = [];
for (const name of SECTIONS) {
  const mod = await import(pathToFileURL(path.join(root, 'bench', `${name}.mjs`)).href);
  modules.push(mod);
}
if (opts.list) {
  for (const m of modules) console.log(`${m.id.padEnd(14)}${m.title}`);
  process.exit(0);
}
const unknown = (opts.only ?? []).filter((id) => !modules.some((m) => m.id === id));
if (unknown.length) usage(`no section ${unknown.join(', ')} (have ${modules.map((m) => m.id).join(', ')})`);
const selected = modules.filter((m) => !opts.only || opts.only.includes(m.id));

ensureSystemPackages(['core', 'mpi']);
ensureOptionalPackages();
ensureNodeModules();
const wanted = [...new Set(selected.flatMap((m) => m.targets ?? []))];
if (wanted.length) for (const target of wanted) buildNative({ target });
else buildNative();

const outDir = path.join(root, 'out', 'bench');
mkdirSync(outDir, { recursive: true });
const ctx = {
  root,
  buildDir,
  trainerPath,
  outDir,
  options: { rounds: opts.rounds },
  log: (msg) => process.stderr.write(`bench: ${msg}\n`),
};

let failed = 0;
for (const section of selected) {
  const t0 = Date.now();
  try {
    const { table, json } = await section.run(ctx);
    const file = path.join(outDir, `${section.id}.json`);
    writeFileSync(file, JSON.stringify({ section: section.id, time: new Date().toISOString(), ...json }, null, 2) + '\n');
    console.log(`\n${table}\n  (${((Date.now() - t0) / 1e3).toFixed(0)} s; ${path.relative(root, file)})`);
  } catch (e) {
    failed++;
    console.error(`\nbench: section ${section.id} failed: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
