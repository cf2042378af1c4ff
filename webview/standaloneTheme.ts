// Theme variables for the standalone report. Inside VS Code the webview gets
// every --vscode-* colour from the editor; a browser has none, and the UI
// toolkit would then fall back to its dark palette whatever the page. So the
// report defines the variables it and the toolkit read, from VS Code's
// default light and dark themes, following the browser's preference.

const COMMON: Record<string, string> = {
  '--vscode-font-family': 'system-ui, -apple-system, "Segoe UI", Ubuntu, sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-font-weight': 'normal',
  '--vscode-editor-font-family': 'ui-monospace, "SF Mono", Menlo, Consolas, monospace',
};

const DARK: Record<string, string> = {
  '--vscode-foreground': '#cccccc',
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-panel-border': '#2b2b2b',
  '--vscode-panel-background': '#1f1f1f',
  '--vscode-editorWidget-background': '#252526',
  '--vscode-errorForeground': '#f85149',
  '--vscode-editorWarning-foreground': '#cca700',
  '--vscode-textLink-foreground': '#4daafc',
  '--vscode-textLink-activeForeground': '#4daafc',
  '--vscode-focusBorder': '#0078d4',
  '--vscode-button-background': '#0078d4',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-hoverBackground': '#026ec1',
  '--vscode-button-border': 'rgba(255, 255, 255, 0.07)',
  '--vscode-button-secondaryBackground': '#313131',
  '--vscode-button-secondaryForeground': '#cccccc',
  '--vscode-button-secondaryHoverBackground': '#3c3c3c',
  '--vscode-panelTitle-activeBorder': '#0078d4',
  '--vscode-panelTitle-activeForeground': '#cccccc',
  '--vscode-panelTitle-inactiveForeground': '#9d9d9d',
  '--vscode-list-hoverBackground': '#2a2d2e',
  '--vscode-list-activeSelectionBackground': '#04395e',
  '--vscode-list-activeSelectionForeground': '#ffffff',
  '--vscode-badge-background': '#616161',
  '--vscode-badge-foreground': '#f8f8f8',
  '--vscode-scrollbarSlider-background': 'rgba(121, 121, 121, 0.4)',
  '--vscode-scrollbarSlider-hoverBackground': 'rgba(100, 100, 100, 0.7)',
  '--vscode-scrollbarSlider-activeBackground': 'rgba(191, 191, 191, 0.4)',
  '--vscode-charts-foreground': '#cccccc',
  '--vscode-charts-lines': 'rgba(204, 204, 204, 0.25)',
};

const LIGHT: Record<string, string> = {
  '--vscode-foreground': '#3b3b3b',
  '--vscode-editor-background': '#ffffff',
  '--vscode-descriptionForeground': '#717171',
  '--vscode-panel-border': '#e5e5e5',
  '--vscode-panel-background': '#ffffff',
  '--vscode-editorWidget-background': '#f8f8f8',
  '--vscode-errorForeground': '#e51400',
  '--vscode-editorWarning-foreground': '#bf8803',
  '--vscode-textLink-foreground': '#005fb8',
  '--vscode-textLink-activeForeground': '#005fb8',
  '--vscode-focusBorder': '#005fb8',
  '--vscode-button-background': '#005fb8',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-hoverBackground': '#0258a8',
  '--vscode-button-border': 'rgba(0, 0, 0, 0.1)',
  '--vscode-button-secondaryBackground': '#e5e5e5',
  '--vscode-button-secondaryForeground': '#3b3b3b',
  '--vscode-button-secondaryHoverBackground': '#cccccc',
  '--vscode-panelTitle-activeBorder': '#005fb8',
  '--vscode-panelTitle-activeForeground': '#3b3b3b',
  '--vscode-panelTitle-inactiveForeground': '#717171',
  '--vscode-list-hoverBackground': '#f2f2f2',
  '--vscode-list-activeSelectionBackground': '#e8e8e8',
  '--vscode-list-activeSelectionForeground': '#000000',
  '--vscode-badge-background': '#cccccc',
  '--vscode-badge-foreground': '#3b3b3b',
  '--vscode-scrollbarSlider-background': 'rgba(100, 100, 100, 0.4)',
  '--vscode-scrollbarSlider-hoverBackground': 'rgba(100, 100, 100, 0.7)',
  '--vscode-scrollbarSlider-activeBackground': 'rgba(0, 0, 0, 0.6)',
  '--vscode-charts-foreground': '#3b3b3b',
  '--vscode-charts-lines': 'rgba(59, 59, 59, 0.2)',
};

function apply(dark: boolean): void {
  const style = document.documentElement.style;
  for (const [k, v] of Object.entries({ ...COMMON, ...(dark ? DARK : LIGHT) })) style.setProperty(k, v);
  // The toolkit re-reads the variables when <body>'s class changes, as it
  // does when VS Code switches theme.
  document.body.classList.toggle('vscode-dark', dark);
  document.body.classList.toggle('vscode-light', !dark);
}

/** Sets the theme variables now and whenever the browser's preference changes. */
export function useStandaloneTheme(): void {
  const q = window.matchMedia('(prefers-color-scheme: dark)');
  apply(q.matches);
  q.addEventListener('change', () => apply(q.matches));
}
