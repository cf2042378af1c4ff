// Builds the run model (common/runModel.ts) from trainer events, and hands out
// deltas for live views. Only the host (and the tests and benchmarks) folds
// events: the webview receives the model and applies deltas, so the builder
// stays out of common/ and out of the webview bundle.
import { isShortSummary, SPAN_PHASES, STEP_PHASES } from '../../common/events/schema';
import type { CommRecord, LayerRecord, RunRecord, SpanRecord, StepRecord, TrainerEvent } from '../../common/events/schema';
import { packOnSerialise, type TimelineBars } from '../../common/timelineBars';
import {
  BAR_COMM,
  BAR_SPAN,
  type DeltaCursor,
  emptyModel,
  insertPhase,
  type RunDelta,
  type RunModel,
  type SpanSample,
  type StepColumns,
  type TimelineSample,
} from '../../common/runModel';

const DEFAULT_MAX_SPAN_SAMPLES = 64;
/** Other ranks' records held for a step rank 0 has not passed (bounded: a stalled rank 0 cannot grow memory). */
const MAX_WAITING = 1_000_000;
const MAX_PROBLEM_MESSAGES = 20;

// The model is sized by what the run record declares; these ceilings are the
// config language's own limits (native/core/config/key_table.cpp:
// model.layers ≤ 1024 blocks, plus embed and head; parallel.ranks ≤ 65536;
// train.steps ≤ 10^9), so a run record cannot declare its way past them,
// and they bound the records a stream without a run record may carry.
const MAX_LAYERS = 1024 + 2;
const MAX_RANKS = 65536;
const MAX_STEPS = 1e9;
/** Phases beyond schema 1's that are kept, per kind (a later trainer's; more is damage, not news). */
const MAX_UNKNOWN_PHASES = 4;
/** Error records whose messages are kept; a run stops at its first, so more are counted, not kept. */
const MAX_ERROR_RECORDS = 100;

/** What every record of a run must fall within. */
interface RunBounds {
  /** Layer indices are below this (`run.layers`: embed, the blocks, head). */
  layers: number;
  /** Ranks are below this (`run.ranks`). */
  ranks: number;
  /** Step numbers are at most this (`config.train.steps`: a resumed run numbers on up to it). */
  maxStep: number;
}

const UNDECLARED: RunBounds = { layers: MAX_LAYERS, ranks: MAX_RANKS, maxStep: MAX_STEPS };

function boundsOf(run: RunRecord): RunBounds {
  // The validator checks only that the config's sections are objects.
  const steps = (run.config.train as { steps?: unknown }).steps;
  return {
    layers: Math.min(run.layers.length, MAX_LAYERS),
    ranks: Math.min(run.ranks, MAX_RANKS),
    // An older stream whose config lacks train.steps is held to the ceiling.
    maxStep: Number.isInteger(steps) && (steps as number) >= 1 ? Math.min(steps as number, MAX_STEPS) : MAX_STEPS,
  };
}

/**
 * The phases of one kind a builder keeps: schema 1's, and the first few
 * others (a later trainer's). A stream naming a new phase in every record
 * would otherwise add a column per record.
 */
class PhaseSet {
  private readonly unknown = new Set<string>();
  constructor(private readonly known: readonly string[]) {}
  admits(name: string): boolean {
    if (this.known.includes(name) || this.unknown.has(name)) return true;
    if (this.unknown.size >= MAX_UNKNOWN_PHASES) return false;
    this.unknown.add(name);
    return true;
  }
}

// Ordered insertion of a phase name: known phases keep their canonical order
// so columns line up across runs; unknown ones go last.
function phaseIndex(names: string[], name: string): number {
  const i = names.indexOf(name);
  if (i !== -1) return i;
  names.push(name);
  return names.length - 1;
}

export interface BuilderOptions {
  /** The trainer is still running: status is `live` until a summary arrives or finish(). */
  live?: boolean;
  /** Sampled steps whose spans are kept; older ones are thinned evenly. */
  maxSpanSamples?: number;
}

