// Bench section "extension": the editor side, three numbers with targets.
//
//   1. Ingest: 10^6 event records (a real 50-step profiled run of
//      examples/tiny-gpt.train, its step and span records repeated with the
//      steps renumbered) through the extension's own EventStreamParser in
//      64 KiB chunks; then parser + RunModelBuilder on the same chunks; then
//      runStore.loadRun on the file (disk included). Target ≥ 10^6 events/s.
//   2. First render of a 10^5-bar communication timeline: a synthetic 2-rank
//      run (one sampled step, 25 000 spans + 25 000 all-reduces per rank),
//      report.html written by `node out/report.js DIR`, opened in headless
//      Chromium at #communication. Measured from navigation start
//      (performance.timeOrigin) to the end of the first animation-frame
//      callback that painted on the timeline canvas (the view draws it in a
//      requestAnimationFrame after attaching it). Target ≤ 500 ms.
//   3. Activation: out/extension.js loaded in Node with a stub `vscode`
//      module, activate(context) timed with a fake ExtensionContext.
//      Target ≤ 50 ms.
//   4. Analysis of the largest config the parser accepts in depth: 1,024
//      layers with a checkpoint budget and a memory budget, through the
//      addon's analyzeAsync (parse, the planner's every schedule, the
//      budget plan and the whole-run fit: what every edit of a config
//      costs). Target ≤ 100 ms. Before the uniform-chain planner this took
//      7.7 s, and 74 s with budget 1TB (issue 11).
//
// The extension sources (common/events/parse.ts,
// extension/runs/runModelBuilder.ts and runStore.ts) are bundled for Node
// with esbuild into a temporary .mjs: what runs is the extension's code,
// not a copy. So is the synthetic 2-rank run of section 2
// (test/support/timelineRun.ts, which the webview test renders too).
import { spawnSync } from 'node:child_process';
import {
  createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

export const id = 'extension';
export const title = 'Extension: event ingest, 10^5-bar timeline render, activation, 1,024-layer analysis';
export const targets = ['trainscope-train'];

const N_EVENTS = 1_000_000;
const CHUNK = 64 * 1024;
const N_BARS = 100_000;
const TARGET_EPS = 1e6;
const TARGET_RENDER_MS = 500;
const TARGET_ACTIVATE_MS = 50;
const TARGET_ANALYSIS_MS = 100;
const DEEP_CONFIG = '[model]\nvocab 256\ncontext 64\nlayers 1024\nwidth 64\nheads 4\n[train]\nbatch 4\ncheckpoint budget 1GB\n';
const CHROMIUM = process.env.TRAINSCOPE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const verdict = (ok) => (ok ? 'met' : 'MISS');

// ---------------------------------------------------------------- bundling

async function bundleExtensionModules(root, tmp) {
  const require = createRequire(path.join(root, 'package.json'));
  const esbuild = require('esbuild');
  const outfile = path.join(tmp, 'ext-modules.mjs');
  await esbuild.build({
    stdin: {
      contents: [
        "export { EventStreamParser } from './common/events/parse';",
        "export { RunModelBuilder } from './extension/runs/runModelBuilder';",
        "export { loadRun } from './extension/runs/runStore';",
        "export { writeTimelineRun } from './test/support/timelineRun';",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
      sourcefile: 'bench-extension-entry.ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  return import(pathToFileURL(outfile).href);
}

// ---------------------------------------------------------------- 1. ingest

function realRun(ctx, tmp) {
  const dir = path.join(tmp, 'real');
  const args = [
    'examples/tiny-gpt.train', '--out', dir, '--quiet',
    '--set', 'train.steps=50', '--set', 'train.warmup=5', '--set', 'train.profile_every=1',
  ];
  ctx.log(`extension: a real run for the records: ${path.relative(ctx.root, ctx.trainerPath)} ${args.join(' ')}`);
  const r = spawnSync(ctx.trainerPath, args, { cwd: ctx.root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`trainer failed (${r.status}): ${r.stderr.slice(-500)}`);
  return readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
}

// Header records, then step blocks (a step record and its spans, renumbered
// 1, 2, 3, ...), then the summary: N_EVENTS lines in all.
async function writeBigStream(lines, file) {
  const head = [];
  const blocks = new Map();
  const tail = [];
  for (const line of lines) {
    const type = /^\{"type":"(\w+)"/.exec(line)?.[1];
    const step = /"step":(\d+)/.exec(line);
    if ((type === 'step' || type === 'span') && step) {
      const s = Number(step[1]);
      if (!blocks.has(s)) blocks.set(s, []);
      blocks.get(s).push(line.replace(/"step":\d+/, '"step":@STEP@'));
    } else if (type === 'run') {
      // The stream numbers steps on past the real run's 50: its run record
      // says so, or the reader rejects the steps as beyond train.steps.
      const run = JSON.parse(line);
      run.config.train.steps = N_EVENTS;
      head.push(JSON.stringify(run));
    } else if (type === 'layer') head.push(line);
    else tail.push(line); // eval, summary
  }
  const template = [...blocks.keys()].sort((a, b) => a - b).map((s) => blocks.get(s));
  if (!template.length) throw new Error('the real run wrote no step records');
  const budget = N_EVENTS - head.length - tail.length;
  const out = createWriteStream(file);
  const write = (s) => (out.write(s) ? Promise.resolve() : new Promise((r) => out.once('drain', r)));
  await write(head.join('\n') + '\n');
  let written = 0;
  let step = 0;
  let buf = '';
  for (let b = 0; written < budget; b = (b + 1) % template.length) {
    step++;
    const stepText = `"step":${step}`;
    for (const line of template[b]) {
      if (written >= budget) break;
      buf += line.replace('"step":@STEP@', stepText) + '\n';
      written++;
    }
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  buf += tail.join('\n') + '\n';
  await write(buf);
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
  return { lines: head.length + written + tail.length, steps: step };
}

function parseOnly(mod, bytes) {
  const p = new mod.EventStreamParser();
  let n = 0;
  const t0 = performance.now();
  for (let o = 0; o < bytes.length; o += CHUNK) n += p.push(bytes.subarray(o, o + CHUNK)).length;
  n += p.end().length;
  const s = (performance.now() - t0) / 1e3;
  return { events: n, s, errors: p.errorCount };
}

function parseAndBuild(mod, bytes) {
  const p = new mod.EventStreamParser();
  const b = new mod.RunModelBuilder('bench');
  let n = 0;
  const t0 = performance.now();
  for (let o = 0; o < bytes.length; o += CHUNK) {
    const evs = p.push(bytes.subarray(o, o + CHUNK));
    n += evs.length;
    b.add(evs);
  }
  const last = p.end();
  n += last.length;
  b.add(last);
  b.finish();
  const s = (performance.now() - t0) / 1e3;
  return { events: n, s, steps: b.model.steps?.step?.length ?? NaN };
}

async function loadRunTimed(mod, dir, events) {
  const t0 = performance.now();
  const { model } = await mod.loadRun(dir);
  const s = (performance.now() - t0) / 1e3;
  return { events, s, problems: model.streamProblems.count };
}

// ---------------------------------------------------------------- 2. render

// Before the page's scripts: note when an animation-frame callback first
// paints on a canvas inside the communication timeline.
const INIT_SCRIPT = `(() => {
  let painted = false;
  const fill = CanvasRenderingContext2D.prototype.fillRect;
  CanvasRenderingContext2D.prototype.fillRect = function (...a) {
    if (!painted && this.canvas && this.canvas.closest && this.canvas.closest('.ts-comm-timeline')) painted = true;
    return fill.apply(this, a);
  };
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => raf((t) => {
    const r = cb(t);
    if (painted && window.__commDrawnMs === undefined) window.__commDrawnMs = performance.now();
    return r;
  });
})();`;

async function renderTimes(ctx, reportFile, rounds) {
  const require = createRequire(path.join(ctx.root, 'package.json'));
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const times = [];
  const dcl = [];
  let info = {};
  try {
    // One warm-up load (Chromium's own first-start costs), then the rounds.
    for (let i = 0; i <= rounds; i++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      await page.addInitScript(INIT_SCRIPT);
      await page.goto(pathToFileURL(reportFile).href + '#communication', { waitUntil: 'commit' });
      await page.waitForFunction(() => window.__commDrawnMs !== undefined, null, { timeout: 60_000, polling: 10 });
      const r = await page.evaluate(() => ({
        ms: window.__commDrawnMs,
        canvases: document.querySelectorAll('.ts-comm-timeline canvas').length,
        width: document.querySelector('.ts-comm-timeline canvas')?.width ?? 0,
        dclMs: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? NaN,
      }));
      if (i > 0) { times.push(r.ms); dcl.push(r.dclMs); }
      info = r;
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return { times, dcl, info };
}

// ---------------------------------------------------------------- 3. activation

function stubVscode() {
  const handler = {
    get(target, prop) {
      if (prop === 'then') return undefined;
      if (prop === Symbol.toPrimitive) return () => '';
      if (prop === Symbol.iterator) return function* () {};
      if (prop in target) return target[prop];
      return (target[prop] = makeProxy());
    },
    // Functions' own `name`/`length` are read-only: define instead of assign
    // (the extension sets e.g. statusBarItem.name).
    set(target, prop, value) {
      Object.defineProperty(target, prop, { value, writable: true, configurable: true, enumerable: true });
      return true;
    },
    apply: () => makeProxy(),
    construct: () => makeProxy(),
  };
  function makeProxy() {
    return new Proxy(function stub() {}, handler);
  }
  class Disposable {
    constructor(fn) { this.fn = fn; }
    static from(...ds) { return new Disposable(() => ds.forEach((d) => d?.dispose?.())); }
    dispose() { this.fn?.(); }
  }
  class EventEmitter {
    listeners = [];
    event = (l) => { this.listeners.push(l); return new Disposable(() => {}); };
    fire(v) { for (const l of this.listeners) l(v); }
    dispose() {}
  }
  const configuration = { get: (_k, d) => d, has: () => false, inspect: () => undefined, update: async () => {} };
  const channel = new Proxy({}, { get: (t, p) => (p in t ? t[p] : () => {}) });
  const base = {
    Disposable,
    EventEmitter,
    workspace: new Proxy({
      getConfiguration: () => configuration,
      workspaceFolders: undefined,
      textDocuments: [],
    }, handler),
    window: new Proxy({
      createOutputChannel: () => channel,
      visibleTextEditors: [],
      activeTextEditor: undefined,
    }, handler),
  };
  // esbuild's __toESM copies the module's own keys: name every API the extension uses.
  for (const k of ['Uri', 'commands', 'languages', 'env', 'Range', 'Position', 'Selection', 'Diagnostic',
    'DiagnosticSeverity', 'CodeLens', 'CodeAction', 'CodeActionKind', 'ViewColumn', 'WorkspaceEdit', 'Hover',
    'MarkdownString', 'StatusBarAlignment', 'ProgressLocation', 'ThemeColor', 'ThemeIcon', 'TextEdit',
    'ConfigurationTarget', 'RelativePattern', 'extensions']) if (!(k in base)) base[k] = makeProxy();
  return new Proxy(base, handler);
}

function activationTimes(ctx, tmp, rounds) {
  const bundle = path.join(ctx.root, 'out', 'extension.js');
  if (!existsSync(bundle)) throw new Error('out/extension.js is missing (npm run build)');
  // A child per round: a fresh module cache, as in a new extension host.
  const script = path.join(tmp, 'activate.cjs');
  writeFileSync(script, `
const Module = require('node:module');
const { performance } = require('node:perf_hooks');
const stub = (${stubVscode.toString()})();
const orig = Module._resolveFilename;
Module._resolveFilename = function (req, ...rest) { return req === 'vscode' ? 'vscode' : orig.call(this, req, ...rest); };
require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: stub };
const t0 = performance.now();
const ext = require(${JSON.stringify(bundle)});
const t1 = performance.now();
const root = ${JSON.stringify(ctx.root)};
const mem = new Map();
const memento = { get: (k, d) => (mem.has(k) ? mem.get(k) : d), update: async (k, v) => { mem.set(k, v); }, keys: () => [...mem.keys()], setKeysForSync() {} };
const context = {
  subscriptions: [], extensionPath: root, extensionUri: { fsPath: root, path: root, scheme: 'file' },
  globalState: memento, workspaceState: memento, secrets: { get: async () => undefined, store: async () => {}, delete: async () => {} },
  storageUri: undefined, globalStorageUri: { fsPath: ${JSON.stringify(tmp)} }, logUri: { fsPath: ${JSON.stringify(tmp)} },
  storagePath: undefined, globalStoragePath: ${JSON.stringify(tmp)}, logPath: ${JSON.stringify(tmp)},
  extensionMode: 1, asAbsolutePath: (p) => require('node:path').join(root, p),
  extension: { id: 'trainscope.trainscope', extensionPath: root, packageJSON: require(root + '/package.json') },
  environmentVariableCollection: { replace() {}, append() {}, prepend() {}, clear() {} },
};
ext.activate(context);
const t2 = performance.now();
process.stdout.write(JSON.stringify({ requireMs: t1 - t0, activateMs: t2 - t1, subscriptions: context.subscriptions.length }));
process.exit(0);
`);
  const out = [];
  for (let i = 0; i < rounds; i++) {
    const r = spawnSync(process.execPath, [script], { cwd: ctx.root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`activation child failed: ${(r.stderr || r.stdout).slice(-800)}`);
    out.push(JSON.parse(r.stdout));
  }
  return out;
}

// ---------------------------------------------------------------- run

export async function run(ctx) {
  const rounds = ctx.options.rounds ?? 3;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'trainscope-bench-ext-'));
  try {
    const mod = await bundleExtensionModules(ctx.root, tmp);
    const lines = realRun(ctx, tmp);

    // 1. ingest
    const bigDir = path.join(tmp, 'big');
    mkdirSync(bigDir);
    const bigFile = path.join(bigDir, 'events.jsonl');
    const gen = await writeBigStream(lines, bigFile);
    const bytes = readFileSync(bigFile);
    ctx.log(`extension: ${gen.lines} records (${(bytes.length / 2 ** 20).toFixed(0)} MiB, ${gen.steps} steps) from ${lines.length} real ones`);
    const parse = [];
    const build = [];
    const load = [];
    for (let i = 0; i < rounds; i++) {
      parse.push(parseOnly(mod, bytes));
      build.push(parseAndBuild(mod, bytes));
      load.push(await loadRunTimed(mod, bigDir, gen.lines));
    }
    if (parse[0].events !== gen.lines || parse[0].errors) {
      throw new Error(`parser gave ${parse[0].events} records, ${parse[0].errors} errors, for ${gen.lines} lines`);
    }
    if (load[0].problems) throw new Error(`loadRun reported ${load[0].problems} stream problems`);
    const eps = (rs) => Math.max(...rs.map((r) => r.events / r.s));
    const ingest = {
      events: gen.lines,
      bytes: bytes.length,
      chunk_bytes: CHUNK,
      parser_eps: eps(parse),
      parser_plus_builder_eps: eps(build),
      load_run_eps: eps(load),
      parser_s: parse.map((r) => r.s),
      parser_plus_builder_s: build.map((r) => r.s),
      load_run_s: load.map((r) => r.s),
    };

    // 2. render
    const tlDir = path.join(tmp, 'timeline');
    mod.writeTimelineRun(lines, tlDir, N_BARS);
    const rep = spawnSync(process.execPath, [path.join(ctx.root, 'out', 'report.js'), tlDir], { cwd: ctx.root, encoding: 'utf8' });
    if (rep.status !== 0) throw new Error(`out/report.js failed: ${rep.stderr.slice(-500)}`);
    const reportFile = path.join(tlDir, 'report.html');
    let render;
    try {
      const { times, dcl, info } = await renderTimes(ctx, reportFile, rounds);
      render = { bars: N_BARS, ranks: 2, ms: times, median_ms: median(times), dom_content_loaded_ms: dcl, median_dcl_ms: median(dcl), report_bytes: readFileSync(reportFile).length, canvas_width: info.width };
    } catch (e) {
      render = { bars: N_BARS, error: e.message };
      ctx.log(`extension: render skipped: ${e.message}`);
    }

    // 3. activation
    let activation;
    try {
      const a = activationTimes(ctx, tmp, rounds);
      activation = {
        activate_ms: a.map((x) => x.activateMs),
        require_ms: a.map((x) => x.requireMs),
        median_activate_ms: median(a.map((x) => x.activateMs)),
        median_require_ms: median(a.map((x) => x.requireMs)),
        subscriptions: a[0].subscriptions,
        vscode: 'stub (Proxy) via Module._resolveFilename',
      };
    } catch (e) {
      activation = { error: e.message };
      ctx.log(`extension: activation skipped: ${e.message}`);
    }

    // 4. analysis
    let analysis;
    try {
      const addonFile = path.join(ctx.root, 'native', 'build', 'trainscope_addon.node');
      const addon = createRequire(addonFile)(addonFile);
      const ms = [];
      let bytes = 0;
      for (let i = 0; i < Math.max(5, rounds); i++) {
        const t0 = performance.now();
        bytes = (await addon.analyzeAsync(DEEP_CONFIG, 'deep.train', { memoryBudget: 2e9 })).length;
        ms.push(performance.now() - t0);
      }
      analysis = { layers: 1024, ms, min_ms: Math.min(...ms), median_ms: median(ms), json_bytes: bytes };
    } catch (e) {
      analysis = { error: e.message };
      ctx.log(`extension: analysis skipped: ${e.message}`);
    }

    const rows = [
      ['measure', 'value', 'target', ''],
      [`ingest: EventStreamParser, ${gen.lines} records, 64 KiB chunks`, `${(ingest.parser_eps / 1e6).toFixed(2)} M events/s`, '≥ 1 M/s', verdict(ingest.parser_eps >= TARGET_EPS)],
      ['ingest: parser + RunModelBuilder (same chunks)', `${(ingest.parser_plus_builder_eps / 1e6).toFixed(2)} M events/s`, '≥ 1 M/s', verdict(ingest.parser_plus_builder_eps >= TARGET_EPS)],
      ['ingest: runStore.loadRun (from disk)', `${(ingest.load_run_eps / 1e6).toFixed(2)} M events/s`, '≥ 1 M/s', verdict(ingest.load_run_eps >= TARGET_EPS)],
      render.error
        ? [`render: ${N_BARS}-bar comm timeline, first draw`, `failed: ${render.error.replace(/\s+/g, " ").slice(-60)}`, '≤ 500 ms', 'MISS']
        : [`render: ${N_BARS}-bar comm timeline, 2 ranks, first draw (median of ${render.ms.length})`, `${render.median_ms.toFixed(0)} ms`, '≤ 500 ms', verdict(render.median_ms <= TARGET_RENDER_MS)],
      activation.error
        ? ['activation: activate(context), stub vscode', `failed: ${activation.error.replace(/\s+/g, " ").slice(-60)}`, '≤ 50 ms', 'MISS']
        : ['activation: activate(context), stub vscode (median)', `${activation.median_activate_ms.toFixed(1)} ms`, '≤ 50 ms', verdict(activation.median_activate_ms <= TARGET_ACTIVATE_MS)],
    ];
    rows.push(
      analysis.error
        ? ['analysis: 1,024 layers, budgets (analyzeAsync)', `failed: ${analysis.error.replace(/\s+/g, ' ').slice(-60)}`, '≤ 100 ms', 'MISS']
        : [`analysis: 1,024 layers, budgets (analyzeAsync; min / median of ${analysis.ms.length})`, `${analysis.min_ms.toFixed(0)} / ${analysis.median_ms.toFixed(0)} ms`, '≤ 100 ms', verdict(analysis.median_ms <= TARGET_ANALYSIS_MS)],
    );
    if (!render.error) rows.push([`  (of which DOMContentLoaded; report.html ${(render.report_bytes / 2 ** 20).toFixed(1)} MiB)`, `${render.median_dcl_ms.toFixed(0)} ms`, '', '']);
    if (!activation.error) rows.push(['  (require of out/extension.js before it)', `${activation.median_require_ms.toFixed(1)} ms`, '', '']);
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    const fmt = (r) => '  ' + r.map((x, c) => x.padEnd(widths[c])).join('  ').trimEnd();
    const table = [
      `${title}`,
      `  best of ${rounds} rounds for ingest; render and activation: medians; render is navigation start to the end of the first animation frame that painted the timeline`,
      fmt(rows[0]),
      '  ' + widths.map((w) => '-'.repeat(w)).join('  '),
      ...rows.slice(1).map(fmt),
    ].join('\n');
    return {
      table,
      json: {
        rounds,
        targets: { events_per_s: TARGET_EPS, render_ms: TARGET_RENDER_MS, activate_ms: TARGET_ACTIVATE_MS, analysis_ms: TARGET_ANALYSIS_MS },
        ingest,
        render,
        activation,
        analysis,
      },
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
