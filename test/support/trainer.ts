// Shared by the extension's tests: where the repository and the trainer are,
// and a quick real run to read. Not a test file itself (no .test.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the tests run bundled from out/test/, so walk up. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'native', 'CMakeLists.txt'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export const root = repoRoot();
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