/** Folds trainer events into a RunModel, and hands out deltas for live views. */
export class RunModelBuilder {
  readonly model: RunModel;
  private live: boolean;
  private readonly maxSpanSamples: number;
  private layersVersion = 0;
  private layerTimeVersion = 0;
  // Per (phase, layer) sums for LayerTime, in ms.
  private timeSum: number[][] = [];
  private timeCount: number[][] = [];
  /** Per phase and layer: the first sampled step's time (see LayerTime.meanMs). */
  private firstMs: number[][] = [];
  private lastSpanStep = -1;
  /** The last step record of rank 0's stream (events.jsonl). */
  private rank0Step = 0;
  /** Records of other ranks for steps after rank0Step (see addRank). */
  private waiting: TrainerEvent[] = [];
  private spanStride = 1;
  private spanStepsSeen = 0;
  private currentSample: SpanSample | undefined;
  private readonly tlBuild = new Map<number, SampleBuilder>();
  private bounds = UNDECLARED;
  private readonly stepPhases = new PhaseSet(STEP_PHASES);
  private readonly spanPhases = new PhaseSet(SPAN_PHASES);
  /** The parser's problems (setStreamProblems); the model's are these and `rejected`. */
  private parserProblems: { count: number; messages: readonly string[] } = { count: 0, messages: [] };
  /** Records outside the run's bounds: counted, the first few described, never folded in. */
  private rejected = { count: 0, messages: [] as string[] };

  constructor(id: string, options: BuilderOptions = {}) {
    this.live = options.live ?? false;
    this.maxSpanSamples = Math.max(2, options.maxSpanSamples ?? DEFAULT_MAX_SPAN_SAMPLES);
    this.model = emptyModel(id, this.live ? 'live' : 'incomplete');
  }

  add(events: readonly TrainerEvent[]): void {
    const m = this.model;
    const rejectedBefore = this.rejected.count;
    for (const ev of events) {
      const outside = this.outside(ev);
      if (outside !== undefined) {
        this.reject(outside);
        continue;
      }
      switch (ev.type) {
        case 'run':
          m.run = ev;
          this.bounds = boundsOf(ev);
          if (this.bounds.ranks > 1) m.timeline = { ranks: this.bounds.ranks, phases: [], samples: [] };
          break;
        case 'layer':
          this.addLayer(ev);
          break;
        case 'step':
          this.addStep(ev);
          this.timelineStep(ev);
          if (ev.step > this.rank0Step) this.rank0Step = ev.step;
          break;
        case 'eval':
          m.evals.step.push(ev.step);
          m.evals.valLoss.push(ev.val_loss);
          break;
        case 'span':
          this.addSpan(ev);
          break;
        case 'summary':
          // A run that failed before its first step ends with a summary that
          // measured nothing: the views need a full one, so keep the status
          // (failed, from the error records) and no summary.
          if (!isShortSummary(ev)) m.summary = ev;
          break;
        case 'error':
          m.errors.push(ev.message);
          break;
        default:
          if ((ev as { type: string }).type === 'comm') this.addComm(ev as unknown as CommRecord);
          break;
      }
    }
    this.releaseWaiting();
    this.flushTimeline();
    if (this.rejected.count !== rejectedBefore) this.updateProblems();
    this.updateStatus();
  }

