// npm run test:e2e: TrainScope end to end in a real VS Code (code-server,
// VS Code 1.100 in the browser), driven by playwright-core in headless
// Chromium:
//   package the extension (scripts/package.mjs) and install the .vsix;
//   open a workspace holding a copy of examples/tiny-gpt.train;
//   profile it from the CodeLens and check the panel's views;
//   apply a code action on the config (skipped, and said so, when the
//   extension offers none), check the file changed;
//   move the cursor to a config line and see the panel highlight it;
//   re-profile from the command palette; Compare Runs on both runs; reload
//   the window and find the panel restored.
// Screenshots and code-server's log go to test-artifacts/ (with
// TRAINSCOPE_UPDATE_SCREENSHOTS=1 the best ones also to docs/images/).
// code-server and everything it started are killed at the end, always.
//
// code-server 4.100.3 (the last release for Node 20) is installed on first
// use into node_modules/.cache/trainscope-e2e/ (about 300 MB, 2 minutes).
// Options: --vsix FILE (install this one, do not package), --headed.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureNodeModules, ensureSystemPackages, root, run } from './lib.mjs';

const CODE_SERVER_VERSION = '4.100.3';
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_TARBALL = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';
const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VIEWPORT = { width: 1600, height: 960 };
const RUN_TIMEOUT_MS = 240_000;
// Everything, installs included, must end by then; then it is all killed.
const WATCHDOG_MS = 12 * 60_000;

const artifacts = path.join(root, 'test-artifacts');
const updateImages = process.env.TRAINSCOPE_UPDATE_SCREENSHOTS === '1';
const args = process.argv.slice(2);
const argValue = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

// ---------------------------------------------------------------------------
// Steps, reported like a test runner

