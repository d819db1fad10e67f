// Per-token cost of the training step against the batch size (the batch-size cliff of issue 9):
// steady-state ms/step of Trainer.trainStep at each batch, one backend, 4 batches of normal data in turn
// (default deadTokens, so the AuxK loss starts once latents die; the dead count is printed).
// Run: `npx tsx bench/step_scaling.ts <cpu|cpu-fast|webgpu> <d> <m> <k> <batch,batch,...> [steps]`.
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { FastCpuBackend } from '../src/backend/cpu_fast.js';
import { createWebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { makeTrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/rng.js';

const [which = 'cpu', d = '768', m = '3072', k = '32', batches = '1024,4096', stepsArg = '3'] = process.argv.slice(2);
const [D, M, K, steps] = [Number(d), Number(m), Number(k), Number(stepsArg)];
const be: Backend = which === 'cpu' ? new CpuBackend() : which === 'cpu-fast' ? new FastCpuBackend() : await createWebGpuBackend({});
const rng = new Rng(1);
try {
  for (const B of batches.split(',').map(Number)) {
    const cfg = makeTrainConfig({ sae: { arch: 'batchtopk', dIn: D, dSae: M, k: K }, batchSize: B, steps: 1000, seed: 1 });
    const data = Array.from({ length: 4 }, () => rng.fillNormal(new Float32Array(B * D)));
    const t = await Trainer.create(be, cfg, data[0]!);
    await t.trainStep(data[1]!); // warm-up: pipelines, pool
    const times: number[] = [];
    let dead = 0;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      dead = (await t.trainStep(data[i % 4]!)).dead;
      times.push(performance.now() - t0);
    }
    t.dispose();
    const ms = times.reduce((a, b) => a + b, 0) / times.length;
    const stats = (be as unknown as { ctx?: { recorder?: { pool: { stats: unknown }; stats: unknown } } }).ctx?.recorder;
    console.log(
      `${which} d=${D} m=${M} k=${K} batch=${B}: ${ms.toFixed(0)} ms/step (${times.map((x) => x.toFixed(0)).join(', ')}), ` +
        `${((ms * 1000) / B).toFixed(1)} us/token, ${dead} dead` + (stats ? ` pool ${JSON.stringify(stats.pool.stats)} rec ${JSON.stringify(stats.stats)}` : ''),
    );
  }
} finally {
  be.dispose();
}