  /**
   * Why a (schema-valid) record does not fit the run its run record
   * declares, or undefined when it fits. The model's arrays are indexed by
   * layers, ranks and phases: a record outside them would grow them to
   * whatever a line says (a span of layer 2·10^9 would take the host's heap).
   */
  private outside(ev: TrainerEvent): string | undefined {
    const b = this.bounds;
    const t = (ev as { type: string }).type;
    switch (t) {
      case 'run':
        return this.model.run ? 'a second run record (a stream has one); ignored' : undefined;
      case 'layer': {
        const l = ev as LayerRecord;
        return l.index >= b.layers ? `layer record: index ${l.index} is not one of the run's ${b.layers} layers` : undefined;
      }
      case 'step':
      case 'eval':
      case 'save':
      case 'span':
      case 'comm': {
        const r = ev as { step: number; rank?: number; layer?: number; phase?: string };
        if (r.step > b.maxStep) return `${t} record of step ${r.step}: the run has ${b.maxStep} steps`;
        if (r.rank !== undefined && r.rank >= b.ranks) return `${t} record of step ${r.step}: rank ${r.rank} is not one of the run's ${b.ranks} ranks`;
        if (t !== 'span') return undefined;
        if (r.layer! >= b.layers) return `${t} record of step ${r.step}: layer ${r.layer} is not one of the run's ${b.layers} layers`;
        if (!this.spanPhases.admits(r.phase!)) return `${t} record of step ${r.step}: phase "${r.phase}" is past the ${MAX_UNKNOWN_PHASES} phases beyond schema 1's that are kept`;
        return undefined;
      }
      case 'error':
        return this.model.errors.length >= MAX_ERROR_RECORDS ? `error record past the first ${MAX_ERROR_RECORDS}; not kept` : undefined;
      default:
        return undefined;
    }
  }

  private reject(message: string): void {
    const r = this.rejected;
    r.count++;
    if (r.messages.length < MAX_PROBLEM_MESSAGES) r.messages.push(message);
  }

  /** The model's problems: the parser's lines, then the records that did not fit. */
  private updateProblems(): void {
    const p = this.model.streamProblems;
    p.count = this.parserProblems.count + this.rejected.count;
    p.messages = [...this.parserProblems.messages, ...this.rejected.messages].slice(0, MAX_PROBLEM_MESSAGES);
  }

  private flushTimeline(): void {
    if (this.model.timeline) for (const b of this.tlBuild.values()) b.flush();
  }

  /**
   * Adds the records of a rank N ≥ 1 file (events.rankN.jsonl): only its
   * spans, comm records and step records, to the timeline of the sampled
   * steps that rank 0's stream kept. Whether a step is sampled is known
   * once rank 0's stream has passed it (its step record), so records of
   * later steps wait until then: a live run's rank files may be read ahead
   * of events.jsonl. (Ranks advance in lockstep, so few wait.)
   */
  addRank(events: readonly TrainerEvent[]): void {
    if (!this.model.timeline) return;
    const rejectedBefore = this.rejected.count;
    for (const ev of events) {
      const t = (ev as { type: string }).type;
      if (t !== 'span' && t !== 'comm' && t !== 'step') continue;
      const outside = this.outside(ev);
      if (outside !== undefined) {
        this.reject(`rank ${(ev as { rank?: number }).rank ?? 0}'s ${outside}`);
        continue;
      }
      if ((ev as { step: number }).step > this.rank0Step) {
        if (this.waiting.length < MAX_WAITING) this.waiting.push(ev);
        continue;
      }
      this.addRankRecord(ev);
    }
    this.flushTimeline();
    if (this.rejected.count !== rejectedBefore) this.updateProblems();
  }

  private addRankRecord(ev: TrainerEvent): void {
    const t = (ev as { type: string }).type;
    if (t === 'span') this.timelineSpan(ev as SpanRecord);
    else if (t === 'comm') this.addComm(ev as unknown as CommRecord);
    else this.timelineStep(ev as StepRecord);
  }

  /** Rank records whose step rank 0's stream has now passed. */
  private releaseWaiting(): void {
    if (!this.waiting.length) return;
    const still: TrainerEvent[] = [];
    for (const ev of this.waiting) {
      if ((ev as { step: number }).step <= this.rank0Step) this.addRankRecord(ev);
      else still.push(ev);
    }
    this.waiting = still;
  }

  private sampleFor(step: number): SampleBuilder | undefined {
    return this.tlBuild.get(step);
  }

  private timelineSpan(ev: SpanRecord): void {
    const tl = this.model.timeline;
    const b = tl && this.sampleFor(ev.step);
    if (!tl || !b) return;
    b.push(ev.rank, BAR_SPAN, ev.t0, ev.t1, phaseIndex(tl.phases, ev.phase), ev.layer, 0, 0);
  }