const steps = [];
function log(msg) {
  console.log(`  ${msg}`);
}
async function step(name, fn) {
  const started = Date.now();
  process.stdout.write(`- ${name}\n`);
  try {
    const note = await fn();
    if (note && typeof note === 'object' && note.skip) {
      steps.push({ name, status: 'skip', s: (Date.now() - started) / 1000, note: note.skip });
      console.log(`  skipped: ${note.skip}`);
    } else {
      steps.push({ name, status: 'pass', s: (Date.now() - started) / 1000 });
    }
  } catch (err) {
    steps.push({ name, status: 'FAIL', s: (Date.now() - started) / 1000, note: err.message });
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Processes: code-server and its children, killed as a tree

const children = new Set();

/** Every descendant of `pid` (from /proc), deepest last. */
function descendants(pid) {
  const parentOf = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(d), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    for (const [c, pp] of parentOf) if (pp === p) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * Kills a process started with detached: true, its process group, and every
 * descendant (the trainer runs in a process group of its own).
 */
async function killTree(child) {
  if (!child.pid) return;
  const pids = [child.pid, ...descendants(child.pid)];
  signal(-child.pid, 'SIGTERM');
  for (const p of pids) signal(p, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && pids.some((p) => existsSync(`/proc/${p}`) && !isZombie(p))) await sleep(100);
  signal(-child.pid, 'SIGKILL');
  for (const p of pids) if (existsSync(`/proc/${p}`)) signal(p, 'SIGKILL');
  children.delete(child);
}

function isZombie(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

// Last resort when the script itself is ended: synchronous, no waiting.
function killAllNow() {
  for (const c of children) {
    if (!c.pid) continue;
    const pids = [c.pid, ...descendants(c.pid)];
    signal(-c.pid, 'SIGKILL');
    for (const p of pids) signal(p, 'SIGKILL');
  }
  children.clear();
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\ntrainscope e2e: ${sig}, stopping code-server`);
    killAllNow();
    process.exit(130);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------
// Installing code-server

const cacheDir = path.join(root, 'node_modules', '.cache', 'trainscope-e2e', `code-server-${CODE_SERVER_VERSION}`);
const codeServerPkg = path.join(cacheDir, 'node_modules', 'code-server');
const codeServerEntry = path.join(codeServerPkg, 'out', 'node', 'entry.js');
const installedMarker = path.join(cacheDir, '.installed');

/** @vscode/ripgrep downloads its binary unless its cache holds it: give it Debian's rg. */
function fillRipgrepCache() {
  const dir = path.join(process.env.TMPDIR || '/tmp', RIPGREP_CACHE);
  const tarball = path.join(dir, RIPGREP_TARBALL);
  if (existsSync(tarball)) return;
  const rg = ['/usr/bin/rg', '/bin/rg'].find((p) => existsSync(p));
  if (!rg) {
    log(`no ripgrep on this machine (apt-get install ripgrep): @vscode/ripgrep will try to download its own`);
    return;
  }
  mkdirSync(dir, { recursive: true });
  run('tar', ['czf', tarball, '-C', path.dirname(rg), path.basename(rg)]);
}

function ensureCodeServer() {
  if (existsSync(installedMarker) && existsSync(codeServerEntry)) return false;
  rmSync(cacheDir, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(path.join(cacheDir, 'package.json'), `${JSON.stringify({ private: true, description: 'code-server for scripts/e2e.mjs' }, null, 2)}\n`);
  fillRipgrepCache();
  console.log(`  installing code-server ${CODE_SERVER_VERSION} into ${path.relative(root, cacheDir)} (once; about 2 minutes)`);
  run('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: cacheDir,
    // Its postinstall (VS Code's own dependencies, native modules built with
    // node-gyp) needs unsafe-perm when npm runs as root.
    env: { ...process.env, npm_config_yes: 'true', npm_config_unsafe_perm: 'true' },
  });
  if (!existsSync(path.join(codeServerPkg, 'lib', 'vscode', 'node_modules'))) {
    throw new Error(
      "code-server's postinstall did not install VS Code's dependencies (did npm skip install scripts? It needs python3, make, g++ and libkrb5-dev)",
    );
  }
  writeFileSync(installedMarker, `${CODE_SERVER_VERSION}\n`);
  return true;
}

// ---------------------------------------------------------------------------
// The workspace and code-server

function makeWorkspace(tmp) {
  const ws = path.join(tmp, 'workspace');
  mkdirSync(ws, { recursive: true });
  let text = readFileSync(path.join(root, 'examples', 'tiny-gpt.train'), 'utf8');
  const set = (key, value) => {
    const re = new RegExp(`^${key}\\s+\\S+`, 'm');
    if (!re.test(text)) throw new Error(`examples/tiny-gpt.train has no '${key}' line to edit`);
    text = text.replace(re, `${key} ${value}`);
  };
  set('steps', 20);
  set('warmup', 5);
  // One thread: this machine also runs VS Code and Chromium.
  text = text.replace(/^\[train\]\n/m, '[train]\nthreads 1\n');
  const config = path.join(ws, 'tiny-gpt.train');
  writeFileSync(config, text);
  return { ws, config };
}

function userSettings(dir) {
  mkdirSync(path.join(dir, 'User'), { recursive: true });
  writeFileSync(
    path.join(dir, 'User', 'settings.json'),
    `${JSON.stringify(
      {
        'security.workspace.trust.enabled': false,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.colorTheme': 'Default Dark Modern',
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'extensions.ignoreRecommendations': true,
        'update.mode': 'none',
        'remote.autoForwardPorts': false,
        'window.restoreWindows': 'none',
        'editor.minimap.enabled': false,
        'editor.codeLens': true,
        'editor.lightbulb.enabled': 'on',
        'chat.commandCenter.enabled': false,
        'workbench.editor.enablePreview': false,
      },
      null,
      2,
    )}\n`,
  );
}

async function startCodeServer({ tmp, ws, extDir, userDir, logFile }) {
  const port = await freePort();
  const xdg = path.join(tmp, 'xdg');
  mkdirSync(xdg, { recursive: true });
  const config = path.join(tmp, 'code-server.yaml');
  writeFileSync(config, 'auth: none\ncert: false\n');
  const out = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      codeServerEntry,
      '--config', config,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      '--extensions-dir', extDir,
      '--user-data-dir', userDir,
      ws,
    ],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Nothing of code-server's goes to the user's ~/.config or ~/.local.
      env: { ...process.env, XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg, XDG_CACHE_HOME: xdg },
    },
  );
  children.add(child);
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  let exited = null;
  child.on('exit', (code, sig) => {
    exited = `code-server exited (${code ?? sig}) before it was ready; see ${path.relative(root, logFile)}`;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(exited);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer on ${url} within 60 s; see ${path.relative(root, logFile)}`);
    await sleep(250);
  }
  return { child, url };
}

// ---------------------------------------------------------------------------
// Driving the workbench

function findChromium() {
  const p = process.env.TRAINSCOPE_CHROMIUM ?? CHROMIUM_CANDIDATES.find((c) => existsSync(c));
  if (!p || !existsSync(p)) {
    throw new Error(
      `Chromium is not installed (looked for ${CHROMIUM_CANDIDATES.join(', ')}): apt-get install chromium, or set TRAINSCOPE_CHROMIUM`,
    );
  }
  return p;
}

async function shot(page, name, { docs = false } = {}) {
  mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `vscode-${name}.png`);
  await page.screenshot({ path: file });
  if (docs && updateImages) {
    mkdirSync(path.join(root, 'docs', 'images'), { recursive: true });
    copyFileSync(file, path.join(root, 'docs', 'images', `vscode-${name}.png`));
  }
}

/**
 * Opens the command palette and types `text` into it. A key press can land
 * where the workbench does not see it, and the palette closes when focus
 * moves while it opens (the panel redrawing beside the editor), so this
 * tries again, with Ctrl+Shift+P too, until the text is in an open palette.
 */
async function typeInPalette(page, text) {
  const input = page.locator('.quick-input-widget input.input');
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press(attempt % 2 ? 'Control+Shift+P' : 'F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(text, { timeout: 2000 });
      // Still open with the text in it a moment later: the palette is ours.
      await page.waitForTimeout(200);
      if ((await input.isVisible()) && (await input.inputValue()) === text) return input;
    } catch {
      // Fall through: focus the editor (its tab leaves the cursor where it is) and try again.
    }
    console.log(`  (the command palette did not stay open for '${text}': try ${attempt + 2})`);
    await page.locator('.editor-group-container.active .tab.active').first().click().catch(() => {});
  }
  throw new Error(`the command palette did not stay open to take '${text}' (F1, Ctrl+Shift+P, 5 tries)`);
}

