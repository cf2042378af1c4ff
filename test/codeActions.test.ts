// The code actions on `.train` configs, without VS Code: the text edits
// (minimal, comment-keeping, CRLF-preserving), the numbers in the titles
// (exactly the addon's analyze() plan report), the budget warnings, that every edit
// yields a config the trainer's parser accepts with the intended value, and
// that every title names the key and value its edit writes.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { MemoryPrediction, PlanReport } from '../common/events/schema';
import {
  type ConfigAction,
  type ConfigInsights,
  configInsights,
  type InsightsInput,
  type LastRunFacts,
  noPlanFitsMessage,
  predictionNotes,
  runDescribesConfig,
  stepTimePercent,
} from '../extension/config/suggestions';
import { applyEdits, eolOf, setKeyEdits } from '../extension/config/edits';
import { valueSpan } from '../extension/config/lexer';
import { formatBytes } from '../common/format';
import type { ResolvedConfig } from '../common/config';
import { ADDON_RELATIVE_PATH, loadNative, type TrainScopeNative } from '../extension/native/addon';
import { splitLines } from '../extension/native/positions';
import { root } from './support/trainer';

const fixtures = path.join(root, 'test', 'fixtures', 'configs');
const haveAddon = existsSync(path.join(root, ADDON_RELATIVE_PATH));
const NO_ADDON = `no addon at ${ADDON_RELATIVE_PATH} (npm run build)`;
const MINUS = '\u2212';

function fixture(name: string): string {
  return readFileSync(path.join(fixtures, name), 'utf8');
}

function example(name: string): string {
  return readFileSync(path.join(root, 'examples', name), 'utf8');
}

function native(): TrainScopeNative {
  return loadNative({ extensionRoot: root });
}

/** What the editor offers for `text`: its one analysis, worded. */
function insights(input: Omit<InsightsInput, 'analysis'> & { fileName: string }): ConfigInsights {
  const analysis = native().analyze(input.text, input.fileName, { memoryBudget: input.budgetBytes });
  return configInsights({ ...input, analysis });
}

/** The planner's report on `text`; fails the test when there is none. */
function planOf(text: string, name: string): PlanReport {
  const p = native().analyze(text, name).plan;
  assert.ok(p, `no plan for ${name}`);
  return p;
}

/** The memory model's prediction for `text` under its own settings. */
function predict(text: string, name: string): MemoryPrediction {
  return planOf(text, name).prediction;
}

/** The resolved config of `text`; fails the test when the parser rejects it. */
function parsed(text: string, name = 'test.train'): ResolvedConfig {
  const r = native().analyze(text, name);
  assert.deepEqual(r.diagnostics, [], `the parser rejects:\n${text}`);
  assert.ok(r.ok && r.config);
  return r.config;
}

/** Every config these tests use: the fixtures and the examples. */
function everyConfig(): { name: string; text: string }[] {
  const dirs = [fixtures, path.join(root, 'examples')];
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.train'))
      .sort()
      .map((f) => ({ name: f, text: readFileSync(path.join(dir, f), 'utf8') })),
  );
}

/** The key values an edit wrote: each key of `after` (as the parser outlines it) whose value text differs from `before`'s. */
function writtenValues(before: string, after: string, name: string): [key: string, value: string][] {
  const values = (text: string): Map<string, string> => {
    const lines = splitLines(text);
    const keys = native().analyze(text, name).outline.filter((o) => !o.header);
    return new Map(keys.map((o) => [`${o.section}.${o.key}`, lines[o.line].slice(o.valueStart, o.valueEnd)]));
  };
  const was = values(before);
  return [...values(after)].filter(([k, v]) => was.get(k) !== v).map(([k, v]) => [k.slice(k.indexOf('.') + 1), v]);
}

/**
 * Whether `title` names `key value` as the file spells it, and `key` with
 * no other value (a plan's layers beside a budget it writes, say).
 */
function namesSetting(title: string, key: string, value: string): boolean {
  const after = [...title.matchAll(new RegExp(`(?:^|\\s)${key} `, 'g'))].map((m) => title.slice(m.index + m[0].length));
  return after.length > 0 && after.every((rest) => rest.startsWith(value) && !/^[\w.]/.test(rest.slice(value.length)));
}

function action(actions: readonly ConfigAction[], id: ConfigAction['id']): ConfigAction {
  const a = actions.find((x) => x.id === id);
  assert.ok(a, `no '${id}' action among: ${actions.map((x) => x.title).join(' | ')}`);
  return a;
}

