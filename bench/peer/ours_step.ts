// Child process of bench/peer/speed.ts: time our BatchTopK training step (Trainer.trainStep, as `train` runs
// it) at one shape on one backend, like recipe.py's time_steps: random-normal inputs, the same batch every
// step, warm-up steps untimed. Prints one JSON line with ms/step, tokens/s and the process's peak RSS.
// Run: `npx tsx bench/peer/ours_step.ts <backend> <d> <m> <k> <batch> <steps> <warmup>`.
import { backendLabel } from '../../src/backend/open.js';
import { openBackend, type BackendChoice } from '../../src/run/backend.js';
import { makeTrainConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { Rng } from '../../src/rng.js';

const [choice = 'auto', d = '768', m = '3072', k = '32', b = '4096', s = '3', w = '1'] = process.argv.slice(2);
const [D, M, K, B, steps, warmup] = [d, m, k, b, s, w].map(Number) as [number, number, number, number, number, number];
const notes: string[] = [];
const be = await openBackend(choice as BackendChoice, (n) => notes.push(n), { dIn: D, dSae: M });
try {
  const cfg = makeTrainConfig({ sae: { arch: 'batchtopk', dIn: D, dSae: M, k: K }, batchSize: B, steps: 1_000_000, seed: 0 });
  const x = new Rng(0).fillNormal(new Float32Array(B * D));
  const t = await Trainer.create(be, cfg, x);
  for (let i = 0; i < warmup; i++) await t.trainStep(x);
  const ts: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await t.trainStep(x);
    ts.push(performance.now() - t0);
  }
  t.dispose();
  const mean = ts.reduce((a, v) => a + v, 0) / ts.length;
  console.log(
    JSON.stringify({
      backend: backendLabel(be),
      notes,
      d: D,
      m: M,
      k: K,
      batch: B,
      steps,
      warmup,
      mean_s: mean / 1000,
      min_s: Math.min(...ts) / 1000,
      tokens_per_s: (B * 1000) / mean,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      ...('mem' in be ? { storage_mb: Object.fromEntries(Object.entries(be.mem as Record<string, number>).map(([k, v]) => [k, Math.round(v / 2 ** 20)])) } : {}),
    }),
  );
} finally {
  be.dispose();
}
