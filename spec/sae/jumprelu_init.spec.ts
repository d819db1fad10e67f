// Issue 17, item 3: JumpReLU thresholds started from the data (SaeConfig.thetaInitL0). Each latent's
// threshold is the quantile of its initial pre-activations that gives the target L0 overall: exactly n =
// round(rows * L0 / m) of its rows above it, whatever the chunking; the init is a pass with no randomness
// (two trainers from one seed and source are bit-identical), it sets the first batch's L0 to the target, and
// a run resumed from a checkpoint continues bit for bit (the thresholds are parameters in the checkpoint).
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad } from '../../src/autodiff/tape.js';
import { center, preActs } from '../../src/sae/common.js';
import { normalizeInput } from '../../src/sae/normalize.js';
import { fromArray, tidy } from '../../src/tensor.js';
import { Rng } from '../../src/rng.js';
import { paramToTheta, ThetaQuantiles } from '../../src/sae/jumprelu.js';
import { downloadParams } from '../../src/sae/params.js';
import { SyntheticModel } from '../../src/synth.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { makeTrainConfig, type TrainConfig } from '../../src/train/config.js';
import { createTrainer, train } from '../../src/train/loop.js';
import { Trainer } from '../../src/train/trainer.js';
import { cpu } from '../helpers/backends.js';

const s = suite('sae: JumpReLU thresholds from the data');

s('property: every latent has exactly n = round(rows L0 / m) rows strictly above its threshold, in any chunking', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 40 }), fc.integer({ min: 2, max: 12 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), fc.integer({ min: 1, max: 40 }), fc.integer(), (rows, m, frac, chunk, seed) => {
      const targetL0 = Math.max(0.01, frac * m);
      const rng = new Rng(seed >>> 0);
      // Distinct values, some negative (a latent rarely positive gets threshold 0).
      const pre = Float32Array.from({ length: rows * m }, (_, i) => rng.normal() + 0.3 + i * 1e-6);
      const whole = new ThetaQuantiles(m, rows, targetL0);
      whole.add(pre);
      const byChunk = new ThetaQuantiles(m, rows, targetL0);
      for (let r = 0; r < rows; r += chunk) byChunk.add(pre.subarray(r * m, Math.min(rows, r + chunk) * m));
      const theta = whole.thresholds();
      assert.equal([...byChunk.thresholds()], [...theta], 'chunking changes nothing');
      const n = Math.min(rows - 1, Math.round((rows * targetL0) / m));
      for (let j = 0; j < m; j++) {
        const col = Array.from({ length: rows }, (_, r) => pre[r * m + j]!);
        const above = col.filter((v) => v > theta[j]!).length;
        const positive = col.filter((v) => v > 0).length;
        assert.ok(theta[j]! >= 0, `latent ${j}: threshold ${theta[j]} < 0`);
        // A latent with fewer than n positive rows fires on all of them (threshold 0): the ReLU passes no more.
        assert.is(above, Math.min(n, positive), `latent ${j}: ${above} rows above ${theta[j]}, want ${Math.min(n, positive)}`);
      }
    }),
    { numRuns: 300, seed: 31 },
  );
  assert.throws(() => new ThetaQuantiles(8, 10, 0), /target L0 for the threshold init must be in \(0, 8\)/);
  assert.throws(() => new ThetaQuantiles(8, 10, 8), /must be in \(0, 8\)/);
});

const synth = new SyntheticModel({ dIn: 16, nFeatures: 48, meanActive: 4, seed: 9 });
const sourceAt = (start: number, batch: number) => {
  let row = start;
  return { nextBatch: (out: Float32Array) => (out.set(synth.rows(row, batch)), (row += batch)) };
};
const cfgOf = (thetaInitL0: number | undefined, steps = 6): TrainConfig =>
  makeTrainConfig({ batchSize: 128, steps, seed: 5, adam: { lr: 3e-3 }, sae: { arch: 'jumprelu', dIn: 16, dSae: 64, l0Coeff: 1e-2, ...(thetaInitL0 === undefined ? {} : { thetaInitL0 }) } });

s('createTrainer: the first batch gets the target L0 exactly; deterministic; without thetaInitL0 theta is thetaInit', async () => {
  for (const target of [2, 5, 12.5]) {
    const cfg = cfgOf(target);
    const a = await createTrainer(cpu, cfg, sourceAt(0, 128));
    const b = await createTrainer(cpu, cfg, sourceAt(0, 128));
    const ta = paramToTheta((await a.params.theta!.read()) as Float32Array);
    const tb = paramToTheta((await b.params.theta!.read()) as Float32Array);
    assert.equal([...ta], [...tb], 'two inits from the same seed and data are bit-identical');
    // The pre-activations of the first batch, as training computes them: count those above theta.
    const first = synth.rows(0, 128);
    const preT = noGrad(() => tidy(() => preActs(center(normalizeInput(fromArray(cpu, first, [128, 16]), cfg.normalize, a.normScale).x, a.params), a.params)));
    const pre = (await preT.read()) as Float32Array;
    preT.free();
    let active = 0;
    for (let r = 0; r < 128; r++) for (let j = 0; j < 64; j++) if (pre[r * 64 + j]! > ta[j]!) active++;
    const n = Math.round((128 * target) / 64);
    const positive = Array.from({ length: 64 }, (_, j) => Array.from({ length: 128 }, (_, r) => pre[r * 64 + j]!).filter((v) => v > 0).length);
    assert.is(active, positive.reduce((x, p) => x + Math.min(n, p), 0), `target ${target}: active entries on the first batch`);
    if (positive.every((p) => p >= n)) assert.is(active, n * 64, `target ${target}: L0 ${active / 128} on the first batch`);
    a.dispose();
    b.dispose();
  }
  const plain = await createTrainer(cpu, cfgOf(undefined), sourceAt(0, 128));
  assert.ok(paramToTheta((await plain.params.theta!.read()) as Float32Array).every((v) => v === cfgOf(undefined).sae.thetaInit));
  plain.dispose();
  assert.throws(() => cfgOf(64), /thetaInitL0 must be >= 0 \(0: off\) and below dSae \(64\), got 64/);
});

s('a run with thresholds from the data, checkpointed at step 3 and resumed, ends bit for bit as the straight run', async () => {
  const cfg = cfgOf(4, 6);
  const straight = await train(cpu, cfg, sourceAt(0, 128));
  const want = await downloadParams(straight.params);
  straight.dispose();
  const half = await train(cpu, cfg, sourceAt(0, 128), { stopAt: 3 });
  const file = `${process.env.TMPDIR ?? '/tmp'}/batchtopk-jinit-${process.pid}.safetensors`;
  saveCheckpoint(file, { trainer: await half.getState(), extra: {} });
  half.dispose();
  const back = Trainer.restore(cpu, cfg, loadCheckpoint(file).trainer);
  const resumed = await train(cpu, cfg, sourceAt(128 * 4, 128), { trainer: back });
  const got = await downloadParams(resumed.params);
  resumed.dispose();
  for (const n of ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'theta'] as const) assert.equal([...got[n]!], [...want[n]!], n);
  (await import('node:fs')).rmSync(file);
});

s.run();
