// The README's trainer commands, as written: its usage synopsis lists the
// options `trainscope-train --help` prints (no more, no fewer), every
// option the README's command lines pass exists, and the multi-rank line
// and the report command run (in a scratch folder that links the build, so
// nothing is written into the checkout). The two top commands (npm run
// demo, npm test) are CI itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { root } from './support/root';

const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const trainer = path.join(root, 'native', 'build', 'trainscope-train');
const help = spawnSync(trainer, ['--help'], { encoding: 'utf8' });

/** The code blocks of a markdown text, their lines joined back where they end in `\`. */
function codeBlocks(md: string): string[] {
  return [...md.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const options = (text: string): Set<string> => new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]));

describe('the README against the trainer', () => {
  test('the usage synopsis lists exactly the options of --help', () => {
    assert.equal(help.status, 0, help.stderr);
    const synopsis = codeBlocks(readme).find((b) => b.trimStart().startsWith('native/build/trainscope-train CONFIG'));
    assert.ok(synopsis, 'the README has a usage synopsis');
    const helpOptions = options(help.stdout.slice(help.stdout.indexOf('options:')));
    assert.deepEqual([...options(synopsis)].sort(), [...helpOptions].sort());
  });

  test('every option a README command line passes to the trainer exists', () => {
    const helpOptions = options(help.stdout);
    const lines = codeBlocks(readme).flatMap((b) => b.split('\n')).filter((l) => /trainscope-train\s/.test(l) && !l.trimStart().startsWith('native/build/trainscope-train CONFIG'));
    assert.ok(lines.length > 0);
    for (const l of lines) {
      const cmd = l.replace(/#.*$/, '');
      const mpirun = cmd.indexOf('trainscope-train');
      for (const o of options(cmd.slice(mpirun))) assert.ok(helpOptions.has(o), `${o} (in "${l.trim()}") is not an option of trainscope-train --help`);
    }
  });

  describe('the multi-rank line and the report command, as written', () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'trainscope-readme-'));
    after(() => rmSync(scratch, { recursive: true, force: true }));
    for (const d of ['native', 'examples', 'out']) symlinkSync(path.join(root, d), path.join(scratch, d));
    const block = codeBlocks(readme).find((b) => /^mpirun .*trainscope-train/m.test(b));

    test('they run, and the report is written into the run folder', { skip: !existsSync('/usr/bin/mpirun') && 'mpirun is not installed' }, () => {
      assert.ok(block, 'the README has a multi-rank block');
      const lines = block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
      const out = /--out (\S+)/.exec(lines[0])?.[1];
      assert.ok(out, `the mpirun line names its --out folder: ${lines[0]}`);
      assert.ok(lines.some((l) => l.startsWith('node out/report.js ')), 'the block renders the report');
      // The short run the test can afford; everything else as written.
      for (const l of lines) {
        const cmd = l.startsWith('mpirun ') ? `${l} --set train.steps=3 --set train.warmup=0 --quiet` : l;
        const r = spawnSync('sh', ['-c', cmd], { cwd: scratch, encoding: 'utf8', timeout: 120_000 });
        assert.equal(r.status, 0, `${cmd}\n${r.stderr}`);
      }
      assert.ok(existsSync(path.join(scratch, out, 'events.rank1.jsonl')), 'two ranks ran');
      assert.match(readFileSync(path.join(scratch, out, 'report.html'), 'utf8'), /^<!DOCTYPE html>/i);
      // The folder it writes is one the repository ignores.
      const ignored = spawnSync('git', ['check-ignore', '-q', path.join(out, 'events.jsonl')], { cwd: root });
      assert.equal(ignored.status, 0, `${out} is not ignored by .gitignore`);
    });
  });
});
