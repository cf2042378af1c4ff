// The profile view in a real browser: a recorded run (the trainer on
// examples/tiny-gpt.train with checkpointing and accumulation), its
// report.html written by out/report.js, opened from disk in headless
// Chromium through playwright-core. Every view is checked from the DOM and
// the pixels of its charts; the page must log no error, break no rule of
// its Content Security Policy and request nothing but its own file.
//
// Needs Chromium (Debian: apt-get install chromium; CI installs it): without
// it this test fails and says so. TRAINSCOPE_CHROMIUM names another binary.
// Screenshots of each view go to test-artifacts/; with
// TRAINSCOPE_UPDATE_SCREENSHOTS=1 they are also copied to docs/images/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { RunRecord, TrainerEvent } from '../common/events/schema';
import { formatBytes, formatMs } from '../common/format';
import { RunModelBuilder } from '../extension/runs/runModelBuilder';
import { writeTimelineRun } from './support/timelineRun';
import { haveTrainer, NO_TRAINER, root, runTrainer, tempDir } from './support/trainer';

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const chromiumPath = process.env.TRAINSCOPE_CHROMIUM ?? CHROMIUM_CANDIDATES.find((p) => existsSync(p));
const artifacts = path.join(root, 'test-artifacts');
const STEPS = 30;
// The checks below read pixels at this scale.
const VIEWPORT = { width: 1280, height: 900 };

interface PageProblems {
  console: string[];
  csp: string[];
  requests: string[];
}

/** Painted pixels of a canvas, in its lower part (below legends and titles). */
interface CanvasPixels {
  width: number;
  height: number;
  /** Opaque, saturated pixels: bars drawn in a palette colour. */
  data: number;
  /** Saturated pixels of any visible alpha: also thin, antialiased lines (axes and text are grey). */
  colored: number;
  /** Semi-transparent pixels at the predicted bars' alpha (0.45). */
  faded: number;
}

async function canvasPixels(page: Page, selector: string): Promise<CanvasPixels[]> {
  return page.locator(selector).evaluateAll((canvases) =>
    canvases.map((node) => {
      const c = node as HTMLCanvasElement;
      const g = c.getContext('2d');
      if (!g || !c.width || !c.height) return { width: c.width, height: c.height, data: 0, colored: 0, faded: 0 };
      const top = Math.floor(c.height * 0.25);
      const px = g.getImageData(0, top, c.width, c.height - top).data;
      let data = 0;
      let colored = 0;
      let faded = 0;
      for (let i = 0; i < px.length; i += 4) {
        const [r, gr, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
        const sat = Math.max(r, gr, b) - Math.min(r, gr, b);
        if (sat >= 60 && a >= 40) colored++;
        if (a >= 200 && sat >= 60) data++;
        else if (a >= 100 && a <= 130) faded++;
      }
      return { width: c.width, height: c.height, data, colored, faded };
    }),
  );
}

/** label -> value of the summary cards of a view. */
async function stats(page: Page, view: string): Promise<Record<string, string>> {
  const pairs = await page.locator(`#view-${view} .ts-stat`).evaluateAll((nodes) =>
    nodes.map((n) => [n.querySelector('.ts-stat-label')?.textContent ?? '', n.querySelector('.ts-stat-value')?.textContent ?? '']),
  );
  return Object.fromEntries(pairs);
}

async function cardTitles(page: Page, view: string): Promise<string[]> {
  return page.locator(`#view-${view} .ts-card > h2`).allTextContents();
}

async function showTab(page: Page, id: string): Promise<void> {
  await page.locator(`#tab-${id}`).click();
  await page.locator(`#view-${id}`).waitFor({ state: 'visible' });
  await page.waitForFunction((v) => (document.getElementById(`view-${v}`)?.textContent ?? '').trim().length > 0, id);
  // Chart.js draws on the next frames; two rAFs are enough with animations off.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function screenshot(page: Page, view: string, docs = true): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `report-${view}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (docs && process.env.TRAINSCOPE_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(path.join(root, 'docs', 'images'), { recursive: true });
    copyFileSync(file, path.join(root, 'docs', 'images', `report-${view}.png`));
  }
}