/** Runs a command from the command palette by its label ("TrainScope: Profile Run"). */
async function runCommand(page, label) {
  const input = await typeInPalette(page, `>${label}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await input.press('Enter');
}

async function clearNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications');
  await page.locator('.notification-toast').first().waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
}

/** TrainScope's error notifications on screen, if any. */
async function trainScopeErrors(page) {
  const toasts = await page.locator('.notification-toast').evaluateAll((ts) =>
    ts.map((t) => ({ error: !!t.querySelector('.codicon-error'), text: (t.textContent ?? '').trim() })),
  );
  return toasts.filter((t) => t.error && /TrainScope/i.test(t.text)).map((t) => t.text);
}

/** The panel's content frame: the webview iframe, then its active frame. */
function webview(page) {
  return page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
}

async function waitRunShown(page, runId) {
  const wv = webview(page);
  await wv.locator('#tab-overview').waitFor({ timeout: 60_000 });
  // The header names the run folder; the status reaches "completed" when the trainer's summary arrives.
  await wv.locator('header .ts-muted', { hasText: runId }).waitFor({ timeout: RUN_TIMEOUT_MS });
  await wv.locator('header .ts-status', { hasText: 'completed' }).waitFor({ timeout: RUN_TIMEOUT_MS });
}

async function showTab(page, id) {
  const wv = webview(page);
  await wv.locator(`#tab-${id}`).click();
  await wv.locator(`#view-${id}`).waitFor({ state: 'visible' });
  await page.waitForTimeout(300);
}

/** Per canvas of a view: saturated pixels (data: axes and text are grey) below the top quarter (legends). */
async function chartData(page, view) {
  return webview(page)
    .locator(`#view-${view} canvas`)
    .evaluateAll((canvases) =>
      canvases.map((c) => {
        const g = c.getContext('2d');
        if (!g || !c.width || !c.height) return 0;
        const top = Math.floor(c.height * 0.25);
        const px = g.getImageData(0, top, c.width, c.height - top).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3] >= 40 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) >= 60) n++;
        }
        return n;
      }),
    );
}

