// The one place that knows the UI component library. @vscode/webview-ui-toolkit
// is deprecated upstream; everything else builds tabs, buttons and grids
// through these functions, so moving to @vscode-elements/elements means
// rewriting this file only.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeDataGrid,
  vsCodeDataGridCell,
  vsCodeDataGridRow,
  vsCodePanels,
  vsCodePanelTab,
  vsCodePanelView,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Defines the custom elements (once). */
export function registerComponents(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(
    vsCodeButton(),
    vsCodeDataGrid(),
    vsCodeDataGridCell(),
    vsCodeDataGridRow(),
    vsCodePanels(),
    vsCodePanelTab(),
    vsCodePanelView(),
  );
}

interface TabSpec {
  id: string;
  label: string;
  content: HTMLElement;
}

interface Tabs {
  element: HTMLElement;
  select(id: string): void;
}

/** A tab strip with one view per tab; `onChange` gets the id of the tab shown. */
export function createTabs(tabs: readonly TabSpec[], activeId: string, onChange: (id: string) => void): Tabs {
  const panels = document.createElement('vscode-panels');
  for (const t of tabs) {
    const tab = document.createElement('vscode-panel-tab');
    tab.id = `tab-${t.id}`;
    tab.textContent = t.label;
    panels.appendChild(tab);
  }
  for (const t of tabs) {
    const view = document.createElement('vscode-panel-view');
    view.id = `view-${t.id}`;
    view.appendChild(t.content);
    panels.appendChild(view);
  }
  panels.setAttribute('activeid', `tab-${activeId}`);
  panels.addEventListener('change', (e) => {
    // The toolkit emits `change` with the active tab element as detail.
    const detail = (e as CustomEvent<unknown>).detail;
    if (detail instanceof HTMLElement && detail.id.startsWith('tab-')) onChange(detail.id.slice(4));
  });
  return {
    element: panels,
    select(id) {
      panels.setAttribute('activeid', `tab-${id}`);
    },
  };
}

interface ButtonOptions {
  appearance?: 'primary' | 'secondary';
  title?: string;
}

export function createButton(label: string, onClick: () => void, options: ButtonOptions = {}): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('appearance', options.appearance ?? 'secondary');
  if (options.title) b.title = options.title;
  b.addEventListener('click', onClick);
  return b;
}

interface GridColumn<Row> {
  key: keyof Row & string;
  title: string;
}

export interface DataGrid<Row> {
  element: HTMLElement;
  setRows(rows: readonly Row[]): void;
  /** Puts `className` on the drawn rows whose data `test` accepts, and takes it off the others. */
  markRows(test: (row: Row) => boolean, className: string): void;
}

// The toolkit's grid elements, as far as this module uses them.
interface GridElement extends HTMLElement {
  rowsData: object[];
  columnDefinitions: { columnDataKey: string; title: string }[];
  /** Given to every row as its grid-template-columns. */
  gridTemplateColumns: string;
}
interface GridRowElement extends HTMLElement {
  rowData: object | null;
}

interface GridOptions {
  /**
   * Columns as wide as their content, as in a table, with headers wrapping
   * between words, so that a wide grid fits its container where it can.
   * Otherwise every column takes an equal share and, in a .ts-table-wrap,
   * the grid scrolls sideways at the width of its widest column times the
   * number of columns.
   */
  fit?: boolean;
}

/**
 * A data grid of plain rows (cells show `String(row[key])`). `onActivate`,
 * when given, is called with the row clicked or chosen with Enter.
 */
export function createDataGrid<Row extends object>(
  columns: readonly GridColumn<Row>[],
  onActivate?: (row: Row) => void,
  options: GridOptions = {},
): DataGrid<Row> {
  const grid = document.createElement('vscode-data-grid') as GridElement;
  grid.setAttribute('generate-header', 'sticky');
  grid.setAttribute('aria-label', columns.map((c) => c.title).join(', '));
  grid.columnDefinitions = columns.map((c) => ({ columnDataKey: c.key, title: c.title }));
  if (options.fit) {
    // Each toolkit row is a grid of its own: with auto columns each would
    // size its cells alone and the columns would not line up. So the grid
    // holds the tracks, sized over all rows, and every row takes them as
    // its subgrid (styles.ts: .ts-grid-fit).
    grid.classList.add('ts-grid-fit');
    grid.style.gridTemplateColumns = `repeat(${columns.length}, auto)`;
    grid.gridTemplateColumns = 'subgrid';
  }
  if (onActivate) {
    const rowOf = (e: Event): Row | undefined => {
      // Rows may render inside shadow roots: walk the composed path.
      for (const t of e.composedPath()) {
        if (t instanceof HTMLElement && t.tagName === 'VSCODE-DATA-GRID-ROW') {
          const data = (t as GridRowElement).rowData;
          return data ? (data as Row) : undefined;
        }
      }
      return undefined;
    };
    grid.addEventListener('click', (e) => {
      const row = rowOf(e);
      if (row) onActivate(row);
    });
    grid.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key !== 'Enter') return;
      const row = rowOf(e);
      if (row) onActivate(row);
    });
  }
  return {
    element: grid,
    setRows(rows) {
      grid.rowsData = rows.slice();
    },
    markRows(test, className) {
      for (const r of grid.querySelectorAll<GridRowElement>('vscode-data-grid-row')) {
        r.classList.toggle(className, r.rowData !== null && test(r.rowData as Row));
      }
    },
  };
}