  private addComm(ev: CommRecord): void {
    const b = this.model.timeline && this.sampleFor(ev.step);
    if (!b) return;
    b.push(ev.rank, BAR_COMM, ev.t0, ev.t1, ev.bucket, ev.bytes, ev.algbw, ev.busbw);
  }

  private timelineStep(ev: StepRecord): void {
    const b = this.model.timeline && this.sampleFor(ev.step);
    if (!b) return;
    const r = ev.rank ?? 0;
    const s = b.sample;
    while (s.stepT0.length <= r) {
      s.stepT0.push(null);
      s.stepT1.push(null);
      s.commMs.push(null);
      s.exposedMs.push(null);
      s.overlap.push(null);
    }
    s.stepT0[r] = ev.t0 ?? null;
    s.stepT1[r] = ev.t1 ?? null;
    s.commMs[r] = ev.comm?.ms ?? null;
    s.exposedMs[r] = ev.comm?.exposed_ms ?? null;
    s.overlap[r] = ev.comm?.overlap ?? null;
    b.version++;
  }

  /** Records the parser's problems (call with its errorCount and errors). */
  setStreamProblems(count: number, messages: readonly string[]): void {
    if (count === this.parserProblems.count) return;
    this.parserProblems = { count, messages: messages.slice(0, MAX_PROBLEM_MESSAGES) };
    this.updateProblems();
  }

  /** The trainer has exited: a run without a summary is now `incomplete`. */
  finish(): void {
    this.live = false;
    this.updateStatus();
  }

  /** A cursor at the current state: what a consumer that just got `model` has. */
  cursor(): DeltaCursor {
    const m = this.model;
    return {
      steps: m.steps.step.length,
      evals: m.evals.step.length,
      layersVersion: this.layersVersion,
      layerTimeVersion: this.layerTimeVersion,
      runSent: m.run !== null,
      summarySent: m.summary !== null,
      errors: m.errors.length,
      streamProblems: m.streamProblems.count,
      status: m.status,
      timeline: new Map([...this.tlBuild].map(([step, b]) => [step, b.version])),
    };
  }

  /** What changed since `c` (undefined when nothing did); advances `c`. */
  delta(c: DeltaCursor): RunDelta | undefined {
    const m = this.model;
    const d: RunDelta = { id: m.id, status: m.status };
    let changed = c.status !== m.status;
    if (!c.runSent && m.run) {
      d.run = m.run;
      changed = true;
    }
    if (c.layersVersion !== this.layersVersion) {
      d.layers = m.layers;
      changed = true;
    }
    const n = m.steps.step.length;
    if (c.steps < n) {
      d.steps = { from: c.steps, columns: sliceSteps(m.steps, c.steps) };
      changed = true;
    }
    if (c.evals < m.evals.step.length) {
      d.evals = {
        from: c.evals,
        columns: { step: m.evals.step.slice(c.evals), valLoss: m.evals.valLoss.slice(c.evals) },
      };
      changed = true;
    }
    if (c.layerTimeVersion !== this.layerTimeVersion) {
      d.layerTime = m.layerTime;
      changed = true;
    }
    if (!c.summarySent && m.summary) {
      d.summary = m.summary;
      changed = true;
    }
    if (c.errors !== m.errors.length) {
      d.errors = m.errors;
      changed = true;
    }
    if (c.streamProblems !== m.streamProblems.count) {
      d.streamProblems = m.streamProblems;
      changed = true;
    }
    const tl = m.timeline;
    if (tl) {
      const steps = tl.samples.map((x) => x.step);
      const sameSteps = steps.length === c.timeline.size && steps.every((step) => c.timeline.has(step));
      const grown = tl.samples.filter((x) => c.timeline.get(x.step) !== this.tlBuild.get(x.step)?.version);
      if (grown.length || !sameSteps) {
        d.timeline = { ranks: tl.ranks, phases: tl.phases, steps, samples: grown };
        changed = true;
      }
    }
    if (!changed) return undefined;
    Object.assign(c, this.cursor());
    return d;
  }

