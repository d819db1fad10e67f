// Issue 20, item 1: on a device backend the Trainer trains Matryoshka through the masked path
// (matryoshkaForward: no read of the selection), on the CPU backends through the grouped one (selectGrouped +
// matryoshkaForwardGrouped: one read of the indices, each entry decoded once). Properties: the choice follows
// the backend's capability (recordsForDevice), and both paths train alike: the same loss every step up to
// float32 summation order, and weights that stay within what that order can move them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeTrainConfig } from '../../src/train/config.js';
import { createTrainer } from '../../src/train/loop.js';
import { recordsForDevice } from '../../src/train/trainer.js';
import { downloadParams } from '../../src/sae/params.js';
import { SyntheticModel } from '../../src/synth.js';
import { cpu, cpuFast, webgpu } from '../helpers/backends.js';

const s = suite('train: Matryoshka masked and grouped paths');

s('the grouped path on the CPU backends, the masked one on WebGPU', async () => {
  assert.is(recordsForDevice(cpu), false);
  assert.is(recordsForDevice(cpuFast()), false);
  const gpu = await webgpu();
  if (gpu) assert.is(recordsForDevice(gpu), true);
});

s('masked and grouped paths: the same losses (1e-5 relative) and weights over 12 steps, AuxK active', async () => {
  const D = 16, M = 64, B = 64, steps = 12, lr = 1e-3;
  const synth = new SyntheticModel({ dIn: D, nFeatures: 32, meanActive: 3, seed: 6 });
  // deadTokens of 2 batches: latents die and AuxK runs (gated) from step 3 on.
  const cfg = makeTrainConfig({ batchSize: B, steps, seed: 5, adam: { lr }, sae: { arch: 'matryoshka', dIn: D, dSae: M, k: 4, kAux: 16, deadTokens: 2 * B, matryoshkaWidths: [16, 32, 64] } });
  const runs = [];
  for (const grouped of [true, false]) {
    let at = 0;
    const source = { nextBatch: (out: Float32Array) => (out.set(synth.rows(at, B)), (at += B)) };
    const t = await createTrainer(cpu, cfg, source);
    t.groupedMatryoshka = grouped;
    const batch = new Float32Array(B * D);
    const losses: number[] = [];
    const aux: number[] = [];
    for (let i = 0; i < steps; i++) {
      source.nextBatch(batch);
      const m = await t.trainStep(batch);
      losses.push(m.loss);
      aux.push(m.aux);
    }
    runs.push({ losses, aux, params: await downloadParams(t.params) });
    t.dispose();
  }
  const [g, m] = runs as [(typeof runs)[0], (typeof runs)[0]];
  assert.ok(g.aux.some((v) => v > 0), `AuxK ran: ${g.aux}`);
  g.losses.forEach((v, i) => assert.ok(Math.abs(v - m.losses[i]!) <= 1e-5 * v, `step ${i + 1}: loss ${v} grouped vs ${m.losses[i]} masked`));
  g.aux.forEach((v, i) => assert.ok(Math.abs(v - m.aux[i]!) <= 1e-5 * Math.max(v, 1e-12), `step ${i + 1}: aux ${v} vs ${m.aux[i]}`));
  // Adam moves a parameter by at most about lr a step whatever its gradient, so rounding-level gradient
  // differences can move a parameter whose gradient is near zero by up to 2 lr a step; far less in practice.
  for (const k of ['W_enc', 'W_dec', 'b_enc', 'b_dec'] as const) {
    const [a, b] = [g.params[k], m.params[k]];
    let most = 0;
    a.forEach((v, i) => (most = Math.max(most, Math.abs(v - b[i]!))));
    assert.ok(most <= 0.1 * lr, `${k}: the paths' weights differ by ${most}`);
  }
});

s.run();
