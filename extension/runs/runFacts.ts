// The few facts of a finished run that editing its config needs: the
// measured peak (from summary.json) and the gradient noise scale's
// suggested accumulation (from the last step records). Read without
// loading the whole stream: a long run's events.jsonl can be hundreds of
// MB, and this runs whenever a config is opened or a run ends.
// No `vscode` import.
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LastRunFacts } from '../config/suggestions';
import type { SummaryRecord } from '../../common/events/schema';
import { validateEvent } from '../../common/events/validate';
import { EVENTS_FILE, readRunRecord, SUMMARY_FILE } from './runStore';

// The stream's end holds the last steps: a step record is ~400 bytes, a
// sampled step's spans a few hundred bytes per layer, so this holds many
// steps of any model.
const TAIL_BYTES = 256 * 1024;

/** The last `max` bytes of a file, as whole lines (a cut first line is dropped). */
async function tailLines(file: string, max = TAIL_BYTES): Promise<string[]> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const from = Math.max(0, size - max);
    const buf = Buffer.alloc(size - from);
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    const lines = buf.subarray(0, bytesRead).toString('utf8').split('\n');
    if (from > 0) lines.shift();
    return lines;
  } finally {
    await fh.close();
  }
}

function parseRecord(line: string): ReturnType<typeof validateEvent> | undefined {
  if (!line.trim()) return undefined;
  try {
    return validateEvent(JSON.parse(line));
  } catch {
    return undefined;
  }
}

async function readSummaryFile(dir: string): Promise<SummaryRecord | undefined> {
  try {
    const r = parseRecord(await readFile(path.join(dir, SUMMARY_FILE), 'utf8'));
    return r?.ok && r.event.type === 'summary' ? r.event : undefined;
  } catch {
    // No summary.json: a run killed outright, or still running.
    return undefined;
  }
}

/** What a run folder says about its run; fields it does not have stay undefined. */
export async function readRunFacts(dir: string): Promise<LastRunFacts> {
  const facts: LastRunFacts = { id: path.basename(dir), dir };
  const run = await readRunRecord(dir).catch(() => undefined);
  if (run) facts.config = run.config;
  let summary = await readSummaryFile(dir);
  let lines: string[] = [];
  try {
    lines = await tailLines(path.join(dir, EVENTS_FILE));
  } catch {
    // No stream: nothing more to learn.
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const r = parseRecord(lines[i]);
    if (!r?.ok) continue;
    const ev = r.event;
    if (ev.type === 'summary') summary ??= ev;
    else if (ev.type === 'step') {
      // Only steps with a noise scale carry it; the last such step has the
      // estimate over the most steps.
      if (ev.suggested_accumulate !== undefined) {
        facts.suggestedAccumulate = ev.suggested_accumulate;
        break;
      }
    }
  }
  // A run that failed before it started writes a summary without measurements.
  if (summary && typeof (summary as Partial<SummaryRecord>).peak_bytes === 'number') facts.peakBytes = summary.peak_bytes;
  return facts;
}