describe('report.html in Chromium', { skip: !haveTrainer && NO_TRAINER }, () => {
  let dir = '';
  let browser: Browser | undefined;
  let page: Page;
  const problems: PageProblems = { console: [], csp: [], requests: [] };
  let summary: { peak_bytes: number; predicted_peak_bytes: number; steps: number };
  let checkpointed: string[] = [];

  before(async () => {
    assert.ok(
      chromiumPath && existsSync(chromiumPath),
      `Chromium is not installed (looked for ${CHROMIUM_CANDIDATES.join(', ')}): install it with ` +
        '`apt-get install chromium` (npm test does when run as root), or set TRAINSCOPE_CHROMIUM to a Chromium or Chrome binary',
    );
    for (const f of ['report.js', 'webview.js']) {
      assert.ok(existsSync(path.join(root, 'out', f)), `out/${f} is not built: run npm run build`);
    }
    dir = tempDir('trainscope-webview-');
    const run = path.join(dir, 'run');
    runTrainer(path.join(root, 'examples', 'tiny-gpt.train'), run, [
      `train.steps=${STEPS}`,
      'train.warmup=5',
      'train.checkpoint=sqrt',
      'train.accumulate=2',
      // One thread: the test machine runs other suites beside this one.
      'train.threads=1',
    ]);
    const r = spawnSync(process.execPath, [path.join(root, 'out', 'report.js'), run], { encoding: 'utf8' });
    assert.equal(r.status, 0, `out/report.js failed: ${r.stderr}`);
    summary = JSON.parse(readFileSync(path.join(run, 'summary.json'), 'utf8'));
    checkpointed = readFileSync(path.join(run, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"type":"layer"'))
      .map((l) => JSON.parse(l) as { name: string; checkpointed: boolean })
      .filter((l) => l.checkpointed)
      .map((l) => l.name);

    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme: 'light' });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.console.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.console.push(`uncaught: ${e.message}`));
    page.on('request', (req) => problems.requests.push(req.url()));
    // Runs before the page's own scripts, outside its CSP.
    await page.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`));
    });
    await page.goto(pathToFileURL(path.join(run, 'report.html')).href);
    await page.locator('#tab-overview').waitFor();
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the header names the run', async () => {
    await assert.doesNotReject(page.locator('header h1', { hasText: 'tiny-gpt' }).waitFor({ timeout: 5000 }));
    assert.equal(await page.locator('.ts-status').textContent(), 'completed');
    // A standalone report has no buttons that would talk to an extension.
    assert.equal(await page.locator('header vscode-button').count(), 0);
  });

  test('Overview: summary cards and the loss, learning-rate, throughput and step-time charts', async () => {
    await showTab(page, 'overview');
    const s = await stats(page, 'overview');
    assert.equal(s.steps, `${STEPS} / ${STEPS}`);
    assert.match(s.loss, /^\d+\.\d+ → \d+\.\d+$/);
    assert.match(s['val loss'], /^\d+\.\d+$/);
    assert.match(s['time per step'], /^\d+(\.\d+)? (ms|s)$/);
    assert.match(s['tokens/s'], /^\d+(\.\d+)?k?$/);
    assert.equal(s['peak memory'], formatBytes(summary.peak_bytes));
    assert.deepEqual(await cardTitles(page, 'overview'), ['Loss', 'Learning rate', 'Throughput', 'Step time by phase', 'Time per layer']);
    const px = await canvasPixels(page, '#view-overview canvas');
    assert.equal(px.length, 5);
    for (const [i, name] of ['loss', 'learning rate', 'throughput', 'step time', 'layer time'].entries()) {
      assert.ok(px[i].width > 100 && px[i].height > 100, `${name} chart has no size: ${JSON.stringify(px[i])}`);
      assert.ok(px[i].colored > 100, `${name} chart draws no data: ${JSON.stringify(px[i])}`);
    }
    await screenshot(page, 'overview');
  });

  test('Memory: per-layer bars, measured beside predicted, and the peaks', async () => {
    await showTab(page, 'memory');
    const s = await stats(page, 'memory');
    assert.equal(s['peak (measured)'], formatBytes(summary.peak_bytes));
    assert.equal(s['peak (predicted)'], formatBytes(summary.predicted_peak_bytes));
    assert.match(s['prediction error'], /^[+-]\d+\.\d%$/);
    assert.deepEqual(await cardTitles(page, 'memory'), ['Memory per layer', 'Peak memory', 'Memory over the run']);
    const [perLayer, peak, overSteps] = await canvasPixels(page, '#view-memory canvas');
    // Measured bars are opaque, predicted ones drawn at alpha 0.45: both must be there.
    assert.ok(perLayer.data > 2000, `no measured bars: ${JSON.stringify(perLayer)}`);
    assert.ok(perLayer.faded > 2000, `no predicted bars: ${JSON.stringify(perLayer)}`);
    assert.ok(peak.data > 2000, `no peak bars: ${JSON.stringify(peak)}`);
    assert.ok(overSteps.colored > 100, `no memory-over-steps line: ${JSON.stringify(overSteps)}`);
    await screenshot(page, 'memory');
  });

  test('Layers: one row per layer with measured and predicted totals', async () => {
    await showTab(page, 'layers');
    const rows = await page.locator('#view-layers vscode-data-grid-row').evaluateAll((rs) =>
      rs.map((r) => Array.from(r.querySelectorAll('vscode-data-grid-cell')).map((c) => (c.textContent ?? '').trim())),
    );
    const body = rows.filter((r) => /^\d+$/.test(r[0] ?? ''));
    assert.deepEqual(
      body.map((r) => r[1]),
      ['embed', 'block.0', 'block.1', 'block.2', 'block.3', 'head'],
    );
    for (const r of body) assert.equal(r[8], r[9], `layer ${r[1]}: measured total ${r[8]} is not the predicted ${r[9]}`);
  });

  test('Checkpoints: the plan and the checkpointed layers', async () => {
    await showTab(page, 'checkpoints');
    const text = await page.locator('#view-checkpoints').innerText();
    assert.ok(checkpointed.length > 0, 'the run checkpointed no layer');
    assert.match(text, /train\.checkpoint sqrt/);
    assert.match(text, new RegExp(`Checkpointed layers: ${checkpointed.join(', ').replace(/\./g, '\\.')}`));
    assert.match(text, /Recompute: \d+(\.\d+)? (ms|s) per step on average/);
    // The trade-off curve: memory and recompute per schedule, by segment count.
    assert.match(text, /by segment count k: peak activation memory \(left axis\) and the forward work recomputed/);
    const [curve] = await canvasPixels(page, '#view-checkpoints canvas');
    assert.ok(curve && curve.colored > 200, `the curve draws: ${JSON.stringify(curve)}`);
    await screenshot(page, 'checkpoints');
  });

  test('Communication: a single-rank run says it has none', async () => {
    await showTab(page, 'communication');
    assert.equal((await page.locator('#view-communication').innerText()).trim(), 'Single-rank run: no communication.');
    await screenshot(page, 'communication', false);
  });

  test('no console errors, no CSP violations, no requests beyond the file itself', async () => {
    const csp = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
    assert.deepEqual(csp, [], `CSP violations: ${csp.join('; ')}`);
    assert.deepEqual(problems.console, [], `console: ${problems.console.join('\n')}`);
    const remote = problems.requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'));
    assert.deepEqual(remote, [], `requests beyond file://: ${remote.join(', ')}`);
    assert.ok(problems.requests.length >= 1);
  });
});

