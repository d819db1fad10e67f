// Issue 20, item 1: AuxK without the host's dead count. The Trainer no longer reads the dead count back: once a
// latent can be dead (by the step count) it selects min(kAux, dSae) per row, the picks beyond the dead ones
// carry the value 0 (the dead mask), and the device gate min(1, sum(dead)) zeroes the loss when none is dead.
// Properties: (1) with 0 < dead < kAux, the upper-bound selection gives the loss, aux and every gradient of the
// exact-count selection bit for bit; (2) with no dead latent, the gated AuxK leaves the loss and every
// gradient exactly as with no AuxK at all, and reports aux 0. On cpu and webgpu.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend/backend.js';
import { backward } from '../../src/autodiff/grad.js';
import { Rng } from '../../src/rng.js';
import { makeSaeConfig } from '../../src/sae/config.js';
import { trainForward } from '../../src/sae/forward.js';
import { initHostParams, paramList, uploadParams } from '../../src/sae/params.js';
import { fromArray, tidy } from '../../src/tensor.js';
import { SyntheticModel } from '../../src/synth.js';
import { allBackends } from '../helpers/backends.js';

const s = suite('train: AuxK gated on the device equals the exact dead count');

const D = 12, M = 48, B = 16;

/** Loss, aux and every parameter gradient of one taped forward with the given dead mask and dead-count bound. */
async function run(be: Backend, arch: 'batchtopk' | 'topk' | 'matryoshka', deadMask: Float32Array | null, deadCount: number) {
  const cfg = makeSaeConfig({ arch, dIn: D, dSae: M, k: 3, kAux: 16, ...(arch === 'matryoshka' ? { matryoshkaWidths: [12, 24, 48] } : {}) });
  const rng = new Rng(11);
  const host = initHostParams(cfg, rng, rng.fillNormal(new Float32Array(D), 0, 0.2));
  // Spread b_enc so some dead latents have positive pre-activations (their AuxK values are not all 0).
  host.b_enc = rng.fillNormal(new Float32Array(M), 0, 0.3);
  const p = uploadParams(be, cfg, host);
  const x = new SyntheticModel({ dIn: D, nFeatures: 24, meanActive: 3, seed: 2 }).rows(0, B);
  const dead = deadMask ? fromArray(be, deadMask, [M]).keep() : null;
  const out = tidy(() => {
    const r = trainForward(fromArray(be, x, [B, D]), p, { cfg, dead, deadCount });
    backward(r.loss);
    return { loss: r.loss.keep(), aux: r.aux?.keep() ?? null };
  });
  const loss = await out.loss.item();
  const aux = out.aux ? await out.aux.item() : null;
  const grads = await Promise.all(paramList(p).map(async (t) => Array.from((await t.grad!.read()) as Float32Array)));
  for (const t of [...paramList(p), ...(dead ? [dead] : []), out.loss, ...(out.aux ? [out.aux] : [])]) (t.grad?.free(), t.free());
  return { loss, aux, grads };
}

s('0 < dead < kAux: selecting min(kAux, dSae) with the gate equals selecting min(kAux, deadCount), bit for bit', async () => {
  for (const be of await allBackends()) {
    for (const arch of ['batchtopk', 'topk', 'matryoshka'] as const) {
      // 5 dead latents, kAux 16: every row picks 11 latents that are not dead.
      const mask = Float32Array.from({ length: M }, (_, j) => (j % 9 === 4 ? 1 : 0));
      const dead = mask.reduce((a, v) => a + v, 0);
      assert.ok(dead > 0 && dead < 16);
      const exact = await run(be, arch, mask, dead);
      const bound = await run(be, arch, mask, M);
      const what = `${be.name} ${arch}`;
      assert.ok(exact.aux !== null && exact.aux > 0, `${what}: AuxK is active (${exact.aux})`);
      assert.is(bound.aux, exact.aux, `${what}: aux`);
      assert.is(bound.loss, exact.loss, `${what}: loss`);
      exact.grads.forEach((g, i) => assert.equal(bound.grads[i], g, `${what}: gradient of parameter ${i}`));
    }
  }
});

s('no dead latent: the gated AuxK adds exactly nothing (loss and gradients as without AuxK), aux reported 0', async () => {
  for (const be of await allBackends()) {
    for (const arch of ['batchtopk', 'topk', 'matryoshka'] as const) {
      const none = await run(be, arch, null, 0);
      const gated = await run(be, arch, new Float32Array(M), M);
      const what = `${be.name} ${arch}`;
      assert.is(gated.aux, 0, `${what}: aux`);
      assert.is(gated.loss, none.loss, `${what}: loss`);
      none.grads.forEach((g, i) => assert.equal(gated.grads[i], g, `${what}: gradient of parameter ${i}`));
    }
  }
});

s.run();