async function viewText(page, view) {
  return (await webview(page).locator(`#view-${view}`).innerText()).trim();
}

async function statsOf(page, view) {
  const pairs = await webview(page)
    .locator(`#view-${view} .ts-stat`)
    .evaluateAll((nodes) => nodes.map((n) => [n.querySelector('.ts-stat-label')?.textContent ?? '', n.querySelector('.ts-stat-value')?.textContent ?? '']));
  return Object.fromEntries(pairs);
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function checkViews(page, { steps: nSteps, checkpointed }) {
  await showTab(page, 'overview');
  const s = await statsOf(page, 'overview');
  check(s.steps === `${nSteps} / ${nSteps}`, `Overview: steps card reads '${s.steps}'`);
  check(/\d/.test(s.loss ?? '') && /\d/.test(s['tokens/s'] ?? '') && /\d/.test(s['peak memory'] ?? ''), `Overview: cards without numbers: ${JSON.stringify(s)}`);
  const overview = await chartData(page, 'overview');
  check(overview.length === 5 && overview.every((n) => n > 100), `Overview: charts without data (painted pixels per chart: ${overview})`);
  log(`overview: ${JSON.stringify(s)}`);

  await showTab(page, 'memory');
  const m = await statsOf(page, 'memory');
  check(/\d/.test(m['peak (measured)'] ?? '') && /\d/.test(m['peak (predicted)'] ?? ''), `Memory: peaks missing: ${JSON.stringify(m)}`);
  const memory = await chartData(page, 'memory');
  check(memory.length === 3 && memory[0] > 1000, `Memory: no per-layer bars (painted pixels: ${memory})`);
  log(`memory: ${JSON.stringify(m)}`);

  await showTab(page, 'checkpoints');
  const cp = await viewText(page, 'checkpoints');
  if (checkpointed) check(/Checkpointed layers: block\.\d/.test(cp), `Checkpoints: no checkpointed layers listed: ${cp}`);
  else check(/No checkpointing in this run/.test(cp), `Checkpoints: ${cp}`);
  log(`checkpoints: ${cp.split('\n').filter(Boolean).join(' | ')}`);

  await showTab(page, 'communication');
  const comm = await viewText(page, 'communication');
  check(comm === 'Single-rank run: no communication.', `Communication: ${comm}`);
  await showTab(page, 'overview');
}

function runIds(ws) {
  const dir = path.join(ws, '.trainscope', 'runs');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

async function waitNewRun(ws, before) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ids = runIds(ws).filter((id) => !before.includes(id));
    if (ids.length) return ids[ids.length - 1];
    if (Date.now() > deadline) throw new Error(`no run folder appeared in ${path.join(ws, '.trainscope', 'runs')} within 60 s`);
    await sleep(250);
  }
}

