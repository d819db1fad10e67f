// One full training step end to end (forward, backward, decoder projection, Adam, renormalisation, dead
// bookkeeping, the per-step scalar readback), CPU backend vs WebGPU, and the sparse TopK/BatchTopK step vs
// the dense-decoder reference, at SAE shapes. Each configuration is validated first: both backends' first
// losses must agree (1e-5 relative, as spec/sae/backends.spec.ts) before anything is timed. Tokens/s = batch / mean step time.
// Run: `npx tsx bench/train_step.bench.ts [small|medium]` (medium = d 768, m 3072: minutes on a CPU).
import { Bench } from 'tinybench';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { createWebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { describeAdapter } from '../src/backend/webgpu/info.js';
import { backward } from '../src/autodiff/grad.js';
import { makeTrainConfig, type TrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { trainForward } from '../src/sae/forward.js';
import { initHostParams, paramList, uploadParams } from '../src/sae/params.js';
import { Rng } from '../src/rng.js';
import { SyntheticModel } from '../src/synth.js';
import { fromArray, tidy } from '../src/tensor.js';
import type { Arch } from '../src/sae/config.js';

const size = process.argv[2] ?? 'small';
const shapes = size === 'medium' ? { d: 768, m: 3072, B: 1024, k: 32, iters: 3 } : { d: 64, m: 512, B: 1024, k: 8, iters: 10 };
const data = new SyntheticModel({ dIn: shapes.d, nFeatures: shapes.m, meanActive: shapes.k, seed: 1 });
const batches = Array.from({ length: 4 }, (_, i) => data.rows(i * shapes.B, shapes.B));

function cfg(arch: Arch): TrainConfig {
  return makeTrainConfig({ sae: { arch, dIn: shapes.d, dSae: shapes.m, k: shapes.k, deadTokens: shapes.B * 2 }, batchSize: shapes.B, steps: 1000, seed: 1 });
}

async function msPerStep(name: string, fn: () => Promise<unknown>, iters: number): Promise<number> {
  const bench = new Bench({ iterations: iters, time: 0, warmup: true, warmupIterations: 1, warmupTime: 0, throws: true });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`${name}: ${r.state}`);
  return r.latency.mean;
}

const cpu = new CpuBackend();
const gpu = await createWebGpuBackend({});
const adapter = await describeAdapter(gpu);
console.log(`# train step: d=${shapes.d} m=${shapes.m} batch=${shapes.B} k=${shapes.k}; WebGPU adapter: ${adapter.vendor} ${adapter.device} (${adapter.backend}, ${adapter.featureLevel})`);
console.log('| arch | backend | ms/step | tokens/s |');
console.log('|---|---|---|---|');
for (const arch of ['batchtopk', 'topk', 'jumprelu', 'relu'] as const) {
  const first: number[] = [];
  for (const be of [cpu, gpu] as Backend[]) {
    const t = await Trainer.create(be, cfg(arch), batches[0]!);
    first.push((await t.trainStep(batches[1]!)).loss);
    let i = 0;
    const ms = await msPerStep(`${arch} ${be.name}`, () => t.trainStep(batches[i++ % 4]!), shapes.iters);
    console.log(`| ${arch} | ${be.name} | ${ms.toFixed(1)} | ${Math.round((shapes.B * 1000) / ms)} |`);
    t.dispose();
  }
  if (Math.abs(first[0]! - first[1]!) > 1e-5 * Math.abs(first[0]!)) throw new Error(`${arch}: cpu loss ${first[0]} vs webgpu ${first[1]}`);
}

// Sparse decoder + sparse backward vs the dense [B,M] reference (forward + backward only), per backend.
console.log('\n| forward+backward | backend | sparse ms | dense ms | dense/sparse |');
console.log('|---|---|---|---|---|');
for (const be of [cpu, gpu] as Backend[]) {
  const c = cfg('batchtopk');
  const p = uploadParams(be, c.sae, initHostParams(c.sae, new Rng(1), new Float32Array(shapes.d)));
  const step = (dense: boolean) => async () => {
    const loss = tidy(() => {
      const out = trainForward(fromArray(be, batches[0]!, [shapes.B, shapes.d]), p, { cfg: c.sae, dead: null, deadCount: 0, dense });
      backward(out.loss);
      return out.loss;
    });
    await loss.item();
    loss.free();
    for (const t of paramList(p)) (t.grad?.free(), (t.grad = null));
  };
  const sparse = await msPerStep('sparse', step(false), shapes.iters);
  const dense = await msPerStep('dense', step(true), shapes.iters);
  console.log(`| batchtopk | ${be.name} | ${sparse.toFixed(1)} | ${dense.toFixed(1)} | ${(dense / sparse).toFixed(2)} |`);
  for (const t of paramList(p)) t.free();
}
gpu.dispose();
