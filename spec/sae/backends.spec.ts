// Issue 4, property 3: CPU and WebGPU train the same SAE from the same seed to loss curves that agree.
// Tolerance: the backends sum in different orders (matmul tiles, reductions), so each step's values differ
// by f32 rounding; measured on llvmpipe, the 20-step curves differ by at most 1.7e-7 relative (all four
// architectures). We allow 1e-5: 60x that, for other adapters' summation orders, yet small enough that a
// real divergence (a different selection, a wrong kernel) fails, since the loss moves 20-50% in 20 steps.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpu, webgpu } from '../helpers/backends.js';
import { config, synth, trainOn } from './fixtures.js';

const s = suite('sae: CPU and WebGPU training agree');

for (const arch of ['batchtopk', 'topk', 'jumprelu', 'relu'] as const) {
  s(`${arch}: 20 steps from the same seed give equal loss curves`, async () => {
    const gpu = await webgpu();
    if (!gpu) return;
    const curves: number[][] = [];
    for (const be of [cpu, gpu]) {
      const losses: number[] = [];
      const t = await trainOn(be, synth(), config(arch, 20), (_t, m) => void losses.push(m.loss));
      t.dispose();
      curves.push(losses);
    }
    const [c, g] = curves as [number[], number[]];
    assert.ok(Math.abs(c[19]! - c[0]!) > 0.05 * c[0]!, `${arch}: the loss moved (${c[0]} -> ${c[19]})`);
    c.forEach((v, i) => assert.ok(Math.abs(v - g[i]!) <= 1e-5 * Math.abs(v), `${arch} step ${i + 1}: cpu ${v} vs webgpu ${g[i]}`));
  });
}

s.run();
