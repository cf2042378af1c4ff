// Tiny DOM helpers: elements are built with textContent and properties only,
// never innerHTML, so run data (config paths, error messages) cannot inject
// markup.

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; title?: string } = {},
  children: ReadonlyArray<Node | string> = [],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className) e.className = props.className;
  if (props.text !== undefined) e.textContent = props.text;
  if (props.title) e.title = props.title;
  for (const c of children) e.append(c);
  return e;
}

export function clear(e: Element): void {
  while (e.firstChild) e.removeChild(e.firstChild);
}

/** A titled card with an optional note under it. */
export function card(title: string, body: Node, note?: string): HTMLElement {
  const c = el('section', { className: 'ts-card' }, [el('h2', { text: title }), body]);
  if (note) c.append(el('p', { className: 'ts-note', text: note }));
  return c;
}

export function stat(label: string, value: string, title?: string): HTMLElement {
  return el('div', { className: 'ts-stat', title }, [
    el('div', { className: 'ts-stat-label', text: label }),
    el('div', { className: 'ts-stat-value', text: value }),
  ]);
}

/**
 * Marks an element as showing config keys (`"train.checkpoint"`, …): the
 * panel highlights it when the editor's cursor is on one of those lines.
 */
export function showsKeys<E extends HTMLElement>(e: E, ...keys: string[]): E {
  e.dataset.configKey = keys.join(' ');
  return e;
}

/** Marks an element as showing a layer (its index in the run's layers), for the same highlighting. */
export function showsLayer<E extends HTMLElement>(e: E, index: number): E {
  e.dataset.layer = String(index);
  return e;
}

/** A card (see card) showing config keys. */
export function cardFor(keys: readonly string[], title: string, body: Node, note?: string): HTMLElement {
  return showsKeys(card(title, body, note), ...keys);
}