  private updateStatus(): void {
    const m = this.model;
    if (m.summary) m.status = m.summary.status;
    else if (this.live) m.status = 'live';
    else m.status = m.errors.length ? 'failed' : 'incomplete';
  }

  private addLayer(ev: LayerRecord): void {
    const layers = this.model.layers;
    // Records come in index order; a repeated index replaces (a later trainer
    // may re-measure), so the array stays one record per layer.
    const at = layers.findIndex((l) => l.index === ev.index);
    if (at === -1) {
      layers.push(ev);
      layers.sort((a, b) => a.index - b.index);
    } else {
      layers[at] = ev;
    }
    this.layersVersion++;
  }

  private addStep(ev: StepRecord): void {
    const s = this.model.steps;
    const row = s.step.length;
    s.step.push(ev.step);
    s.loss.push(ev.loss);
    s.lr.push(ev.lr);
    s.gradNorm.push(ev.grad_norm);
    s.ms.push(ev.ms);
    s.tokensPerS.push(ev.tokens_per_s);
    s.liveBytes.push(ev.mem.live_bytes);
    s.peakBytes.push(ev.mem.peak_bytes);
    const phases = ev.phases as unknown as Record<string, unknown>;
    for (const name of Object.keys(phases)) {
      const v = phases[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      if (!this.stepPhases.admits(name)) {
        // The step's own figures stand; only the column that would be one
        // too many is left out (a new column costs a value per row so far).
        this.reject(`step record of step ${ev.step}: phase "${name}" is past the ${MAX_UNKNOWN_PHASES} phases beyond schema 1's that are kept; left out`);
        continue;
      }
      let p = s.phaseNames.indexOf(name);
      if (p === -1) {
        p = insertPhase(s, name, row);
      }
      s.phaseMs[p].push(v);
    }
    // Phases this step did not report: 0, so every column has one value per row.
    for (const col of s.phaseMs) if (col.length === row) col.push(0);
  }

  private addSpan(ev: SpanRecord): void {
    const m = this.model;
    if (ev.step !== this.lastSpanStep) {
      this.lastSpanStep = ev.step;
      this.spanStepsSeen++;
      m.layerTime.sampledSteps = this.spanStepsSeen;
      this.currentSample = undefined;
      if ((this.spanStepsSeen - 1) % this.spanStride === 0) {
        this.currentSample = { step: ev.step, layer: [], phase: [], t0: [], t1: [] };
        m.spans.samples.push(this.currentSample);
        if (m.timeline) {
          const b = new SampleBuilder(ev.step);
          this.tlBuild.set(ev.step, b);
          m.timeline.samples.push(b.sample);
        }
        if (m.spans.samples.length > this.maxSpanSamples) {
          // Keep every other sample (the first included) and take every
          // 2nd step from now on: an even spread over the whole run in
          // bounded memory, whatever its length.
          m.spans.samples = m.spans.samples.filter((_, i) => i % 2 === 0);
          this.spanStride *= 2;
          if (!m.spans.samples.includes(this.currentSample)) this.currentSample = undefined;
          if (m.timeline) {
            const kept = new Set(m.spans.samples.map((x) => x.step));
            m.timeline.samples = m.timeline.samples.filter((x) => kept.has(x.step));
            for (const step of [...this.tlBuild.keys()]) if (!kept.has(step)) this.tlBuild.delete(step);
          }
        }
      }
    }
    if (m.timeline) this.timelineSpan(ev);
    const p = phaseIndex(m.spans.phases, ev.phase);
    if (this.currentSample) {
      this.currentSample.layer.push(ev.layer);
      this.currentSample.phase.push(p);
      this.currentSample.t0.push(ev.t0);
      this.currentSample.t1.push(ev.t1);
    }
    // Layer time: mean over every sampled step but the first (LayerTime).
    const lt = m.layerTime;
    let tp = lt.phases.indexOf(ev.phase);
    if (tp === -1) {
      lt.phases.push(ev.phase);
      lt.meanMs.push([]);
      this.timeSum.push([]);
      this.timeCount.push([]);
      this.firstMs.push([]);
      tp = lt.phases.length - 1;
    }
    const sum = this.timeSum[tp];
    const cnt = this.timeCount[tp];
    const first = this.firstMs[tp];
    const mean = lt.meanMs[tp];
    while (sum.length <= ev.layer) {
      sum.push(0);
      cnt.push(0);
      first.push(0);
      mean.push(0);
    }
    const ms = (ev.t1 - ev.t0) / 1e3;
    if (this.spanStepsSeen === 1) {
      first[ev.layer] += ms;
    } else {
      sum[ev.layer] += ms;
      cnt[ev.layer]++;
    }
    mean[ev.layer] = cnt[ev.layer] ? sum[ev.layer] / cnt[ev.layer] : first[ev.layer];
    this.layerTimeVersion++;
  }
}

// A growable typed column; `view()` is the filled part.
class Column<A extends Float64Array | Float32Array | Uint32Array | Uint16Array | Uint8Array> {
  n = 0;
  constructor(
    private a: A,
    private readonly make: (n: number) => A,
  ) {}
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = this.make(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  view(): A {
    return this.a.subarray(0, this.n) as A;
  }
}

// Builds one TimelineSample; its bars are views refreshed on flush.
class SampleBuilder {
  readonly sample: TimelineSample;
  /** Bumped by every change: what deltas compare. */
  version = 0;
  private dirty = false;
  private readonly rank = new Column(new Uint16Array(16), (n) => new Uint16Array(n));
  private readonly kind = new Column(new Uint8Array(16), (n) => new Uint8Array(n));
  private readonly t0 = new Column(new Float64Array(16), (n) => new Float64Array(n));
  private readonly t1 = new Column(new Float64Array(16), (n) => new Float64Array(n));
  private readonly tag = new Column(new Uint32Array(16), (n) => new Uint32Array(n));
  private readonly value = new Column(new Float64Array(16), (n) => new Float64Array(n));
  private readonly algbw = new Column(new Float32Array(16), (n) => new Float32Array(n));
  private readonly busbw = new Column(new Float32Array(16), (n) => new Float32Array(n));

