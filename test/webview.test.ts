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
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import type { PlanReport, RunRecord, TrainerEvent } from '../common/events/schema';
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

/** A text a canvas's 2D context drew: where (canvas pixels) and how aligned. */
interface CanvasText {
  text: string;
  x: number;
  y: number;
  align: string;
}

/**
 * Runs in the page before its scripts: records the text each canvas draws
 * since its last full clear (Chart.js clears the whole canvas before every
 * frame), so that tick labels and legend entries, which Chart.js paints
 * rather than putting in the DOM, can be read back.
 */
function recordCanvasText(): void {
  const texts = new WeakMap<HTMLCanvasElement, CanvasText[]>();
  (window as unknown as { __canvasText: (c: HTMLCanvasElement) => CanvasText[] }).__canvasText = (c) => texts.get(c) ?? [];
  const proto = CanvasRenderingContext2D.prototype;
  const { clearRect, fillText } = proto;
  proto.clearRect = function (x, y, w, h) {
    if (x <= 0 && y <= 0 && x + w >= this.canvas.width && y + h >= this.canvas.height) texts.set(this.canvas, []);
    clearRect.call(this, x, y, w, h);
  };
  proto.fillText = function (text, x, y, maxWidth?: number) {
    const p = this.getTransform().transformPoint(new DOMPoint(x, y));
    const list = texts.get(this.canvas) ?? [];
    list.push({ text: String(text), x: p.x, y: p.y, align: this.textAlign });
    texts.set(this.canvas, list);
    if (maxWidth === undefined) fillText.call(this, text, x, y);
    else fillText.call(this, text, x, y, maxWidth);
  };
}

/** What `canvas` last drew as text (recordCanvasText). */
async function canvasText(canvas: Locator): Promise<CanvasText[]> {
  return canvas.evaluate((c) => (window as unknown as { __canvasText: (c: HTMLCanvasElement) => CanvasText[] }).__canvasText(c as HTMLCanvasElement));
}

/** The labels of a chart's x axis, left to right: numbers drawn centred under the plot (y labels are right-aligned, the legend's left-aligned). */
async function xTickLabels(canvas: Locator): Promise<string[]> {
  const texts = (await canvasText(canvas)).filter((t) => t.align === 'center' && /^[\d.,-]+$/.test(t.text));
  const bottom = Math.max(...texts.map((t) => Math.round(t.y)));
  return texts.filter((t) => Math.round(t.y) === bottom).sort((a, b) => a.x - b.x).map((t) => t.text);
}

/**
 * A chart's legend as painted: each entry's label and the colour of the box
 * left of it, read from the canvas' pixels (the box's widest run of one
 * opaque colour, so antialiased edges and an outline do not count).
 */
async function legendColours(canvas: Locator): Promise<{ label: string; rgb: [number, number, number]; width: number }[]> {
  const labels = (await canvasText(canvas)).filter((t) => t.align === 'left');
  return canvas.evaluate((node, entries) => {
    const c = node as HTMLCanvasElement;
    // Read from a copy: reading the chart's canvas again (canvasPixels has)
    // makes Chromium warn on the console about repeated readbacks.
    const copy = document.createElement('canvas');
    [copy.width, copy.height] = [c.width, c.height];
    const g = copy.getContext('2d', { willReadFrequently: true })!;
    g.drawImage(c, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    return entries.map((t) => {
      const row = Math.round(t.y) * c.width;
      const x1 = Math.floor(t.x);
      const x0 = Math.max(0, x1 - 80);
      const at = (x: number, ch: number) => px[(row + x) * 4 + ch];
      let best = { start: x0, width: 0 };
      for (let i = x0; i < x1; ) {
        let j = i;
        while (j < x1 && at(j, 3) === 255 && [0, 1, 2].every((ch) => at(j, ch) === at(i, ch))) j++;
        if (j - i > best.width) best = { start: i, width: j - i };
        i = Math.max(j, i + 1);
      }
      const mid = best.start + (best.width >> 1);
      return { label: t.text, rgb: [at(mid, 0), at(mid, 1), at(mid, 2)] as [number, number, number], width: best.width };
    });
  }, labels);
}

// Colour-blind viewers, simulated: Machado, Oliveira and Fernandes (2009)
// at severity 1, on linear RGB; differences as CIEDE2000 in CIELAB (D65).
const CVD: Record<'deuteranopia' | 'protanopia' | 'tritanopia', number[][]> = {
  protanopia: [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
  ],
  deuteranopia: [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ],
  tritanopia: [
    [1.255528, -0.076749, -0.178779],
    [-0.078411, 0.930809, 0.147602],
    [0.004733, 0.691367, 0.3039],
  ],
};

function linearRgb(rgb: readonly number[]): number[] {
  return rgb.map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
}

function simulate(lin: readonly number[], m: number[][]): number[] {
  return m.map((row) => Math.min(1, Math.max(0, row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2])));
}

