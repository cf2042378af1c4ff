// Shared by the extension's tests: where the repository and the trainer are,
// and a quick real run to read. Not a test file itself (no .test.ts).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { root } from './root';

export { root };
export const trainer = process.env.TRAINSCOPE_TRAINER ?? path.join(root, 'native', 'build', 'trainscope-train');
export const haveTrainer = existsSync(trainer);
export const NO_TRAINER = `no trainer at ${trainer} (npm run build)`;

/** A one-block model that runs a step in about a millisecond. */
export const TINY = [
  'model.layers=1',
  'model.width=32',
  'model.heads=2',
  'model.context=16',
  'model.vocab=32',
  'train.batch=2',
  'train.warmup=0',
];

export function tempDir(prefix = 'trainscope-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs the trainer to completion into `outDir`; throws on a non-zero exit. */
export function runTrainer(config: string, outDir: string, sets: readonly string[]): void {
  const args = [config, '--out', outDir, '--quiet'];
  for (const s of sets) args.push('--set', s);
  const r = spawnSync(trainer, args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`trainer exited ${r.status}: ${r.stderr}`);
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The first 100 000 characters. */
  stderr: string;
}

export interface TinyRun {
  /** The temporary folder: the config in it, the run folder `out` under it. */
  dir: string;
  config: string;
  /** `--out`: the run folder. */
  out: string;
  child: ChildProcess;
  /** When the trainer exits. */
  done: Promise<Finished>;
}

/**
 * Starts the trainer on `configText` (written as `dir/name`) with `--out
 * dir/out --quiet` and each of `sets` as `--set`, in a fresh temporary
 * folder. The test's end kills the trainer if it still runs and removes the
 * folder. Fails the test when the trainer is not built.
 */
export function runTiny(t: TestContext, configText: string, sets: readonly string[] = [], name = 'tiny.train'): TinyRun {
  assert.ok(haveTrainer, NO_TRAINER);
  const dir = tempDir('trainscope-events-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, name);
  writeFileSync(config, configText);
  const out = path.join(dir, 'out');
  const args = [config, '--out', out, '--quiet'];
  for (const s of sets) args.push('--set', s);
  const child = spawn(trainer, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    if (stderr.length < 100_000) stderr += s;
  });
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { dir, config, out, child, done };
}
