// Issue 20, item 1: the loop settles (reads the device's metrics) only where asked. Properties: (1) a window's
// metrics are its steps' metrics combined (means of loss, mse, aux, l0 up to float32 summation; the dead count,
// running theta and smallest cut exactly), whatever the cadence, since the cadence changes no bit of training;
// (2) a non-finite loss inside a window throws TrainingDiverged at that window's settle, naming its span, and
// onStep never sees the window (so nothing is logged or checkpointed after the last finite settle).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeTrainConfig } from '../../src/train/config.js';
import { train, TrainingDiverged } from '../../src/train/loop.js';
import type { StepMetrics } from '../../src/train/trainer.js';
import { SyntheticModel } from '../../src/synth.js';
import { cpu } from '../helpers/backends.js';

const s = suite('train: settle windows');
const synth = new SyntheticModel({ dIn: 8, nFeatures: 32, meanActive: 2, seed: 4 });
const source = (bad = -1) => {
  let calls = 0;
  return { nextBatch: (out: Float32Array) => (out.set(synth.rows(calls * 32, 32)), calls++ === bad && (out[3] = NaN)) };
};

s('a window of 4 steps reports its steps combined: means up to f32 rounding, dead / theta / smallest cut exactly', async () => {
  // dSae 64 with k 2 and deadTokens of 2 batches: latents die and AuxK runs, so aux and dead are not all 0.
  const cfg = makeTrainConfig({ batchSize: 32, steps: 12, seed: 1, adam: { lr: 1e-3 }, sae: { arch: 'batchtopk', dIn: 8, dSae: 64, k: 2, deadTokens: 64 } });
  const each: StepMetrics[] = [];
  (await train(cpu, cfg, source(), { onStep: (m) => void each.push(m) })).dispose();
  const windows: StepMetrics[] = [];
  (await train(cpu, cfg, source(), { settleAt: (step) => step % 4 === 0, onStep: (m) => void windows.push(m) })).dispose();
  assert.equal(windows.map((w) => [w.step, w.steps]), [[4, 4], [8, 4], [12, 4]]);
  assert.ok(each.some((m) => m.aux > 0) && each.some((m) => m.dead > 0), 'AuxK ran and latents died');
  for (const w of windows) {
    const steps = each.slice(w.step - 4, w.step);
    for (const k of ['loss', 'mse', 'aux', 'l0'] as const) {
      const mean = steps.reduce((a, m) => a + m[k], 0) / 4;
      assert.ok(Math.abs(w[k] - mean) <= 8 * 2 ** -24 * Math.abs(mean), `step ${w.step}: ${k} ${w[k]} vs ${mean}`);
    }
    const last = steps[3]!;
    assert.is(w.dead, last.dead, `step ${w.step}: dead`);
    assert.is(w.threshold, last.threshold, `step ${w.step}: running theta`);
    assert.is(w.lr, last.lr);
    assert.is(w.minSelected, Math.min(...steps.map((m) => m.minSelected)), `step ${w.step}: smallest cut`);
    assert.is(w.cutSteps, 4);
  }
});

s('a NaN inside a window: TrainingDiverged at its settle, naming the span; onStep saw only the windows before', async () => {
  const cfg = makeTrainConfig({ batchSize: 32, steps: 12, seed: 1, adam: { lr: 1e-3 }, sae: { arch: 'batchtopk', dIn: 8, dSae: 16, k: 2 } });
  const seen: number[] = [];
  let err: unknown = null;
  try {
    // Call 0 is the init batch, so call 6 is step 6, inside the window 5..8.
    await train(cpu, cfg, source(6), { settleAt: (step) => step % 4 === 0, onStep: (m) => void seen.push(m.step) });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TrainingDiverged, String(err));
  assert.is((err as TrainingDiverged).step, 8);
  assert.match((err as Error).message, /^training diverged between steps 5 and 8: the mean loss over them is NaN/);
  assert.equal(seen, [4]);
});

s.run();
