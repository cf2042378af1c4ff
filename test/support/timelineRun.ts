// A synthetic 2-rank run folder with a very busy sampled step, made from a
// real run's records: the Communication view's heavy case without running
// mpirun for minutes. Used by test/webview.test.ts and, bundled, by
// bench/extension.mjs (the 10^5-bar first-render benchmark).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes `dir/events.jsonl` and `dir/events.rank1.jsonl`: the real run
 * record (from `lines`, a single-rank run's events.jsonl lines) made 2-rank,
 * its layer records, and step 1 holding `bars` bars: per rank bars/4 compute
 * spans and bars/4 all-reduces (a bucket each) spread over a 1 s step.
 */
export function writeTimelineRun(lines: readonly string[], dir: string, bars: number): void {
  mkdirSync(dir, { recursive: true });
  const runLine = lines.find((l) => l.startsWith('{"type":"run"'));
  if (!runLine) throw new Error('writeTimelineRun: the lines have no run record');
  const run = JSON.parse(runLine) as { ranks: number; clock_offsets_us?: number[]; config?: { parallel?: { ranks?: number } } };
  run.ranks = 2;
  run.clock_offsets_us = [0, 0];
  if (run.config?.parallel) run.config.parallel.ranks = 2;
  const layers = lines.filter((l) => l.startsWith('{"type":"layer"'));
  const nLayers = Math.max(1, layers.length);
  const summary = lines.find((l) => l.startsWith('{"type":"summary"'));
  const perKind = Math.floor(bars / 4);
  const stepUs = 1e6;
  const rankLines = (rank: number): string[] => {
    const out: string[] = [];
    const t0 = 1000;
    const dt = stepUs / perKind;
    for (let i = 0; i < perKind; i++) {
      const a = t0 + i * dt;
      const phase = i < perKind / 3 ? 'fwd' : i < (perKind * 5) / 6 ? 'bwd' : 'optim';
      out.push(`{"type":"span","rank":${rank},"step":1,"layer":${i % nLayers},"name":"l","phase":"${phase}","t0":${a.toFixed(3)},"t1":${(a + dt * 0.8).toFixed(3)}}`);
    }
    for (let i = 0; i < perKind; i++) {
      const a = t0 + i * dt + dt * 0.1;
      const d = dt * 0.7;
      const bytes = 65536;
      const algbw = bytes / (d * 1e3);
      out.push(`{"type":"comm","rank":${rank},"step":1,"op":"allreduce","bucket":${i},"bytes":${bytes},"t0":${a.toFixed(3)},"t1":${(a + d).toFixed(3)},"algbw":${algbw.toFixed(6)},"busbw":${algbw.toFixed(6)}}`);
    }
    // As the trainer writes them: the step record after its spans.
    out.push(
      JSON.stringify({
        type: 'step', rank, step: 1, loss: 4.0, t0, t1: t0 + stepUs, lr: 1e-3, grad_norm: 1, ms: stepUs / 1e3,
        tokens_per_s: 1000, phases: { data: 0.1, fwd: 300, bwd: 600, optim: 99.9 },
        comm: { ms: 700, exposed_ms: 100, overlap: 85.7 },
        mem: { live_bytes: 1 << 20, peak_bytes: 1 << 22 },
      }),
    );
    return out;
  };
  writeFileSync(path.join(dir, 'events.jsonl'), [JSON.stringify(run), ...layers, ...rankLines(0), ...(summary ? [summary] : [])].join('\n') + '\n');
  writeFileSync(path.join(dir, 'events.rank1.jsonl'), rankLines(1).join('\n') + '\n');
}