// ---------------------------------------------------------------------------
// Edits (no addon needed)

describe('config edits', () => {
  test('the value span stops at a comment and trailing whitespace', () => {
    assert.deepEqual(valueSpan('precision fp32    # full precision'), { keyStart: 0, keyEnd: 9, start: 10, end: 14 });
    assert.deepEqual(valueSpan('  checkpoint every 2'), { keyStart: 2, keyEnd: 12, start: 13, end: 20 });
    assert.deepEqual(valueSpan('text "a #b.txt"  # c'), { keyStart: 0, keyEnd: 4, start: 5, end: 15 });
    assert.deepEqual(valueSpan('checkpoint   # none yet'), { keyStart: 0, keyEnd: 10, start: 10, end: 10 });
    assert.equal(valueSpan('[train]'), undefined);
    assert.equal(valueSpan('# comment'), undefined);
  });

  test('a value is replaced in place, keeping the trailing comment', () => {
    const text = fixture('comments.train');
    const edits = setKeyEdits(text, 'train', [['precision', 'bf16']]);
    assert.equal(edits.length, 1);
    const out = applyEdits(text, edits);
    assert.ok(out.includes('\nprecision bf16    # full precision\n'), out);
    // Nothing else moved.
    assert.equal(out.replace('precision bf16 ', 'precision fp32 '), text);
  });

  test('two keys on existing lines: batch and accumulate', () => {
    const text = fixture('comments.train');
    const out = applyEdits(text, setKeyEdits(text, 'train', [['batch', '4'], ['accumulate', '4']]));
    assert.ok(out.includes('\nbatch 4          # sequences per micro-batch\n'));
    assert.ok(out.includes('\naccumulate 4      # one micro-batch per step\n'));
  });

  test('a key at its value already gives no edit', () => {
    assert.deepEqual(setKeyEdits(fixture('comments.train'), 'train', [['checkpoint', 'none']]), []);
  });

  test('a missing key is inserted after the last key of [train], with its indentation', () => {
    const text = fixture('train-without-keys.train');
    const out = applyEdits(text, setKeyEdits(text, 'train', [['checkpoint', 'sqrt']]));
    assert.ok(out.includes('\n  lr 3e-3   # indented keys: inserted lines take the same indentation\n  checkpoint sqrt\n\n# the data section follows\n'), out);
  });

  test('several missing keys go in together', () => {
    const text = fixture('train-without-keys.train');
    const out = applyEdits(text, setKeyEdits(text, 'train', [['batch', '4'], ['accumulate', '4']]));
    assert.ok(out.includes('\n  batch 4\n  accumulate 4\n\n# the data section follows'), out);
  });

  test('[train] is created at the end when the file has none', () => {
    const text = fixture('no-train-section.train');
    const out = applyEdits(text, setKeyEdits(text, 'train', [['precision', 'bf16']]));
    assert.equal(out, `${text}\n[train]\nprecision bf16\n`);
    assert.equal(applyEdits('', setKeyEdits('', 'train', [['precision', 'bf16']])), '[train]\nprecision bf16\n');
    assert.equal(applyEdits('[model]\nlayers 2', setKeyEdits('[model]\nlayers 2', 'train', [['precision', 'bf16']])), '[model]\nlayers 2\n\n[train]\nprecision bf16\n');
    assert.equal(applyEdits('[model]\n\n', setKeyEdits('[model]\n\n', 'train', [['a', 'b']])), '[model]\n\n[train]\na b\n');
  });

  test('CRLF files keep CRLF in replaced and inserted lines', () => {
    const text = fixture('crlf.train');
    assert.ok(text.includes('\r\n'), 'the fixture lost its CRLF line endings (a checkout that normalises them?)');
    assert.equal(eolOf(text), '\r\n');
    const out = applyEdits(text, setKeyEdits(text, 'train', [['precision', 'bf16'], ['checkpoint', 'sqrt']]));
    assert.ok(out.endsWith('[train]\r\nsteps 20\r\nprecision bf16  # full\r\ncheckpoint sqrt\r\n'), JSON.stringify(out));
    assert.equal(out.replace(/\r\n/g, '').includes('\n'), false, 'a bare LF crept in');
    const noTrain = fixture('no-train-section.train').replace(/\n/g, '\r\n');
    const out2 = applyEdits(noTrain, setKeyEdits(noTrain, 'train', [['accumulate', '2']]));
    assert.ok(out2.endsWith('synthetic\r\n\r\n[train]\r\naccumulate 2\r\n'), JSON.stringify(out2));
  });

  test('the last line without a line ending: replace and insert in one edit', () => {
    const text = '[train]\nbatch 16';
    const edits = setKeyEdits(text, 'train', [['batch', '4'], ['accumulate', '4']]);
    assert.equal(edits.length, 1);
    assert.equal(applyEdits(text, edits), '[train]\nbatch 4\naccumulate 4');
  });

  test('a bare key gets its value; the first [train] block takes new keys', () => {
    assert.equal(applyEdits('[train]\ncheckpoint  # x\n', setKeyEdits('[train]\ncheckpoint  # x\n', 'train', [['checkpoint', 'sqrt']])), '[train]\ncheckpoint sqrt  # x\n');
    const two = '[train]\nsteps 2\n[model]\nlayers 2\n[train]\nlr 1e-3\n';
    assert.equal(applyEdits(two, setKeyEdits(two, 'train', [['precision', 'bf16']])), '[train]\nsteps 2\nprecision bf16\n[model]\nlayers 2\n[train]\nlr 1e-3\n');
    // A key set in the second block is edited there.
    assert.equal(applyEdits(two, setKeyEdits(two, 'train', [['lr', '3e-3']])), two.replace('lr 1e-3', 'lr 3e-3'));
  });
});

