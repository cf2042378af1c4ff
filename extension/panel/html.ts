// The HTML page of the profile view, for both places it runs: the VS Code
// webview (script loaded from the extension's out/ through the webview's
// resource scheme) and the standalone report.html (script and data inline).
// One builder, so both get the same strict Content Security Policy: nothing
// but the nonce'd script and style runs, and nothing is fetched from the
// network. No `vscode` import.
import { randomBytes } from 'node:crypto';
import { WEBVIEW_CSS } from './styles';
import { REPORT_DATA_ID } from '../../common/protocol';

/** A fresh nonce for each page load. */
export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

/**
 * The policy. `cspSource` is the webview's resource origin (webview.cspSource);
 * a standalone report has none, so it allows only inline nonce'd code and
 * data: images.
 */
export function contentSecurityPolicy(nonce: string, cspSource?: string): string {
  const src = cspSource ? `${cspSource} ` : '';
  return [
    `default-src 'none'`,
    `img-src ${src}data:`,
    `style-src ${src}'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource ?? 'data:'}`,
  ].join('; ') + ';';
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * JavaScript made safe to sit inside <script>...</script>: `</script` would
 * end the element and `<!--` changes how the HTML parser reads it. `\x3C` is
 * `<` inside string, template and regular-expression literals alike, and
 * harmless inside comments, where these sequences occur in a bundle.
 */
export function inlineScriptText(js: string): string {
  return js
    .replace(/<\/(script)/gi, '\\x3C/$1')
    .replace(/<!--/g, '\\x3C!--')
    .replace(/\n\/\/# sourceMappingURL=[^\n]*\s*$/, '\n');
}

/** JSON that can sit inside <script type="application/json"> (no `<` at all). */
export function inlineJsonText(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

interface PageOptions {
  title: string;
  nonce: string;
  /** Webview: its cspSource. Absent for a standalone page. */
  cspSource?: string;
  /** The bundle: a URI to load (webview) or its text to inline (report). */
  script: { uri: string } | { inline: string };
  /** Inlined as the InitMessage of a standalone report. */
  data?: unknown;
}

// The csp-nonce meta is where FAST (under the UI toolkit) looks for the
// nonce to put on the <style> elements it creates; without it the CSP
// blocks them.
export function renderPage(o: PageOptions): string {
  const script =
    'uri' in o.script
      ? `<script type="module" nonce="${o.nonce}" src="${escapeHtml(o.script.uri)}"></script>`
      : `<script type="module" nonce="${o.nonce}">${inlineScriptText(o.script.inline)}</script>`;
  const data =
    o.data === undefined ? '' : `<script type="application/json" id="${REPORT_DATA_ID}">${inlineJsonText(o.data)}</script>\n`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(o.nonce, o.cspSource)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="csp-nonce" content="${o.nonce}">
<title>${escapeHtml(o.title)}</title>
<style nonce="${o.nonce}">${WEBVIEW_CSS}</style>
</head>
<body>
<div id="app"></div>
${data}${script}
</body>
</html>
`;
}