describe('report.html of a busy 2-rank step in Chromium', { skip: !haveTrainer && NO_TRAINER }, () => {
  // 20 000 bars: 5 000 buckets per rank, far more rows than a table should build at once.
  const BARS = 20_000;
  // Its capacity is set at twice the run's peak, so the line is in view.
  const DEVICE = { type: 'cpu', requested: 'auto', name: 'cpu', capacity_bytes: 0, note: 'train.device auto: no usable GPU (no driver); training on the cpu' };
  let dir = '';
  let browser: Browser | undefined;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    assert.ok(chromiumPath && existsSync(chromiumPath), 'Chromium is not installed (apt-get install chromium)');
    dir = tempDir('trainscope-webview-dp-');
    const real = path.join(dir, 'real');
    runTrainer(path.join(root, 'examples', 'tiny-gpt.train'), real, ['train.steps=2', 'train.warmup=0', 'train.threads=1']);
    // The run record as the trainer writes it when `device auto` finds no GPU.
    const raw = readFileSync(path.join(real, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
    DEVICE.capacity_bytes = 2 * (JSON.parse(raw.find((l) => l.startsWith('{"type":"summary"'))!) as { peak_bytes: number }).peak_bytes;
    const lines = raw.map((l) => (l.startsWith('{"type":"run"') ? JSON.stringify({ ...JSON.parse(l), device_info: DEVICE }) : l));
    const run = path.join(dir, 'dp');
    writeTimelineRun(lines, run, BARS);
    const r = spawnSync(process.execPath, [path.join(root, 'out', 'report.js'), run], { encoding: 'utf8' });
    assert.equal(r.status, 0, `out/report.js failed: ${r.stderr}`);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme: 'dark' });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
    await page.goto(pathToFileURL(path.join(run, 'report.html')).href + '#communication');
    await page.locator('#view-communication .ts-comm-details table').first().waitFor();
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the timeline draws both ranks’ lanes', async () => {
    const [px] = await canvasPixels(page, '#view-communication .ts-comm-timeline canvas');
    assert.ok(px.width > 1000, `canvas width ${px.width}`);
    // Four lanes of bars across the plot: thousands of coloured pixels.
    assert.ok(px.data > 20_000, `timeline bars: ${JSON.stringify(px)}`);
    await screenshot(page, 'communication-2-ranks', false);
  });

  test('the bucket table builds a page of rows, and more on request', async () => {
    const buckets = page.locator('#view-communication .ts-comm-details .ts-card').first();
    assert.match(await buckets.locator('h2').innerText(), /^Buckets of step 1$/);
    const rows = buckets.locator('tbody tr');
    const more = /^(\d+) of (\d+) rows/.exec(await buckets.locator('.ts-table-more').innerText());
    assert.ok(more, 'a "Show more" line under the table');
    const page1 = Number(more[1]);
    assert.equal(Number(more[2]), BARS / 4, 'every bucket counted');
    assert.ok(page1 >= 50 && page1 <= 500, `a page of ${page1} rows`);
    assert.equal(await rows.count(), page1);
    assert.equal((await rows.first().locator('td').allInnerTexts())[0], '0');
    await buckets.locator('.ts-table-more vscode-button').click();
    assert.equal(await rows.count(), 2 * page1);
    assert.equal((await rows.nth(2 * page1 - 1).locator('td').allInnerTexts())[0], String(2 * page1 - 1));
    // Overlap per sampled step: one step, two ranks, from their step records.
    const overlap = page.locator('#view-communication .ts-comm-details .ts-card').nth(1).locator('tbody tr');
    assert.equal(await overlap.count(), 2);
    assert.deepEqual(await overlap.first().locator('td').allInnerTexts(), ['1', '0', formatMs(700), formatMs(100), '85.7%']);
  });

  test('Overview and Memory: the device, why it is not the one asked for, and its capacity', async () => {
    await showTab(page, 'overview');
    assert.equal((await stats(page, 'overview')).device, `cpu · ${formatBytes(DEVICE.capacity_bytes)}`);
    assert.equal(await page.locator('#view-overview .ts-problems').innerText(), `Device: ${DEVICE.note}`);
    await showTab(page, 'memory');
    assert.match((await stats(page, 'memory'))['device memory'], new RegExp(`^${formatBytes(DEVICE.capacity_bytes)}, peak 50\\.0%$`));
    // The capacity line: a solid line in the foreground colour across the
    // peak chart, at twice the bars' length.
    const line = await page.locator('#view-memory canvas').nth(1).evaluate((node) => {
      const c = node as HTMLCanvasElement;
      const g = c.getContext('2d')!;
      const px = g.getImageData(0, 0, c.width, c.height).data;
      // Columns in the right half with an opaque, unsaturated pixel in most rows of the plot.
      let best = 0;
      for (let x = Math.floor(c.width / 2); x < c.width; x++) {
        let n = 0;
        for (let y = 0; y < c.height; y++) {
          const i = (y * c.width + x) * 4;
          const sat = Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]);
          if (px[i + 3] > 200 && sat < 30 && px[i] > 150) n++;
        }
        best = Math.max(best, n);
      }
      return { best, height: c.height };
    });
    assert.ok(line.best > line.height / 2, `a vertical capacity line: ${JSON.stringify(line)}`);
  });

  test('no console errors', () => {
    assert.deepEqual(problems, []);
  });
});