// ---------------------------------------------------------------------------
// Actions (the addon's planner)

describe('code actions', { skip: haveAddon ? false : NO_ADDON }, () => {
  for (const name of ['tiny-gpt.train', 'bench-gpt.train']) {
    test(`${name}: titles carry the planner's numbers`, () => {
      const text = example(name);
        const plan = planOf(text, name);
      const config = parsed(text, name);
      const { actions, diagnostics } = insights({ text, fileName: name, budgetBytes: null });
      assert.deepEqual(diagnostics, []);

      const fp32 = plan.precisions.find((p) => p.precision === 'fp32')!;
      const bf16 = plan.precisions.find((p) => p.precision === 'bf16')!;
      assert.equal(action(actions, 'precision').title, `Set precision bf16 (mixed precision: activations ${MINUS}${formatBytes(fp32.peak_act_bytes - bf16.peak_act_bytes)})`);

      const none = plan.schedules.find((s) => s.name === 'none')!;
      const sqrt = plan.schedules.find((s) => s.name === 'sqrt')!;
      const k = Math.ceil(Math.sqrt(config.model.layers));
      const pct = Math.round(sqrt.recompute_fraction * 100);
      assert.equal(
        action(actions, 'checkpoint').title,
        `Set checkpoint sqrt (every ${k} of ${config.model.layers} layers: activations ${MINUS}${formatBytes(none.peak_act_bytes - sqrt.peak_act_bytes)}, about +${pct}% step time)`,
      );

      const current = plan.accumulate.find((a) => a.accumulate === 1)!;
      const next = plan.accumulate.find((a) => a.accumulate === 2)!;
      assert.equal(next.batch, config.train.batch / 2);
      assert.equal(
        action(actions, 'accumulate').title,
        `Set batch ${next.batch}, accumulate 2 (same global batch: activations ${MINUS}${formatBytes(current.peak_act_bytes - next.peak_act_bytes)})`,
      );
      // No budget set, no run: nothing else.
      assert.deepEqual(actions.map((a) => a.id).sort(), ['accumulate', 'checkpoint', 'precision']);
    });

    test(`${name}: each edit gives a config the parser accepts, with the intended value`, () => {
      const text = example(name);
        const before = parsed(text, name);
      const { actions } = insights({ text, fileName: name, budgetBytes: null });
      const after = (id: ConfigAction['id']): ResolvedConfig => parsed(applyEdits(text, action(actions, id).edits), name);
      assert.equal(after('precision').train.precision, 'bf16');
      assert.equal(after('checkpoint').train.checkpoint, 'sqrt');
      const acc = after('accumulate');
      assert.equal(acc.train.accumulate, 2);
      assert.equal(acc.train.batch, before.train.batch / 2);
      // Only the intended keys changed.
      assert.deepEqual({ ...after('precision').train, precision: 'fp32' }, before.train);
      // The prediction in the action is what the planner says of the edited config.
      const edited = applyEdits(text, action(actions, 'checkpoint').edits);
      assert.equal(predict(edited, name).peak_act_bytes, action(actions, 'checkpoint').predicted?.peak_act_bytes);
    });
  }

  test('a GPU config: fuse attention, titled with the planner\'s numbers, offered on its line', () => {
    const text = fixture('gpu-bf16.train');
    const plan = planOf(text, 'gpu-bf16.train');
    const kept = plan.attention?.find((a) => a.attention === 'materialized');
    const fused = plan.attention?.find((a) => a.attention === 'fused');
    assert.ok(kept && fused && fused.peak_act_bytes < kept.peak_act_bytes, JSON.stringify(plan.attention));
    const { actions } = insights({ text, fileName: 'gpu-bf16.train', budgetBytes: null });
    const a = action(actions, 'attention');
    assert.equal(a.title, `Set attention fused (on the GPU: activations ${MINUS}${formatBytes(kept.peak_act_bytes - fused.peak_act_bytes)}; backward recomputes the probabilities)`);
    assert.deepEqual(a.lines, [11]);
    const edited = applyEdits(text, a.edits);
    assert.equal(parsed(edited, 'gpu-bf16.train').train.attention, 'fused');
    // The prediction in the action is what the memory model says of the edited config.
    assert.equal(predict(edited, 'gpu-bf16.train').peak_act_bytes, a.predicted?.peak_act_bytes);
    // The hover on `attention` tabulates both layouts, the config's marked.
    const notes = predictionNotes(plan, parsed(text, 'gpu-bf16.train'), 'attention') ?? '';
    assert.ok(notes.includes(`| materialized ← | ${formatBytes(kept.peak_act_bytes)} |`), notes);
    assert.ok(notes.includes(`| fused | ${formatBytes(fused.peak_act_bytes)} |`), notes);
    // Already bf16: no precision action. On the CPU there is no attention choice.
    assert.equal(actions.find((x) => x.id === 'precision'), undefined);
    const cpu = insights({ text: text.replace('device cuda', 'device cpu').replace('attention materialized\n', ''), fileName: 'cpu.train', budgetBytes: null });
    assert.equal(cpu.actions.find((x) => x.id === 'attention'), undefined);
  });

  test('actions are offered on their key line, else on [train] and the top of the file', () => {
    const text = fixture('comments.train');
    const { actions } = insights({ text, fileName: 'comments.train', budgetBytes: null });
    assert.deepEqual(action(actions, 'precision').lines, [12]);
    assert.deepEqual(action(actions, 'checkpoint').lines, [13]);
    assert.deepEqual(action(actions, 'accumulate').lines, [14, 11]);
    const bare = fixture('train-without-keys.train');
    const r = insights({ text: bare, fileName: 'x.train', budgetBytes: null });
    assert.deepEqual(action(r.actions, 'precision').lines, [9, 0]);
    const none = fixture('no-train-section.train');
    const r2 = insights({ text: none, fileName: 'x.train', budgetBytes: null });
    assert.deepEqual(action(r2.actions, 'checkpoint').lines, [0]);
  });

  test('fixtures: every edit parses, with the value it promises', () => {
    for (const name of ['comments.train', 'train-without-keys.train', 'no-train-section.train', 'crlf.train']) {
      const text = fixture(name);
      for (const variant of [text, text.replace(/\r?\n/g, '\r\n')]) {
        const { actions } = insights({ text: variant, fileName: name, budgetBytes: null });
        assert.ok(actions.length >= 3, `${name}: ${actions.map((a) => a.title).join(' | ')}`);
        for (const a of actions) {
          const out = applyEdits(variant, a.edits);
          const c = parsed(out, name);
          if (a.id === 'precision') assert.equal(c.train.precision, 'bf16');
          if (a.id === 'checkpoint') assert.equal(c.train.checkpoint, 'sqrt');
          if (a.id === 'accumulate') assert.equal(c.train.accumulate, 2);
          if (variant.includes('\r\n')) assert.equal(out.replace(/\r\n/g, '').includes('\n'), false, `${name}: ${a.id} wrote a bare LF`);
        }
      }
    }
  });

  test('every action offered on the configs names the key and the value its edit writes', () => {
    const seen = new Set<ConfigAction['id']>();
    const wrong = new Set<string>();
    for (const { name, text } of everyConfig()) {
      const base = native().analyze(text, name);
      const config = base.config ?? undefined;
      // A budget at each plan's predicted peak, so that every plan that can
      // fit one is offered for some budget; a last run measured as
      // predicted, whose noise scale asks for more accumulation.
      const peaks = base.plan ? [...base.plan.schedules, ...base.plan.accumulate].map((p) => p.peak_bytes) : [];
      const lastRun: LastRunFacts | undefined =
        config && base.plan
          ? { id: 'last', dir: '/runs/last', peakBytes: base.plan.prediction.peak_bytes, suggestedAccumulate: config.train.accumulate + 3, config }
          : undefined;
      for (const budgetBytes of [null, ...new Set(peaks)]) {
        for (const a of insights({ text, fileName: name, budgetBytes, lastRun }).actions) {
          if (a.disabled !== undefined) continue;
          seen.add(a.id);
          // The edits the WorkspaceEdit (and the re-profile variant) applies.
          const written = writtenValues(text, applyEdits(text, a.edits), name);
          if (written.length === 0) wrong.add(`${name}: '${a.title}' writes nothing`);
          for (const [key, value] of written) {
            if (!namesSetting(a.title, key, value)) wrong.add(`${name}: '${a.title}' writes '${key} ${value}'`);
          }
        }
      }
    }
    assert.deepEqual([...wrong], []);
    // Every kind of action with an edit was offered on some config.
    const kinds: ConfigAction['id'][] = ['budget', 'configBudget', 'raiseBudget', 'leastPlan', 'precision', 'attention', 'checkpoint', 'accumulate', 'accumulateFit', 'noiseScale'];
    assert.deepEqual([...seen].sort(), [...kinds].sort());
  });

  test("the config's checkpoint budget: no plan fits -> disabled action, and fixes that parse", () => {
    const text = fixture('budget-unfit.train');
    const plan = planOf(text, 'b.train');
    assert.equal(plan.budget?.fits, false);
    const minBudget = plan.budget!.min_budget;
    const { actions, diagnostics } = insights({ text, fileName: 'b.train', budgetBytes: null });
    const a = action(actions, 'configBudget');
    const message = `no checkpoint plan fits ${formatBytes(1e6)}: the smallest is ${formatBytes(minBudget)}`;
    assert.equal(message, noPlanFitsMessage(1e6, minBudget));
    assert.equal(a.disabled, message);
    assert.equal(a.title, 'Fit in 1.0 MB: no checkpoint plan fits');
    assert.deepEqual(a.edits, []);
    assert.deepEqual(a.lines, [11]);
    // The parser reports the budget itself (as the trainer's --check does);
    // an addon whose parser does not gets TrainScope's warning instead.
    const parserSaysSo = native().analyze(text, 'b.train').diagnostics.some((d) => d.key === 'train.checkpoint' && d.severity === 'error');
    if (parserSaysSo) {
      assert.deepEqual(diagnostics, []);
    } else {
      assert.equal(diagnostics.length, 1);
      assert.equal(diagnostics[0].code, 'budget-unfit');
      assert.equal(diagnostics[0].message, `train.checkpoint: ${message}`);
      // On the value `budget 1MB`, not its comment.
      assert.deepEqual(diagnostics[0].range, { start: { line: 11, character: 11 }, end: { line: 11, character: 21 } });
    }
    // Raise the budget to the least any plan fits: written rounded up, it parses and fits.
    const raise = action(actions, 'raiseBudget');
    const size = plan.budget!.raise!.size;
    assert.equal(size, '11.6MB');
    assert.equal(plan.budget!.raise!.bytes, 11_600_000);
    assert.ok(minBudget <= 11_600_000 && minBudget > 11_500_000, String(minBudget));
    assert.match(raise.title, /^Set checkpoint budget 11\.6MB, the least any plan fits \(the planner picks layers [0-9,-]+, about \+\d+% step time\)$/);
    const raised = applyEdits(text, raise.edits);
    assert.ok(raised.includes('\ncheckpoint budget 11.6MB   # far too small\n'), raised);
    assert.equal(parsed(raised).train.checkpoint, 'budget 11600000');
    // Or write the least-activation plan itself.
    const least = action(actions, 'leastPlan');
    const c = parsed(applyEdits(text, least.edits));
    assert.match(c.train.checkpoint, /^layers /);
    assert.equal(predict(applyEdits(text, least.edits), 'b.train').peak_act_bytes, minBudget);
    // Nothing else is offered on a config with an error.
    assert.deepEqual(actions.map((x) => x.id).sort(), ['configBudget', 'leastPlan', 'raiseBudget']);
  });

  test("the config's checkpoint budget: a plan fits -> pin it", () => {
    const text = fixture('budget-fits.train');
    const plan = planOf(text, 'b.train');
    const b = plan.budget!;
    assert.ok(b.fits && b.plan);
    const { actions, diagnostics } = insights({ text, fileName: 'b.train', budgetBytes: null });
    assert.deepEqual(diagnostics, []);
    const a = action(actions, 'configBudget');
    assert.equal(
      a.title,
      `Fit in ${formatBytes(b.bytes)}: set checkpoint ${b.plan.checkpoint} (activations ${formatBytes(b.plan.peak_act_bytes)}, about +${stepTimePercent(b.plan.recompute_fraction)}% step time)`,
    );
    assert.ok(b.plan.checkpoint.startsWith('layers '), b.plan.checkpoint);
    const c = parsed(applyEdits(text, a.edits));
    assert.equal(c.train.checkpoint, b.plan.checkpoint);
  });

  test('the memory budget setting: a checkpoint plan whose whole peak fits', () => {
    const text = example('tiny-gpt.train');
    const budget = 40e6; // tiny-gpt peaks at 54.4 MB; sqrt at 35.5 MB
    const { actions } = insights({ text, fileName: 'tiny.train', budgetBytes: budget });
    const a = action(actions, 'budget');
    assert.equal(a.fitsBudget, true);
    assert.match(a.title, /^Fit in 40\.0 MB: set checkpoint layers [0-9,-]+ \(peak [0-9.]+ MB, about \+\d+% step time\)$/);
    const edited = applyEdits(text, a.edits);
    const c = parsed(edited);
    assert.match(c.train.checkpoint, /^layers /);
    const p = predict(edited, 'tiny.train');
    assert.ok(p.peak_bytes <= budget, `${p.peak_bytes} > ${budget}`);
    assert.equal(p.peak_bytes, a.predicted?.peak_bytes);
  });

  test('the memory budget setting: no plan fits -> disabled, with the smallest peak', () => {
    const text = example('tiny-gpt.train');
    const { actions } = insights({ text, fileName: 'tiny.train', budgetBytes: 1e6 });
    const a = action(actions, 'budget');
    const plan = planOf(text, 'tiny.train');
    // The least-activation plan's whole peak, or a schedule's if smaller.
    const least = native().analyze(text, 'tiny.train', { overrides: [`train.checkpoint=budget ${plan.min_peak_act_bytes}`] }).plan!.budget!.plan!;
    const smallest = Math.min(least.peak_bytes, ...plan.schedules.map((s) => s.peak_bytes));
    assert.equal(a.disabled, `no checkpoint plan fits 1.0 MB: the smallest is ${formatBytes(smallest)}`);
    assert.deepEqual(a.edits, []);
  });

  test('over the budget: the least accumulation that fits (batch 4 + accumulate 4)', () => {
    const text = example('tiny-gpt.train');
    const budget = 25e6; // accumulate 2 peaks at 33.7 MB, accumulate 4 at 23.3 MB
    const { actions } = insights({ text, fileName: 'tiny.train', budgetBytes: budget });
    assert.equal(action(actions, 'accumulate').fitsBudget, false);
    const fit = action(actions, 'accumulateFit');
    assert.equal(fit.fitsBudget, true);
    const c = parsed(applyEdits(text, fit.edits));
    assert.equal(c.train.batch, 4);
    assert.equal(c.train.accumulate, 4);
    assert.ok(predict(applyEdits(text, fit.edits), 'tiny.train').peak_bytes <= budget);
  });

  test('the last run went over the budget: a warning on the batch line', () => {
    const text = fixture('comments.train');
    const config = parsed(text);
    const lastRun: LastRunFacts = { id: '20260101-000000-comments', dir: '/runs/x', peakBytes: 54_448_128, config };
    const { diagnostics, actions } = insights({ text, fileName: 'c.train', budgetBytes: 50e6, lastRun });
    assert.equal(diagnostics.length, 1);
    const d = diagnostics[0];
    assert.equal(d.code, 'over-budget');
    assert.equal(d.message, 'The last run (20260101-000000-comments) peaked at 54.4 MB, above the memory budget of 50.0 MB (trainscope.memoryBudget)');
    // `batch 16`, without its comment.
    assert.deepEqual(d.range, { start: { line: 11, character: 0 }, end: { line: 11, character: 8 } });
    assert.ok(actions.some((a) => a.id === 'budget' && !a.disabled));

    // Under the budget: no warning.
    assert.deepEqual(insights({ text, fileName: 'c.train', budgetBytes: 60e6, lastRun }).diagnostics, []);
    // The config changed since (bf16): the run no longer describes it.
    const edited = applyEdits(text, action(actions, 'precision').edits);
    assert.deepEqual(insights({ text: edited, fileName: 'c.train', budgetBytes: 50e6, lastRun }).diagnostics, []);
    // No budget plan fits: the warning says so.
    const tight = insights({ text, fileName: 'c.train', budgetBytes: 1e6, lastRun });
    assert.match(tight.diagnostics[0].message, /; no checkpoint plan fits 1\.0 MB: the smallest is [0-9.]+ MB$/);
    // Without a batch line, the warning sits on [model].
    const noBatch = text.replace(/^batch .*\n/m, '');
    const r = insights({ text: noBatch, fileName: 'c.train', budgetBytes: 1e6, lastRun: { ...lastRun, config: parsed(noBatch) } });
    assert.deepEqual(r.diagnostics[0].range, { start: { line: 2, character: 0 }, end: { line: 2, character: 7 } });
  });

  test('the noise scale suggests more accumulation: same micro-batch, accumulate K', () => {
    const text = fixture('comments.train');
    const config = parsed(text);
    const lastRun: LastRunFacts = { id: 'r', dir: '/runs/r', suggestedAccumulate: 7, config };
    const { actions } = insights({ text, fileName: 'c.train', budgetBytes: null, lastRun });
    const a = action(actions, 'noiseScale');
    assert.equal(a.title, "Set accumulate 7 (the last run's gradient noise scale suggests it)");
    const c = parsed(applyEdits(text, a.edits));
    assert.equal(c.train.accumulate, 7);
    assert.equal(c.train.batch, 16);
    // A run with another micro-batch suggested for that one, not this.
    const other = { ...lastRun, config: { ...config, train: { ...config.train, batch: 8 } } };
    assert.equal(insights({ text, fileName: 'c.train', budgetBytes: null, lastRun: other }).actions.find((x) => x.id === 'noiseScale'), undefined);
    // Not below what the config already accumulates.
    const more = applyEdits(text, setKeyEdits(text, 'train', [['accumulate', '8']]));
    assert.equal(insights({ text: more, fileName: 'c.train', budgetBytes: null, lastRun }).actions.find((x) => x.id === 'noiseScale'), undefined);
  });

  test('a config with errors gets no actions', () => {
    const r = insights({ text: '[train]\nprecision fp33\n', fileName: 'x.train', budgetBytes: 1e6 });
    assert.deepEqual(r, { actions: [], diagnostics: [] });
  });

  test('runDescribesConfig compares the keys that set memory', () => {
    const config = parsed(example('tiny-gpt.train'));
    assert.equal(runDescribesConfig(config, config), true);
    assert.equal(runDescribesConfig({ ...config, train: { ...config.train, lr: 1 } }, config), true);
    assert.equal(runDescribesConfig({ ...config, train: { ...config.train, checkpoint: 'sqrt' } }, config), false);
    assert.equal(runDescribesConfig({ ...config, model: { ...config.model, layers: 8 } }, config), false);
    assert.equal(runDescribesConfig(undefined, config), false);
  });

  test('hover notes show the predictions, the current choice marked', () => {
    const text = example('tiny-gpt.train');
    const plan = planOf(text, 't.train');
    const config = parsed(text);
    const p = predictionNotes(plan, config, 'precision')!;
    assert.ok(p.includes(`| fp32 ← | ${formatBytes(plan.precisions[0].peak_act_bytes)} |`), p);
    const c = predictionNotes(plan, config, 'checkpoint')!;
    assert.ok(c.includes('| none ← | none |'), c);
    assert.ok(c.includes(`| sqrt | ${plan.schedules[1].checkpoint} |`), c);
    const a = predictionNotes(plan, config, 'accumulate')!;
    assert.ok(a.includes('| 1 ← | 16 |'), a);
    assert.equal(predictionNotes(plan, config, 'lr'), undefined);
  });
});
