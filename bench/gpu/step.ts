// bench/gpu/run.sh's training step: our BatchTopK step as `train` runs it between two log steps
// (Trainer.advance: recorded with no host wait; one settle at the end reads the window) on WebGPU at one
// shape, timed like bench/peer/ours_step.ts (random-normal batch, the same every step, warm-up untimed) but as
// a mean only (a step's own time is the host's recording time, not the device's work),
// plus the device's activity per timed step from Backend.counters (dispatches, submits, readbacks = host
// waits, readback and upload bytes). Prints one JSON object (the last line of stdout).
// Run: `npx tsx bench/gpu/step.ts <d> <m> <k> <batch> <steps> <warmup>`.
import type { BackendCounters } from '../../src/backend/backend.js';
import { STEP_COUNTERS } from '../../src/backend/profile.js';
import { describeAdapter } from '../../src/backend/webgpu/info.js';
import { createWebGpuBackend, WebGpuBackend } from '../../src/backend/webgpu/webgpu.js';
import { makeTrainConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { Rng } from '../../src/rng.js';

const [D, M, K, B, steps, warmup] = process.argv.slice(2, 8).map(Number) as [number, number, number, number, number, number];
if (![D, M, K, B, steps, warmup].every((v) => Number.isInteger(v) && v >= 0) || steps < 1) {
  throw new Error('usage: step.ts <d> <m> <k> <batch> <steps> <warmup> (non-negative integers, steps >= 1)');
}
const be = await createWebGpuBackend({});
try {
  if (!(be instanceof WebGpuBackend) || !be.counters) throw new Error('step.ts: expected the WebGPU backend');
  const adapter = await describeAdapter(be);
  const cfg = makeTrainConfig({ sae: { arch: 'batchtopk', dIn: D, dSae: M, k: K }, batchSize: B, steps: 1_000_000, seed: 0 });
  const x = new Rng(0).fillNormal(new Float32Array(B * D));
  const t = await Trainer.create(be, cfg, x);
  for (let i = 0; i < warmup; i++) await t.advance(x);
  if (warmup > 0) await t.settle();
  await be.sync();
  const ts: number[] = [];
  const perStep: Record<string, number>[] = [];
  let last: BackendCounters = be.counters();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await t.advance(x);
    ts.push(performance.now() - t0);
    const now = be.counters();
    perStep.push({ step: warmup + i + 1, ...Object.fromEntries(STEP_COUNTERS.map((k) => [k, now[k] - last[k]])) });
    last = now;
  }
  // The steps return before the device has run them: the settle (one read of the window's metrics, as a log
  // step does) waits for them all, and is counted in no step.
  const tEnd = performance.now();
  const window = await t.settle();
  if (!Number.isFinite(window.loss)) throw new Error(`step.ts: the loss over the timed steps is ${window.loss}`);
  const tail = performance.now() - tEnd;
  t.dispose();
  const total = ts.reduce((a, v) => a + v, 0) + tail;
  console.log(
    JSON.stringify({
      side: 'ours-webgpu',
      adapter,
      d: D,
      m: M,
      k: K,
      batch: B,
      steps,
      warmup,
      mean_s: total / steps / 1000,
      tokens_per_s: (B * steps * 1000) / total,
      kernelTiming: be.counters().kernelTiming,
      perStep,
    }),
  );
} finally {
  be.dispose();
}
