// The webview's stylesheet, as a string: the host puts it in a nonce'd
// <style> (the CSP allows no inline styles otherwise), and the standalone
// report inlines the same. Colours come from VS Code's theme variables, with
// fallbacks (dark, and light under prefers-color-scheme) for the report
// opened in a plain browser; the charts' categorical palette is our own.
export const WEBVIEW_CSS = `
:root {
  --ts-fg: var(--vscode-foreground, #cccccc);
  --ts-bg: var(--vscode-editor-background, #1e1e1e);
  --ts-muted: var(--vscode-descriptionForeground, #9d9d9d);
  --ts-border: var(--vscode-panel-border, #3c3c3c);
  --ts-card: var(--vscode-editorWidget-background, #252526);
  --ts-error: var(--vscode-errorForeground, #f48771);
  --ts-warning: var(--vscode-editorWarning-foreground, #cca700);
  --ts-link: var(--vscode-textLink-foreground, #3794ff);
  --ts-font: var(--vscode-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
  --ts-font-size: var(--vscode-font-size, 13px);
  --ts-mono: var(--vscode-editor-font-family, ui-monospace, monospace);
  /*
   * The categorical palette (memory parts, step phases, series): Okabe and
   * Ito's colour-blind-safe set, not the theme's --vscode-charts-* (whose
   * orange and yellow, grad and workspace, are nearly one colour to a
   * deuteranope or protanope). Its yellow is left out: on a light
   * background it barely shows. The same six in every theme, dark, light
   * and high contrast, so a legend means one thing everywhere.
   */
  --ts-chart-1: #0072b2; /* blue */
  --ts-chart-2: #e69f00; /* orange */
  --ts-chart-3: #009e73; /* bluish green */
  --ts-chart-4: #cc79a7; /* reddish purple */
  --ts-chart-5: #56b4e9; /* sky blue */
  --ts-chart-6: #d55e00; /* vermillion */
  --ts-chart-lines: var(--vscode-charts-lines, rgba(128, 128, 128, 0.35));
  /* What the editor's cursor is on (a config key, layers). */
  --ts-focus-bg: var(--vscode-editor-findMatchHighlightBackground, rgba(234, 92, 0, 0.25));
  --ts-focus-border: var(--vscode-focusBorder, #007fd4);
}
@media (prefers-color-scheme: light) {
  :root {
    --ts-fg: var(--vscode-foreground, #333333);
    --ts-bg: var(--vscode-editor-background, #ffffff);
    --ts-muted: var(--vscode-descriptionForeground, #717171);
    --ts-border: var(--vscode-panel-border, #e5e5e5);
    --ts-card: var(--vscode-editorWidget-background, #f3f3f3);
    --ts-error: var(--vscode-errorForeground, #a1260d);
    --ts-warning: var(--vscode-editorWarning-foreground, #bf8803);
    --ts-link: var(--vscode-textLink-foreground, #006ab1);
  }
}
html, body { margin: 0; padding: 0; }
body {
  color: var(--ts-fg);
  background: var(--ts-bg);
  font-family: var(--ts-font);
  font-size: var(--ts-font-size);
  padding: 0 16px 24px;
}
header.ts-header {
  display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 16px;
  padding: 12px 0 8px; border-bottom: 1px solid var(--ts-border);
}
header.ts-header h1 { font-size: 1.3em; font-weight: 600; margin: 0; }
.ts-status { font-size: 0.85em; padding: 1px 8px; border-radius: 10px; border: 1px solid var(--ts-border); }
.ts-status[data-status="live"] { border-color: var(--ts-chart-1); color: var(--ts-chart-1); }
.ts-status[data-status="failed"], .ts-status[data-status="incomplete"] { border-color: var(--ts-error); color: var(--ts-error); }
.ts-status[data-status="interrupted"] { border-color: var(--ts-warning); color: var(--ts-warning); }
.ts-actions { margin-left: auto; display: flex; gap: 6px; }
.ts-muted { color: var(--ts-muted); }
.ts-error { color: var(--ts-error); }
.ts-warning { color: var(--ts-warning); }
.ts-stats { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.ts-stat { background: var(--ts-card); border: 1px solid var(--ts-border); border-radius: 4px; padding: 6px 10px; min-width: 110px; }
.ts-stat .ts-stat-label { font-size: 0.8em; color: var(--ts-muted); }
.ts-stat .ts-stat-value { font-size: 1.15em; font-family: var(--ts-mono); }
.ts-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; margin-top: 8px; }
.ts-card { background: var(--ts-card); border: 1px solid var(--ts-border); border-radius: 4px; padding: 8px 10px 10px; min-width: 0; }
.ts-card h2 { font-size: 1em; font-weight: 600; margin: 0 0 6px; }
.ts-card .ts-note { font-size: 0.85em; color: var(--ts-muted); margin: 4px 0 0; }
.ts-chart { position: relative; height: 240px; }
.ts-chart.ts-tall { height: 320px; }
.ts-empty { padding: 24px 4px; color: var(--ts-muted); }
.ts-problems { margin: 8px 0; padding: 6px 10px; border-left: 3px solid var(--ts-warning); background: var(--ts-card); }
.ts-problems.ts-failed { border-left-color: var(--ts-error); }
.ts-problems ul { margin: 4px 0 0; padding-left: 18px; }
.ts-problems li { font-family: var(--ts-mono); font-size: 0.9em; white-space: pre-wrap; }
.ts-view { padding-top: 8px; width: 100%; }
.ts-grid-hint { font-size: 0.85em; color: var(--ts-muted); margin: 4px 0 8px; }
.ts-table-wrap { overflow-x: auto; }
/* Wide tables scroll sideways instead of wrapping run ids and headers letter by letter. */
.ts-table-wrap vscode-data-grid { min-width: max-content; }
.ts-table-wrap vscode-data-grid-cell { white-space: nowrap; }
vscode-data-grid-row.ts-clickable { cursor: pointer; }
/* A grid that fits its content (components.ts, fit): one set of column tracks for all its rows. */
.ts-table-wrap vscode-data-grid.ts-grid-fit { display: grid; min-width: min-content; }
vscode-data-grid.ts-grid-fit vscode-data-grid-row { grid-column: 1 / -1; }
.ts-table-wrap vscode-data-grid.ts-grid-fit vscode-data-grid-cell[cell-type="columnheader"] { white-space: normal; overflow-wrap: normal; }
vscode-panels { width: 100%; }
vscode-panel-view { padding: 0; }
/* Communication view (webview/views/communication.ts). */
.ts-comm-timeline { position: relative; width: 100%; overflow: hidden; }
.ts-comm-timeline canvas { display: block; cursor: grab; }
.ts-comm-tip {
  position: absolute; pointer-events: none; white-space: pre; z-index: 2;
  background: var(--vscode-editorHoverWidget-background, var(--ts-card));
  color: var(--vscode-editorHoverWidget-foreground, var(--ts-fg));
  border: 1px solid var(--vscode-editorHoverWidget-border, var(--ts-border));
  padding: 4px 6px; font-family: var(--ts-mono); font-size: 0.85em; border-radius: 3px;
}
.ts-comm-controls { display: flex; gap: 12px; align-items: center; margin-bottom: 6px; }
.ts-comm-controls select {
  background: var(--vscode-dropdown-background, var(--ts-card)); color: var(--vscode-dropdown-foreground, var(--ts-fg));
  border: 1px solid var(--vscode-dropdown-border, var(--ts-border));
}
.ts-comm-details { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; margin-top: 12px; }
table.ts-comm-table { border-collapse: collapse; font-family: var(--ts-mono); font-size: 0.9em; }
table.ts-comm-table th, table.ts-comm-table td { padding: 2px 8px; text-align: right; border-bottom: 1px solid var(--ts-border); white-space: nowrap; }
table.ts-comm-table th { color: var(--ts-muted); font-weight: 600; }
.ts-focus { outline: 2px solid var(--ts-focus-border); outline-offset: 1px; background-image: linear-gradient(var(--ts-focus-bg), var(--ts-focus-bg)); }
vscode-panel-tab.ts-focus-tab { color: var(--ts-focus-border); text-decoration: underline; }
.ts-table-more { display: flex; gap: 8px; align-items: center; margin-top: 6px; font-size: 0.9em; }
`;
