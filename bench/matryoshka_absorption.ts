// Absorption on a known hierarchy (issue 19): plain BatchTopK against Matryoshka BatchTopK on
// HierarchicalModel data, same k, width, steps and seed. For each parent feature: the cosine of the closest
// decoder row to the parent's direction, that latent's F1 against the parent's firing, and its recall where a
// child fires too. Run: `npx tsx bench/matryoshka_absorption.ts [steps] [backend cpu|webgpu] [seeds]`; OVER='{"widths":[8,48],"weights":[1,1]}' overrides the setup.
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { absorptionRun } from '../spec/sae/absorption_fixture.js';

const [stepsArg = '200', beArg = 'cpu', seedsArg = '0'] = process.argv.slice(2);
let be: Backend = new CpuBackend();
if (beArg === 'webgpu') be = await (await import('../src/backend/webgpu/webgpu.js')).createWebGpuBackend({});
for (const seed of seedsArg.split(',').map(Number)) {
  for (const arch of ['batchtopk', 'matryoshka'] as const) {
    const t0 = performance.now();
    const r = await absorptionRun(be, arch, seed, { steps: Number(stepsArg), ...JSON.parse(process.env.OVER ?? '{}') });
    const fmt = (v: number) => v.toFixed(3);
    console.log(
      `seed ${seed} ${arch.padEnd(10)} nmse ${fmt(r.nmse)} l0 ${r.l0.toFixed(2)}  cos ${r.parents.map((p) => fmt(p.cos)).join(' ')}  f1 ${r.parents.map((p) => fmt(p.f1)).join(' ')}  recall|child ${r.parents.map((p) => fmt(p.recallUnderChild)).join(' ')}  latent ${r.parents.map((p) => p.latent).join(' ')}  maxCos ${r.parents.map((p) => fmt(p.maxCos)).join(' ')}  (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
}
be.dispose();