/** Puts the cursor at the start of a 1-based line of the active editor. */
async function gotoLine(page, line) {
  await runCommand(page, 'Go to Line/Column...');
  const input = page.locator('.quick-input-widget input.input');
  await input.fill(`:${line}`);
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/** The code actions offered where the cursor is: [{ text, disabled }], or null when the menu does not open. */
async function openCodeActions(page) {
  await runCommand(page, 'Quick Fix...');
  const widget = page.locator('.action-widget');
  try {
    await widget.waitFor({ state: 'visible', timeout: 10_000 });
  } catch {
    return null;
  }
  await page.waitForTimeout(300);
  return widget.locator('.monaco-list-row.action').evaluateAll((rows) =>
    rows.map((r) => ({ text: r.getAttribute('aria-label') ?? (r.textContent ?? '').trim(), disabled: r.classList.contains('option-disabled') || r.getAttribute('aria-disabled') === 'true' })),
  );
}

// ---------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  const watchdog = setTimeout(() => {
    console.error(`\ntrainscope e2e: still running after ${WATCHDOG_MS / 60000} minutes; killing everything`);
    killAllNow();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();

  ensureSystemPackages(['core', 'browser']);
  ensureNodeModules();
  const chromiumPath = findChromium();
  mkdirSync(artifacts, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'trainscope-e2e-'));
  let server;
  let browser;
  try {
    let vsix = argValue('--vsix');
    await step('package the extension (npm run package)', async () => {
      if (vsix) {
        check(existsSync(vsix), `no ${vsix}`);
        return { skip: `using ${vsix}` };
      }
      const { packageExtension } = await import('./package.mjs');
      vsix = await packageExtension();
      return undefined;
    });

    await step(`install code-server ${CODE_SERVER_VERSION}`, async () => {
      const installed = ensureCodeServer();
      if (!installed) log(`cached in ${path.relative(root, cacheDir)}`);
    });

    const extDir = path.join(tmp, 'extensions');
    const userDir = path.join(tmp, 'user-data');
    const { ws, config } = makeWorkspace(tmp);
    const original = readFileSync(config, 'utf8');
    await step('install the .vsix into code-server', async () => {
      const r = spawnSync(
        process.execPath,
        [codeServerEntry, '--config', path.join(tmp, 'none.yaml'), '--extensions-dir', extDir, '--user-data-dir', userDir, '--install-extension', vsix, '--force'],
        { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'xdg'), XDG_DATA_HOME: path.join(tmp, 'xdg'), XDG_CACHE_HOME: path.join(tmp, 'xdg') } },
      );
      check(r.status === 0 && /successfully installed/i.test(r.stdout), `--install-extension failed (${r.status}): ${r.stdout}${r.stderr}`);
      const installed = readdirSync(extDir).find((d) => d.startsWith('trainscope.trainscope-'));
      check(installed, `no trainscope folder in ${extDir}`);
      for (const f of ['native/build/trainscope-train', 'native/build/trainscope_addon.node', 'out/extension.js', 'out/webview.js']) {
        check(existsSync(path.join(extDir, installed, f)), `the installed extension lacks ${f}`);
      }
      const trainer = spawnSync(path.join(extDir, installed, 'native', 'build', 'trainscope-train'), [config, '--check'], { encoding: 'utf8' });
      check(trainer.status === 0, `the packaged trainer does not run here (${trainer.status ?? trainer.error?.message}): ${trainer.stderr}`);
      log(`installed ${installed}`);
    });

    userSettings(userDir);
    await step('start code-server', async () => {
      server = await startCodeServer({ tmp, ws, extDir, userDir, logFile: path.join(artifacts, 'e2e-code-server.log') });
      log(server.url);
    });

    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath, headless: !args.includes('--headed'), args: CHROMIUM_FLAGS });
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const consoleLog = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleLog.push({ type: m.type(), text: m.text(), url: m.location().url ?? '' });
    });
    page.on('pageerror', (e) => consoleLog.push({ type: 'uncaught', text: `${e.message}\n${e.stack ?? ''}`, url: '' }));

    await step('open the workspace and the config', async () => {
      await page.goto(`${server.url}/?folder=${encodeURIComponent(ws)}`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'tiny-gpt.train' }).first().click({ timeout: 60_000 });
      await page.locator('.tabs-container .tab', { hasText: 'tiny-gpt.train' }).waitFor();
      // The language the extension contributes is on the file.
      await page.locator('.statusbar-item', { hasText: 'TrainScope config' }).first().waitFor({ state: 'attached' });
      // More room for the editor and the panel.
      await runCommand(page, 'View: Close Primary Side Bar');
    });

    let firstRun = '';
    await step('profile from the CodeLens; the panel shows the run', async () => {
      const lens = page.locator('.codelens-decoration a', { hasText: 'Profile' }).first();
      await lens.waitFor({ timeout: 60_000 });
      const before = runIds(ws);
      await lens.click();
      firstRun = await waitNewRun(ws, before);
      log(`run ${firstRun}`);
      await waitRunShown(page, firstRun);
      const errors = await trainScopeErrors(page);
      check(!errors.length, `TrainScope errors: ${errors.join(' / ')}`);
      await clearNotifications(page);
      await checkViews(page, { steps: 20, checkpointed: false });
      await shot(page, 'profile', { docs: true });
      await showTab(page, 'memory');
      await shot(page, 'memory', { docs: true });
      await showTab(page, 'overview');
    });

    await step('the cursor on a config line highlights what it shapes in the panel', async () => {
      await page.locator('.tabs-container .tab', { hasText: 'tiny-gpt.train' }).first().click();
      const layersLine = original.split('\n').findIndex((l) => /^\s*layers\s/.test(l)) + 1;
      check(layersLine > 0, 'the example config sets model.layers');
      await gotoLine(page, layersLine);
      const wv = webview(page);
      // model.layers shapes every block: the Layers and Memory tabs say they show it.
      await wv.locator('#tab-layers.ts-focus-tab').waitFor({ timeout: 15_000 });
      await wv.locator('#tab-memory.ts-focus-tab').waitFor();
      await showTab(page, 'layers');
      const rows = await wv.locator('#view-layers vscode-data-grid-row.ts-focus').count();
      check(rows === 4, `Layers: ${rows} rows highlighted for model.layers (4 blocks)`);
      await shot(page, 'focus', { docs: true });
      await showTab(page, 'overview');
      log(`line ${layersLine} (model.layers): ${rows} block rows highlighted`);
    });

    let applied = '';
    await step('apply a code action on the config', async () => {
      // Back to the editor (the panel has focus).
      await page.locator('.tabs-container .tab', { hasText: 'tiny-gpt.train' }).first().click();
      const lines = original.split('\n');
      const train = lines.findIndex((l) => l.trim() === '[train]') + 1;
      await gotoLine(page, train);
      const offered = await openCodeActions(page);
      if (offered === null || !offered.length) {
        await page.keyboard.press('Escape');
        return { skip: `no code action is offered on line ${train} ([train]) of the config: the extension has none there yet` };
      }
      log(`offered: ${offered.map((o) => o.text).join(' | ')}`);
      const usable = offered.filter((o) => !o.disabled && !/re-profile/.test(o.text));
      const pick = usable.find((o) => /^Set checkpoint sqrt/.test(o.text)) ?? usable.find((o) => /checkpoint|bf16|precision/i.test(o.text)) ?? usable[0];
      if (!pick) {
        await page.keyboard.press('Escape');
        return { skip: `only disabled or re-profiling code actions are offered: ${offered.map((o) => o.text).join(' | ')}` };
      }
      await shot(page, 'code-action', { docs: true });
      // The menu takes the keyboard (a pointer block covers the page while it is open).
      const focused = page.locator('.action-widget .monaco-list-row.action.focused');
      for (let i = 0; i < 30 && (await focused.getAttribute('aria-label').catch(() => null)) !== pick.text; i++) {
        await page.keyboard.press('ArrowDown');
      }
      check((await focused.getAttribute('aria-label')) === pick.text, `could not select '${pick.text}' in the code action menu`);
      await page.keyboard.press('Enter');
      await page.locator('.action-widget').waitFor({ state: 'hidden' });
      await page.keyboard.press('Control+S');
      const deadline = Date.now() + 10_000;
      let now = readFileSync(config, 'utf8');
      while (now === original && Date.now() < deadline) {
        await sleep(200);
        now = readFileSync(config, 'utf8');
      }
      check(now !== original, `'${pick.text}' did not change ${path.basename(config)}`);
      const added = now.split('\n').filter((l) => !original.split('\n').includes(l));
      log(`applied '${pick.text}': ${added.join(' / ')}`);
      applied = added.join('\n');
      return undefined;
    });

    let secondRun = '';
    await step('re-profile from the command palette', async () => {
      await page.locator('.tabs-container .tab', { hasText: 'tiny-gpt.train' }).first().click();
      const before = runIds(ws);
      await runCommand(page, 'TrainScope: Profile Run');
      secondRun = await waitNewRun(ws, before);
      log(`run ${secondRun}`);
      await waitRunShown(page, secondRun);
      const errors = await trainScopeErrors(page);
      check(!errors.length, `TrainScope errors: ${errors.join(' / ')}`);
      await clearNotifications(page);
      await checkViews(page, { steps: 20, checkpointed: /^\s*checkpoint\s+(?!none)/m.test(applied) });
      if (/^\s*checkpoint\s+(?!none)/m.test(applied)) {
        await showTab(page, 'checkpoints');
        await shot(page, 'checkpoints', { docs: true });
      }
    });

    await step('Compare Runs on both runs', async () => {
      await runCommand(page, 'TrainScope: Compare Runs');
      const input = page.locator('.quick-input-widget input.input');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: firstRun }).first().waitFor();
      for (const id of [firstRun, secondRun]) {
        await page.locator('.quick-input-list .monaco-list-row', { hasText: id }).first().locator('input[type=checkbox], .monaco-checkbox, .quick-input-list-checkbox').first().click();
      }
      await input.press('Enter');
      const wv = webview(page);
      await wv.locator('#tab-compare').waitFor({ timeout: 60_000 });
      await showTab(page, 'compare');
      const text = await viewText(page, 'compare');
      for (const id of [firstRun, secondRun]) check(text.includes(id), `Compare: ${id} is not listed:\n${text}`);
      log(`compare lists ${firstRun} and ${secondRun}`);
      await shot(page, 'compare', { docs: true });
    });

    await step('the panel comes back after a window reload', async () => {
      await runCommand(page, 'Developer: Reload Window');
      await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      const wv = webview(page);
      // Restored from the page's state: the same runs, compared.
      await wv.locator('#tab-compare').waitFor({ timeout: 60_000 });
      await showTab(page, 'compare');
      const text = await viewText(page, 'compare');
      for (const id of [firstRun, secondRun]) check(text.includes(id), `Compare after reload: ${id} is not listed:\n${text}`);
      log('restored: Compare of both runs');
    });

    await step('no errors or CSP violations in the panel', async () => {
      // The check sees the panel's console: a message logged there must arrive.
      await webview(page).locator('body').evaluate(() => console.error('trainscope-e2e-probe'));
      await page.waitForTimeout(500);
      const probe = consoleLog.findIndex((c) => c.text.includes('trainscope-e2e-probe'));
      check(probe >= 0, "a console.error in the panel's frame did not reach the console listener");
      const panelUrl = consoleLog[probe].url;
      consoleLog.splice(probe, 1);
      writeFileSync(path.join(artifacts, 'e2e-console.log'), consoleLog.map((c) => `${c.type} ${c.url}\n  ${c.text}`).join('\n'));
      const inPanel = (c) => /\/webview\/browser\/pre\/|vscode-resource|vscode-cdn|webview\.js|trainscope/i.test(c.url) || (panelUrl !== '' && c.url === panelUrl);
      const bad = consoleLog.filter(
        (c) => /Content.Security.Policy|Refused to (load|apply|execute|connect|frame)/i.test(c.text) || (c.type !== 'warning' && inPanel(c)),
      );
      check(!bad.length, `console:\n${bad.map((c) => `${c.type} ${c.url}: ${c.text.slice(0, 300)}`).join('\n')}`);
    });

    console.log(`\ne2e passed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } catch (err) {
    console.error(`\ntrainscope e2e: ${err.message}`);
    process.exitCode = 1;
    try {
      const pages = browser?.contexts()[0]?.pages() ?? [];
      if (pages[0]) await pages[0].screenshot({ path: path.join(artifacts, 'vscode-failure.png') });
      console.error(`  screenshot: ${path.relative(root, path.join(artifacts, 'vscode-failure.png'))}`);
    } catch {
      // No page to capture.
    }
  } finally {
    await browser?.close().catch(() => {});
    if (server) await killTree(server.child);
    killAllNow();
    rmSync(tmp, { recursive: true, force: true });
    console.log('\n=== e2e steps ===');
    for (const s of steps) console.log(`${s.status.padEnd(4)}  ${s.name.padEnd(48)} ${s.s.toFixed(1).padStart(6)} s${s.note ? `  (${s.note.split('\n')[0]})` : ''}`);
  }
}

await main();