/** CIELAB (D65) of a linear-RGB colour. */
function lab([r, g, b]: readonly number[]): [number, number, number] {
  const xyz = [
    (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047,
    0.2126729 * r + 0.7151522 * g + 0.072175 * b,
    (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883,
  ];
  const [fx, fy, fz] = xyz.map((t) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116));
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** CIEDE2000 (Sharma, Wu and Dalal 2005). */
function deltaE2000([L1, a1, b1]: readonly number[], [L2, a2, b2]: readonly number[]): number {
  const rad = Math.PI / 180;
  const Cbar = (Math.hypot(a1, b1) + Math.hypot(a2, b2)) / 2;
  const G = 0.5 * (1 - Math.sqrt(Cbar ** 7 / (Cbar ** 7 + 25 ** 7)));
  const [ap1, ap2] = [(1 + G) * a1, (1 + G) * a2];
  const [C1, C2] = [Math.hypot(ap1, b1), Math.hypot(ap2, b2)];
  const hue = (b: number, a: number) => (a === 0 && b === 0 ? 0 : (Math.atan2(b, a) / rad + 360) % 360);
  const [h1, h2] = [hue(b1, ap1), hue(b2, ap2)];
  let dh = C1 * C2 === 0 ? 0 : h2 - h1;
  if (dh > 180) dh -= 360;
  else if (dh < -180) dh += 360;
  const dH = 2 * Math.sqrt(C1 * C2) * Math.sin((dh * rad) / 2);
  const Lbar = (L1 + L2) / 2;
  const Cpbar = (C1 + C2) / 2;
  let hbar = h1 + h2;
  if (C1 * C2 !== 0) hbar = Math.abs(h1 - h2) > 180 ? (hbar < 360 ? hbar + 360 : hbar - 360) / 2 : hbar / 2;
  const T = 1 - 0.17 * Math.cos((hbar - 30) * rad) + 0.24 * Math.cos(2 * hbar * rad) + 0.32 * Math.cos((3 * hbar + 6) * rad) - 0.2 * Math.cos((4 * hbar - 63) * rad);
  const SL = 1 + (0.015 * (Lbar - 50) ** 2) / Math.sqrt(20 + (Lbar - 50) ** 2);
  const SC = 1 + 0.045 * Cpbar;
  const SH = 1 + 0.015 * Cpbar * T;
  const RT = -2 * Math.sqrt(Cpbar ** 7 / (Cpbar ** 7 + 25 ** 7)) * Math.sin(2 * 30 * Math.exp(-(((hbar - 275) / 25) ** 2)) * rad);
  const [l, c, h] = [(L2 - L1) / SL, (C2 - C1) / SC, dH / SH];
  return Math.sqrt(l * l + c * c + h * h + RT * c * h);
}

/**
 * The least CIEDE2000 difference a pair of categories may have under each
 * simulated deficiency. Okabe and Ito's palette, which the panel uses, keeps
 * every pair at 10.9 or more (orange and reddish purple, tritanopia); the
 * theme colours it replaced put grad (orange) and workspace (yellow) at 5.4
 * (dark theme, deuteranopia) and 0.7 (light theme, protanopia).
 */
const MIN_DELTA_E = 10;

/** Fails, naming them, on the pairs of `colours` closer than MIN_DELTA_E for a colour-blind viewer. */
function assertDistinctForColourBlind(colours: readonly { label: string; rgb: readonly number[] }[]): void {
  const close: string[] = [];
  let least = Infinity;
  for (const [kind, m] of Object.entries(CVD)) {
    const seen = colours.map((c) => lab(simulate(linearRgb(c.rgb), m)));
    for (let i = 0; i < colours.length; i++) {
      for (let j = i + 1; j < colours.length; j++) {
        const d = deltaE2000(seen[i], seen[j]);
        least = Math.min(least, d);
        if (d < MIN_DELTA_E) close.push(`${colours[i].label}/${colours[j].label} ΔE ${d.toFixed(1)} under ${kind}`);
      }
    }
  }
  assert.deepEqual(close, [], `categories too alike for colour-blind viewers (least ΔE ${least.toFixed(1)}): ${JSON.stringify(colours)}`);
}

/** The memory categories' legend of the per-layer chart, checked apart for colour-blind viewers. */
async function assertMemoryPaletteDistinct(page: Page): Promise<void> {
  await showTab(page, 'memory');
  const legend = await legendColours(page.locator('#view-memory canvas').first());
  assert.deepEqual(legend.map((l) => l.label), ['param', 'grad', 'optim', 'act', 'workspace']);
  for (const l of legend) assert.ok(l.width >= 10, `no legend box left of ${l.label}: ${JSON.stringify(l)}`);
  assertDistinctForColourBlind(legend);
}

/**
 * Shows Layers in a 1,400 px wide page: whether the grid fits without a
 * sideways scroll, and the cells whose text does not fit them.
 */
async function layersAt1400(page: Page): Promise<{ scrollWidth: number; clientWidth: number; lastColumnRight: number; wrapRight: number; clipped: string[] }> {
  await page.setViewportSize({ width: 1400, height: VIEWPORT.height });
  try {
    await showTab(page, 'layers');
    await page.locator('#view-layers vscode-data-grid-row').nth(1).waitFor();
    return await page.locator('#view-layers .ts-table-wrap').evaluate((wrap) => {
      const cells = Array.from(wrap.querySelectorAll('vscode-data-grid-cell'));
      const header = cells.filter((c) => c.getAttribute('cell-type') === 'columnheader');
      return {
        scrollWidth: wrap.scrollWidth,
        clientWidth: wrap.clientWidth,
        lastColumnRight: header[header.length - 1]?.getBoundingClientRect().right ?? Infinity,
        wrapRight: wrap.getBoundingClientRect().right,
        clipped: cells.filter((c) => c.scrollWidth > c.clientWidth).map((c) => (c.textContent ?? '').trim()),
      };
    });
  } finally {
    await page.setViewportSize(VIEWPORT);
  }
}

function assertLayersFit(fit: Awaited<ReturnType<typeof layersAt1400>>): void {
  assert.ok(fit.scrollWidth <= fit.clientWidth, `the Layers table scrolls sideways at 1,400 px: ${JSON.stringify(fit)}`);
  assert.ok(fit.lastColumnRight <= fit.wrapRight + 0.5, `the last column is cut off: ${JSON.stringify(fit)}`);
  assert.deepEqual(fit.clipped, [], 'cells too narrow for their text');
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

describe('the colour-blind check itself', () => {
  test('CIEDE2000 gives the reference differences of Sharma, Wu and Dalal', () => {
    const pairs: [number[], number[], number][] = [
      [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
      [[50, 0, 0], [50, -1, 2], 2.3669],
      [[50, 2.49, -0.001], [50, -2.49, 0.0011], 7.2195],
      [[50, 2.5, 0], [73, 25, -18], 27.1492],
      [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
      [[2.0776, 0.0795, -1.135], [0.9033, -0.0636, -0.5514], 0.9082],
    ];
    for (const [a, b, want] of pairs) assert.ok(Math.abs(deltaE2000(a, b) - want) < 1e-4, `${a} / ${b}: ${deltaE2000(a, b)}, not ${want}`);
  });

  test('each simulation keeps white white, and the old grad/workspace pair fails the threshold in both themes', () => {
    for (const m of Object.values(CVD)) assert.ok(deltaE2000(lab(simulate([1, 1, 1], m)), [100, 0, 0]) < 0.1);
    const hex = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
    for (const [grad, workspace] of [['#d18616', '#cca700'], ['#d18616', '#bf8803']]) {
      assert.throws(() => assertDistinctForColourBlind([{ label: 'grad', rgb: hex(grad) }, { label: 'workspace', rgb: hex(workspace) }]), /grad\/workspace ΔE/);
    }
  });
});

describe('report.html in Chromium', { skip: !haveTrainer && NO_TRAINER }, () => {
  let dir = '';
  let browser: Browser | undefined;
  let page: Page;
  const problems: PageProblems = { console: [], csp: [], requests: [] };
  let summary: { peak_bytes: number; predicted_peak_bytes: number; steps: number };
  let checkpointed: string[] = [];
  let plan: PlanReport;

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
    plan = (JSON.parse(readFileSync(path.join(run, 'events.jsonl'), 'utf8').split('\n')[0]) as RunRecord).plan!;

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
    await page.addInitScript(recordCanvasText);
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

  test('Memory: the categories’ colours stay apart for colour-blind viewers (light theme)', async () => {
    await assertMemoryPaletteDistinct(page);
  });

  test('Memory: a report written without a memory budget mentions none', async () => {
    await showTab(page, 'memory');
    const view = await page.locator('#view-memory').innerText();
    assert.doesNotMatch(view, /budget/i);
    // A CPU run's capacity is its RAM, far above the peak: labelled at the edge.
    assert.equal(
      await page.locator('#view-memory .ts-card', { hasText: 'Peak memory' }).locator('.ts-note').innerText(),
      'Bytes per category at the peak of a step. The device’s memory, far above, is named at the right edge.',
    );
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

  test('Layers: every column, recompute time included, fits a 1,400 px panel', async () => {
    assertLayersFit(await layersAt1400(page));
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
    // No checkpoint budget in this config: no budget's plan either.
    assert.doesNotMatch(text, /budget/i);
    await screenshot(page, 'checkpoints');
  });

  test('Checkpoints: why every checkpointed schedule recomputes the same', async () => {
    await showTab(page, 'checkpoints');
    // sqrt and every K of 4 blocks each checkpoint all 4: the planner gives them one fraction.
    const fractions = new Set(plan.schedules.filter((s) => s.segments.length > 0).map((s) => s.recompute_fraction));
    assert.equal(fractions.size, 1, `one recompute fraction: ${[...fractions].join(', ')}`);
    const pct = ([...fractions][0] * 100).toFixed(1);
    const notes = await page.locator('#view-checkpoints .ts-card', { hasText: 'Memory versus recompute' }).locator('.ts-note').allInnerTexts();
    assert.equal(
      notes[1],
      `Every checkpointed schedule recomputes the forward of all 4 blocks once, however it groups them: ${pct}% of a step’s FLOPs ` +
        '(its forward and backward, three forwards’ worth, of every block and the LM head). The schedules differ in memory, not in recompute.',
    );
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
    await page.addInitScript(recordCanvasText);
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
    assert.match(
      await page.locator('#view-memory .ts-card', { hasText: 'Peak memory' }).locator('.ts-note').innerText(),
      /^Bytes per category at the peak of a step\. The solid line is the device’s memory\.$/,
    );
  });

  test('Memory: the categories’ colours stay apart for colour-blind viewers (dark theme)', async () => {
    await assertMemoryPaletteDistinct(page);
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
    await page.addInitScript(recordCanvasText);
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

  test('the loss chart of a 3-step run labels whole steps only', async () => {
    await showTab(page, 'overview');
    const ticks = await xTickLabels(page.locator('#view-overview canvas').first());
    assert.ok(ticks.length >= 2, `the step axis is labelled: ${ticks.join(', ')}`);
    for (const t of ticks) assert.match(t, /^\d+$/, `a step between steps: ${ticks.join(', ')}`);
    assert.deepEqual(ticks.map(Number), [...new Set(ticks.map(Number))].sort((a, b) => a - b));
  });

  test('the memory budget: named under the peak chart while the setting has one, and only then', async () => {
    const settings = (budgetBytes: number | null) => page.evaluate((m) => window.postMessage(m, '*'), { type: 'settings', settings: { budgetBytes } });
    const peakNote = page.locator('#view-memory .ts-card', { hasText: 'Peak memory' }).locator('.ts-note');
    await showTab(page, 'memory');
    assert.doesNotMatch(await page.locator('#view-memory').innerText(), /budget/i);
    await settings(64e6);
    await page.waitForFunction(() => /budget/.test(document.querySelector('#view-memory')?.textContent ?? ''));
    assert.match(await peakNote.innerText(), / The dashed line is the memory budget \(trainscope\.memoryBudget\)\.$/);
    assert.equal((await stats(page, 'memory')).budget, formatBytes(64e6));
    await settings(null);
    await page.waitForFunction(() => !/budget/i.test(document.querySelector('#view-memory')?.textContent ?? ''));
    await showTab(page, 'overview');
  });

  test('the recompute note shows only when every checkpointed schedule recomputes the same', async () => {
    const post = (m: unknown) => page.evaluate((msg) => window.postMessage(msg, '*'), m);
    const notes = () => page.locator('#view-checkpoints .ts-card', { hasText: 'Memory versus recompute' }).locator('.ts-note').allInnerTexts();
    await showTab(page, 'checkpoints');
    assert.match((await notes())[1] ?? '', /^Every checkpointed schedule recomputes the forward of all 4 blocks once/);
    // The same run, with `every 1` (the last point: most segments)
    // checkpointing only blocks 0-2: three quarters of the others' recompute.
    const uneven = JSON.parse(JSON.stringify(init)) as { model: { run: RunRecord } };
    const every1 = uneven.model.run.plan!.schedules.find((x) => x.name === 'every 1')!;
    every1.segments = [[0, 0], [1, 1], [2, 2]];
    every1.checkpoint = 'layers 0,1,2';
    every1.recompute_fraction *= 3 / 4;
    await post(uneven);
    await page.waitForFunction(() => document.querySelectorAll('#view-checkpoints .ts-card .ts-note').length === 1, undefined, { timeout: 5000 });
    assert.equal((await notes()).length, 1, 'only the chart’s own note');
    await post(init);
    await page.waitForFunction(() => document.querySelectorAll('#view-checkpoints .ts-card .ts-note').length === 2, undefined, { timeout: 5000 });
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
    // Written with a budget, as the extension does with trainscope.memoryBudget set.
    const r = spawnSync(process.execPath, [path.join(root, 'out', 'report.js'), dir, '--budget', '20GB'], { encoding: 'utf8' });
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
    assert.equal(s.budget, formatBytes(20e9));
    // A report names the budget it was written with, without the editor's setting.
    assert.equal(
      await page.locator('#view-memory .ts-card', { hasText: 'Peak memory' }).locator('.ts-note').innerText(),
      'Bytes per category at the peak of a step. The device’s memory, far above, is named at the right edge. The dashed line is the memory budget.',
    );
  });

  test('Layers: the 14 layers of GPT-2 fit a 1,400 px panel', async () => {
    assertLayersFit(await layersAt1400(page));
  });
});