  constructor(step: number) {
    this.sample = { step, bars: this.bars(), stepT0: [], stepT1: [], commMs: [], exposedMs: [], overlap: [] };
  }

  push(rank: number, kind: number, t0: number, t1: number, tag: number, value: number, algbw: number, busbw: number): void {
    this.rank.push(rank);
    this.kind.push(kind);
    this.t0.push(t0);
    this.t1.push(t1);
    this.tag.push(tag);
    this.value.push(value);
    this.algbw.push(algbw);
    this.busbw.push(busbw);
    this.dirty = true;
    this.version++;
  }

  /** Points the sample's bars at the filled parts (after pushes). */
  flush(): void {
    if (!this.dirty) return;
    this.sample.bars = this.bars();
  }

  private bars(): TimelineBars {
    this.dirty = false;
    return packOnSerialise({
      rank: this.rank.view(),
      kind: this.kind.view(),
      t0: this.t0.view(),
      t1: this.t1.view(),
      tag: this.tag.view(),
      value: this.value.view(),
      algbw: this.algbw.view(),
      busbw: this.busbw.view(),
    });
  }
}

function sliceSteps(s: StepColumns, from: number): StepColumns {
  return {
    step: s.step.slice(from),
    loss: s.loss.slice(from),
    lr: s.lr.slice(from),
    gradNorm: s.gradNorm.slice(from),
    ms: s.ms.slice(from),
    tokensPerS: s.tokensPerS.slice(from),
    liveBytes: s.liveBytes.slice(from),
    peakBytes: s.peakBytes.slice(from),
    phaseNames: s.phaseNames.slice(),
    phaseMs: s.phaseMs.map((c) => c.slice(from)),
  };
}

