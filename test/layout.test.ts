// The source layout's rules (README "Layout"): webview/ and extension/ do not
// import each other, and common/ runs in any host (no `vscode`, no `node:`
// module, no DOM globals). A plain scan of the import lines: every import in
// these folders is a static one.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { root } from './support/trainer';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)].map((m) => m[1] ?? m[2]);
}

// Repository-relative path of a relative import, with `.ts`.
function resolved(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return path.relative(root, path.resolve(path.dirname(file), spec)) + '.ts';
}

const top = (rel: string): string => rel.split(path.sep)[0];

test('webview/ imports nothing from extension/, extension/ nothing from webview/', () => {
  const wrong: string[] = [];
  for (const [from, banned] of [['webview', 'extension'], ['extension', 'webview']]) {
    for (const f of sources(path.join(root, from))) {
      for (const spec of imports(f)) {
        const r = resolved(f, spec);
        if (r && top(r) === banned) wrong.push(`${path.relative(root, f)} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test('common/ imports no vscode, no node: module and uses no DOM global', () => {
  const wrong: string[] = [];
  const dom = /\b(?:document|window|HTMLElement|customElements|navigator|localStorage|requestAnimationFrame)\b/;
  for (const f of sources(path.join(root, 'common'))) {
    const rel = path.relative(root, f);
    for (const spec of imports(f)) {
      const r = resolved(f, spec);
      if (spec === 'vscode' || spec.startsWith('node:') || (r && top(r) !== 'common')) wrong.push(`${rel} imports ${spec}`);
      else if (!spec.startsWith('.')) wrong.push(`${rel} imports the package ${spec}`);
    }
    const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const m = dom.exec(code);
    if (m) wrong.push(`${rel} uses ${m[0]}`);
  }
  assert.deepEqual(wrong, []);
});

test('extension/ has no import circle (type-only imports count)', () => {
  const dir = path.join(root, 'extension');
  const edges = new Map<string, string[]>();
  for (const f of sources(dir)) {
    const rel = path.relative(root, f);
    const to = imports(f)
      .map((spec) => resolved(f, spec))
      .filter((r): r is string => r !== undefined && top(r) === 'extension');
    edges.set(rel, to);
  }
  const circles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      const s = state.get(next);
      if (s === 'open') circles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...edges.keys()].sort()) if (!state.has(file)) visit(file);
  assert.deepEqual(circles, []);
});