describe('the panel as VS Code hosts it: messages both ways', { skip: !haveTrainer && NO_TRAINER }, () => {
  let dir = '';
  let browser: Browser | undefined;
  let page: Page;
  let init: unknown;
  const problems: string[] = [];

  before(async () => {
    assert.ok(chromiumPath && existsSync(chromiumPath), 'Chromium is not installed (apt-get install chromium)');
    dir = tempDir('trainscope-webview-host-');
    const run = path.join(dir, 'run');
    // Blocks 1 and 2 checkpointed: layers 2 and 3 (after the embedding).
    runTrainer(path.join(root, 'examples', 'tiny-gpt.train'), run, ['train.steps=3', 'train.warmup=0', 'train.threads=1', 'train.checkpoint=layers 1-2']);
    const r = spawnSync(process.execPath, [path.join(root, 'out', 'report.js'), run], { encoding: 'utf8' });
    assert.equal(r.status, 0, `out/report.js failed: ${r.stderr}`);
    // The report's inlined InitMessage is what the host would send.
    const html = readFileSync(path.join(run, 'report.html'), 'utf8');
    const m = /<script type="application\/json" id="trainscope-data">([\s\S]*?)<\/script>/.exec(html);
    assert.ok(m, 'the inlined data');
    init = { ...(JSON.parse(m[1]) as object), restore: { dir: run, compare: [] } };
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    page = await (await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 })).newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
    // A webview's API: what the page posts is recorded, its state kept.
    await page.addInitScript(() => {
      const w = window as unknown as { __posted: unknown[]; __state: unknown; acquireVsCodeApi: () => unknown };
      w.__posted = [];
      w.acquireVsCodeApi = () => ({
        postMessage: (m: unknown) => w.__posted.push(m),
        getState: () => w.__state,
        setState: (st: unknown) => {
          w.__state = st;
        },
      });
    });
    await page.goto(pathToFileURL(path.join(run, 'report.html')).href);
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
    await page.evaluate((m) => window.postMessage(m, '*'), init);
    await page.locator('#tab-overview').waitFor();
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const focus = (f: unknown) => page.evaluate((m) => window.postMessage({ type: 'focus', focus: m }, '*'), f);
  const focusedTabs = () => page.locator('vscode-panel-tab.ts-focus-tab').evaluateAll((ts) => ts.map((t) => t.id));

  test('the page keeps the runs it shows and its tab in its state, for the host to restore after a reload', async () => {
    const state = () => page.evaluate(() => (window as unknown as { __state: unknown }).__state);
    const restore = (init as { restore: unknown }).restore;
    assert.deepEqual(await state(), { tab: 'overview', restore });
    await showTab(page, 'memory');
    assert.deepEqual(await state(), { tab: 'memory', restore });
    await showTab(page, 'overview');
  });

  test('the cursor on `checkpoint layers 1-2`: those layers and the checkpoint cards, and the tabs that show them', async () => {
    await focus({ key: 'train.checkpoint', layers: [2, 3] });
    await page.waitForFunction(() => document.querySelectorAll('.ts-focus').length > 0);
    assert.deepEqual((await focusedTabs()).sort(), ['tab-checkpoints', 'tab-layers', 'tab-memory', 'tab-overview']);
    await showTab(page, 'checkpoints');
    const spans = await page.locator('#view-checkpoints span.ts-focus').allInnerTexts();
    assert.deepEqual(spans, ['block.1', 'block.2']);
    assert.deepEqual(await page.locator('#view-checkpoints .ts-card.ts-focus > h2').allInnerTexts(), ['Activation checkpointing', 'Memory versus recompute']);
    await showTab(page, 'layers');
    await page.waitForFunction(() => document.querySelectorAll('#view-layers vscode-data-grid-row.ts-focus').length === 2);
    const rows = await page.locator('#view-layers vscode-data-grid-row.ts-focus').evaluateAll((rs) =>
      rs.map((r) => (r.querySelectorAll('vscode-data-grid-cell')[1]?.textContent ?? '').trim()),
    );
    assert.deepEqual(rows, ['block.1', 'block.2']);
    await screenshot(page, 'focus-layers', false);
  });

  test('the Memory view bands the focused layers; moving on to `precision` clears them', async () => {
    await showTab(page, 'memory');
    const band = () =>
      page.locator('#view-memory canvas').first().evaluate((node) => {
        // Pixels of the focus band colour between the bars, per layer slot.
        const c = node as HTMLCanvasElement;
        const g = c.getContext('2d')!;
        const row = g.getImageData(0, Math.floor(c.height * 0.3), c.width, 1).data;
        let tinted = 0;
        for (let i = 0; i < row.length; i += 4) {
          const [r, gr, b, a] = [row[i], row[i + 1], row[i + 2], row[i + 3]];
          // The band is orange-tinted (findMatchHighlight fallback) and translucent over the card.
          if (a > 0 && r > b + 20 && r > gr) tinted++;
        }
        return tinted;
      });
    const withBands = await band();
    assert.ok(withBands > 50, `the per-layer chart shows bands behind the focused layers (${withBands} tinted pixels)`);
    await focus({ key: 'train.precision', layers: [] });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    assert.ok((await band()) < withBands / 4, 'bands cleared');
    assert.deepEqual((await page.locator('#view-memory .ts-stat.ts-focus .ts-stat-label').allInnerTexts()).slice(0, 2), ['peak (measured)', 'peak (predicted)']);
    await focus(null);
    assert.equal(await page.locator('.ts-focus').count(), 0);
    assert.deepEqual(await focusedTabs(), []);
  });

  test('clicking a layer asks the host to reveal its config line; malformed messages are ignored', async () => {
    await showTab(page, 'layers');
    await page.locator('#view-layers vscode-data-grid-row', { hasText: 'block.1' }).first().click();
    const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
    assert.deepEqual(posted.filter((m) => (m as { type: string }).type === 'revealLayer'), [{ type: 'revealLayer', index: 2, name: 'block.1' }]);
    await page.evaluate(() => window.postMessage({ type: 'focus', focus: { key: 'x', layers: [-1] } }, '*'));
    await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
    assert.ok(problems.some((p) => p.includes('ignored a malformed message')), 'the page says it ignored it');
    problems.splice(0);
  });

  test('a live 2-rank run: a delta with rank 1\'s records adds its row and bars to the Communication view', async () => {
    const run = { ...(init as { model: { run: RunRecord } }).model.run, ranks: 2 };
    const records = (rank: number): TrainerEvent[] => [
      { type: 'span', rank, step: 1, layer: 1, name: 'block.0', phase: 'bwd', t0: 1000, t1: 5000 },
      { type: 'comm', rank, step: 1, op: 'allreduce', bucket: 0, bytes: 65536, t0: 2000, t1: 4000, algbw: 0.03, busbw: 0.03 },
      {
        type: 'step', rank, step: 1, loss: 4, lr: 1e-3, grad_norm: 1, ms: 5, tokens_per_s: 1000, t0: 900, t1: 5900,
        phases: { data: 0.1, fwd: 1, bwd: 3, optim: 0.9 }, comm: { ms: 2, exposed_ms: rank ? 0.5 : 0.25, overlap: 75 },
        mem: { live_bytes: 1, peak_bytes: 2 },
      },
    ];
    const b = new RunModelBuilder('live-dp', { live: true });
    b.add([run, ...records(0)]);
    const cursor = b.cursor();
    const wire = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
    await page.evaluate((m) => window.postMessage(m, '*'), wire({ type: 'init', model: b.model, compare: [], settings: { budgetBytes: null } }));
    await showTab(page, 'communication');
    const overlapRows = page.locator('#view-communication .ts-comm-details .ts-card').nth(1).locator('tbody tr');
    await overlapRows.first().waitFor();
    assert.equal(await overlapRows.count(), 1, 'rank 0 only');
    b.addRank(records(1));
    const d = b.delta(cursor);
    assert.ok(d?.timeline, 'the delta carries the grown sample');
    await page.evaluate((m) => window.postMessage(m, '*'), wire({ type: 'delta', delta: d }));
    await page.waitForFunction(() => document.querySelectorAll('#view-communication .ts-comm-details .ts-card:nth-child(2) tbody tr').length === 2);
    assert.deepEqual(await overlapRows.nth(1).locator('td').allInnerTexts(), ['1', '1', formatMs(2), formatMs(0.5), '75.0%']);
    const [bucket] = await page.locator('#view-communication .ts-comm-details .ts-card').first().locator('tbody tr').evaluateAll((rs) =>
      rs.map((r) => Array.from(r.querySelectorAll('td')).map((c) => c.textContent)),
    );
    // Bucket 0, measured on both ranks: each all-reduce runs inside its rank's backward span.
    assert.equal(bucket[0], '0');
    assert.equal(bucket[5], '100.0%');
    const posted = await page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted.map((m) => m.type));
    assert.ok(!posted.includes('resync'), 'the delta continued the model');
  });

  test('no console errors', () => {
    assert.deepEqual(problems, []);
  });
});

