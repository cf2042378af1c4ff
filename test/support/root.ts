// The repository root, for every test: the tests run bundled from out/test/,
// so walk up to the folder that holds native/CMakeLists.txt rather than
// assume the depth.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'native', 'CMakeLists.txt'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export const root = repoRoot();
