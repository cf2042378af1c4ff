// Which folders the host reads as runs: a panel's restore state (the
// webview's to write) names folders, and a run folder (data someone else
// may have written) names a config file and holds rank files. Only run
// folders of the runs folders, config files of the workspace and the
// folder's own plain files are read, with symlinks resolved.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { RunRecord } from '../common/events/schema';
import { barColumns } from '../common/timelineBars';
import { acceptRunDir, configInWorkspace, loadRun } from '../extension/runs/runStore';
import { root, tempDir } from './support/trainer';

const base = tempDir();
after(() => rmSync(base, { recursive: true, force: true }));

const ws = path.join(base, 'ws');
const runs = path.join(ws, '.trainscope', 'runs');
const outside = path.join(base, 'elsewhere');

function runFolder(dir: string, events = '{}\n'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'events.jsonl'), events);
  return dir;
}

const good = runFolder(path.join(runs, '20260101-000000-tiny'));
const stray = runFolder(path.join(outside, 'run'));
mkdirSync(path.join(runs, 'empty'));
runFolder(path.join(good, 'nested'));
symlinkSync(stray, path.join(runs, 'link-out'));
mkdirSync(path.join(runs, 'events-link'));
symlinkSync(path.join(stray, 'events.jsonl'), path.join(runs, 'events-link', 'events.jsonl'));
// The runs folder reached through a symlink is the same runs folder.
symlinkSync(ws, path.join(base, 'ws-link'));

describe('acceptRunDir: only what Show Profile would list', () => {
  test('a run folder of the runs folder is read, by its real path', async () => {
    assert.deepEqual(await acceptRunDir(good, [runs]), { dir: good });
    const viaLink = path.join(base, 'ws-link', '.trainscope', 'runs', path.basename(good));
    assert.deepEqual(await acceptRunDir(viaLink, [runs]), { dir: good });
    assert.deepEqual(await acceptRunDir(good, [path.join(base, 'ws-link', '.trainscope', 'runs')]), { dir: good });
  });

  test('others are refused, with the reason', async () => {
    const refused = async (dir: string, folders = [runs]): Promise<string> => {
      const r = await acceptRunDir(dir, folders);
      assert.ok('refused' in r, `${dir} was accepted`);
      return r.refused;
    };
    assert.match(await refused(stray), /is not a run folder of the workspace's runs folders/);
    assert.match(await refused(path.join(runs, '..', '..', '..', 'elsewhere', 'run')), /is not a run folder/);
    assert.match(await refused(path.join(runs, 'link-out')), /is not a run folder/, 'a symlink out of the runs folder');
    assert.match(await refused(path.join(runs, 'events-link')), /events\.jsonl is not a file of that folder/);
    assert.match(await refused(path.join(runs, 'empty')), /has no events\.jsonl/);
    assert.match(await refused(path.join(good, 'nested')), /is not a run folder/, 'not directly in the runs folder');
    assert.match(await refused(path.join(runs, 'gone')), /does not exist/);
    assert.match(await refused('.trainscope/runs/20260101-000000-tiny'), /not an absolute path/);
    assert.match(await refused(good, []), /\(none\)/, 'no runs folders, no runs');
  });
});

describe('configInWorkspace: the config a run names, only inside the workspace', () => {
  mkdirSync(path.join(ws, 'configs'), { recursive: true });
  const config = path.join(ws, 'configs', 'tiny.train');
  writeFileSync(config, '[model]\n');
  writeFileSync(path.join(outside, 'secret.train'), '');
  symlinkSync(path.join(outside, 'secret.train'), path.join(ws, 'configs', 'link.train'));

  test('relative to a workspace folder, or absolute inside it', () => {
    assert.equal(configInWorkspace('configs/tiny.train', [ws]), config);
    assert.equal(configInWorkspace(config, [ws]), config);
    assert.equal(configInWorkspace('configs/tiny.train', [outside, ws]), config);
  });

  test('outside it, through .. or a symlink, or not a file: none', () => {
    assert.equal(configInWorkspace(path.join(outside, 'secret.train'), [ws]), undefined);
    assert.equal(configInWorkspace('../elsewhere/secret.train', [ws]), undefined);
    assert.equal(configInWorkspace('configs/link.train', [ws]), undefined);
    assert.equal(configInWorkspace('configs', [ws]), undefined);
    assert.equal(configInWorkspace('configs/none.train', [ws]), undefined);
    assert.equal(configInWorkspace('configs/tiny.train', []), undefined);
  });
});

describe('loadRun reads only the rank files of the run\'s ranks, and no symlinks', () => {
  test('a symlinked rank file and one past the ranks are left out', async () => {
    const fixture = readFileSync(path.join(root, 'test', 'fixtures', 'gpu-run', 'events.jsonl'), 'utf8').split('\n');
    const run = JSON.parse(fixture[0]) as RunRecord;
    run.ranks = 2;
    const span = (rank: number) => JSON.stringify({ type: 'span', rank, step: 1, layer: 1, name: 'block.0', phase: 'fwd', t0: 0, t1: 5 });
    const step = JSON.stringify({ type: 'step', step: 1, loss: 3, lr: 1, grad_norm: 1, ms: 1, tokens_per_s: 1, phases: { data: 0, fwd: 1, bwd: 0, optim: 0 }, mem: { live_bytes: 1, peak_bytes: 1 } });
    const dir = runFolder(path.join(runs, 'dp'), [JSON.stringify(run), span(0), step].join('\n') + '\n');
    const rankFile = path.join(outside, 'events.rank1.jsonl');
    writeFileSync(rankFile, span(1) + '\n');
    symlinkSync(rankFile, path.join(dir, 'events.rank1.jsonl'));
    writeFileSync(path.join(dir, 'events.rank7.jsonl'), span(7) + '\n');
    const { model } = await loadRun(dir);
    const ranks = Array.from(barColumns(model.timeline!.samples[0].bars).rank);
    assert.deepEqual(ranks, [0], 'only rank 0\'s own span');
    assert.equal(model.streamProblems.count, 0, model.streamProblems.messages.join('\n'));
    rmSync(path.join(dir, 'events.rank1.jsonl'));
    writeFileSync(path.join(dir, 'events.rank1.jsonl'), span(1) + '\n');
    const again = await loadRun(dir);
    assert.deepEqual(Array.from(barColumns(again.model.timeline!.samples[0].bars).rank), [0, 1], 'a plain rank file is read');
  });
});