// A run recorded on an H100 (GPT-2 124M, bf16, 40 steps; test/fixtures/gpu-run):
// what a GPU run looks like in the panel, without a GPU.
describe('report.html of a recorded GPU run', () => {
  let dir = '';
  let browser: Browser | undefined;
  let page: Page;

  before(async () => {
    assert.ok(chromiumPath && existsSync(chromiumPath), 'Chromium is not installed (apt-get install chromium)');
    dir = tempDir('trainscope-webview-gpu-');
    copyFileSync(path.join(root, 'test', 'fixtures', 'gpu-run', 'events.jsonl'), path.join(dir, 'events.jsonl'));
    const r = spawnSync(process.execPath, [path.join(root, 'out', 'report.js'), dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, `out/report.js failed: ${r.stderr}`);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    page = await (await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 })).newPage();
    await page.goto(pathToFileURL(path.join(dir, 'report.html')).href);
    await page.locator('#view-overview .ts-stat').first().waitFor();
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the header and Overview name the GPU and its memory, not CPU threads', async () => {
    const header = await page.locator('header, .ts-header').first().innerText();
    assert.match(header, /NVIDIA H100 80GB HBM3/);
    assert.doesNotMatch(header, /threads/);
    assert.equal((await stats(page, 'overview')).device, 'NVIDIA H100 80GB HBM3 · 85.02 GB');
  });

  test('Memory measures device memory beside the prediction for the GPU', async () => {
    await showTab(page, 'memory');
    const s = await stats(page, 'memory');
    assert.equal(s['peak (measured)'], '13.72 GB');
    assert.match(s['device memory'], /^85\.02 GB, peak 16\.1%$/);
  });
});
