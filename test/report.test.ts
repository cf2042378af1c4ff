// report.html: a run and the webview bundle in one page that opens from
// disk: the data inlined and readable back, and a CSP that allows nothing
// remote.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { contentSecurityPolicy, inlineJsonText, inlineScriptText, renderPage } from '../extension/panel/html';
import { renderReport, writeReport } from '../extension/panel/report';
import { emptyModel } from '../common/runModel';
import { isHostMessage, REPORT_DATA_ID } from '../common/protocol';
import { haveTrainer, NO_TRAINER, root, runTrainer, tempDir, TINY } from './support/trainer';

function cspOf(html: string): string {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(m, 'no CSP meta');
  return m[1];
}

function dataOf(html: string): unknown {
  const m = new RegExp(`<script type="application/json" id="${REPORT_DATA_ID}">([\\s\\S]*?)</script>`).exec(html);
  assert.ok(m, 'no inlined data');
  return JSON.parse(m[1]);
}

/** Checks a policy allows no network source and no inline code without the nonce. */
function assertLocalOnly(csp: string, nonce: string): void {
  assert.match(csp, /(^|; )default-src 'none'/);
  assert.doesNotMatch(csp, /https?:|wss?:|\*|'unsafe-inline'|'unsafe-eval'|blob:/);
  assert.match(csp, new RegExp(`script-src 'nonce-${nonce.replace(/[+/]/g, '\\$&')}'`));
}

describe('page building', () => {
  test('script text cannot close its element or open an HTML comment', () => {
    const js = 'const a = "</script><!-- x"; const b = /<\\/SCRIPT>/i;\n//# sourceMappingURL=webview.js.map\n';
    const out = inlineScriptText(js);
    assert.doesNotMatch(out, /<\/script/i);
    assert.doesNotMatch(out, /<!--/);
    assert.doesNotMatch(out, /sourceMappingURL/);
    // Still the same program.
    const fn = new Function(`${out}; return [a, b.test('</script>')];`) as () => [string, boolean];
    assert.deepEqual(fn(), ['</script><!-- x', true]);
  });

  test('JSON data cannot close its element', () => {
    const text = inlineJsonText({ s: '</script><b>\u2028' });
    assert.doesNotMatch(text, /</);
    assert.deepEqual(JSON.parse(text), { s: '</script><b>\u2028' });
  });

  test('the webview policy allows only its resource origin and the nonce', () => {
    const csp = contentSecurityPolicy('N0nce', 'https://file+.vscode-resource.vscode-cdn.net');
    assert.equal(
      csp,
      "default-src 'none'; img-src https://file+.vscode-resource.vscode-cdn.net data:; style-src https://file+.vscode-resource.vscode-cdn.net 'nonce-N0nce'; script-src 'nonce-N0nce'; font-src https://file+.vscode-resource.vscode-cdn.net;",
    );
    const html = renderPage({ title: '<x>', nonce: 'N0nce', cspSource: 'vscode-webview://abc', script: { uri: 'vscode-webview://abc/out/webview.js' } });
    assert.match(html, /<script type="module" nonce="N0nce" src="vscode-webview:\/\/abc\/out\/webview.js"><\/script>/);
    assert.match(html, /<title>&lt;x&gt;<\/title>/);
  });

  test('a report has a memory budget only when it is written with one', () => {
    // The budget is an editor setting: a page rendered without it says none.
    const data = dataOf(renderReport(emptyModel('r'), ''));
    assert.ok(isHostMessage(data) && data.type === 'init');
    assert.deepEqual(data.settings, { budgetBytes: null });
    const withBudget = dataOf(renderReport(emptyModel('r'), '', { budgetBytes: 5e8 }));
    assert.ok(isHostMessage(withBudget) && withBudget.type === 'init');
    assert.deepEqual(withBudget.settings, { budgetBytes: 5e8 });
  });

  test('a fresh nonce per page', () => {
    const a = renderReport(emptyModel('r'), '');
    const b = renderReport(emptyModel('r'), '');
    const na = /'nonce-([^']+)'/.exec(cspOf(a))![1];
    const nb = /'nonce-([^']+)'/.exec(cspOf(b))![1];
    assert.notEqual(na, nb);
    assert.ok(na.length >= 16);
  });
});

describe('report.html of a real run', { skip: haveTrainer ? false : NO_TRAINER }, () => {
  let tmp: string;
  let runDir: string;
  let bundle: string;

  before(() => {
    tmp = tempDir();
    runDir = path.join(tmp, '20260101-000000-tiny-gpt');
    runTrainer(path.join(root, 'examples', 'tiny-gpt.train'), runDir, [...TINY, 'train.steps=12', 'train.eval_every=4', 'train.profile_every=4']);
    // The real bundle when it is built; a stand-in otherwise (the test is
    // about the page, not the view).
    const built = path.join(root, 'out', 'webview.js');
    bundle = existsSync(built) ? built : path.join(tmp, 'webview.js');
    if (!existsSync(built)) writeFileSync(bundle, 'document.body.dataset.ok = "1"; // </script>\n');
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('writes the page with the run inlined and nothing remote', async () => {
    const out = await writeReport(runDir, { webviewScript: bundle, settings: { budgetBytes: 2e9 } });
    assert.equal(out, path.join(runDir, 'report.html'));
    const html = readFileSync(out, 'utf8');
    const csp = cspOf(html);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    assertLocalOnly(csp, nonce);
    assert.match(csp, /img-src data:/);

    // Every script and style element carries the nonce; no script loads a URL.
    const tags = html.match(/<(script|style)\b[^>]*>/g) ?? [];
    assert.ok(tags.length >= 3);
    for (const t of tags) {
      if (t.includes('application/json')) continue;
      assert.ok(t.includes(`nonce="${nonce}"`), `no nonce on ${t}`);
      assert.doesNotMatch(t, /\ssrc=/);
    }
    // No URL that a browser would fetch by itself.
    assert.doesNotMatch(html, /<link\b|<img\b[^>]*src="https?:|@import|url\(\s*["']?https?:/i);

    // The data reads back as the message the view starts from.
    const data = dataOf(html);
    assert.ok(isHostMessage(data), 'inlined data is not a valid init message');
    assert.equal(data.type, 'init');
    if (data.type !== 'init') return;
    assert.equal(data.model.id, '20260101-000000-tiny-gpt');
    assert.equal(data.model.status, 'completed');
    assert.equal(data.model.steps.step.length, 12);
    assert.equal(data.model.layers.length, 3);
    assert.deepEqual(data.settings, { budgetBytes: 2e9 });

    // The bundle is inlined whole, as a module.
    const js = readFileSync(bundle, 'utf8');
    assert.ok(html.includes(`<script type="module" nonce="${nonce}">`));
    assert.ok(html.length > js.length);
  });
});
