// Differential check of SAE training: the same configuration and batches trained on the fast CPU backend on
// several threads and on one thread, every step's metrics and, every `every` steps, all parameters compared
// bit for bit (the fast primitives promise results independent of the thread count). Architectures, shapes
// and batch sizes vary per run, so the threaded selection, sparse products and Adam cross their split points.
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';
import { Rng } from '../../src/rng.js';
import { downloadParams } from '../../src/sae/params.js';
import { makeTrainConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { bitDiff, type Mismatch } from './compare.js';
import type { CheckResult } from './forward.js';

export interface TrainCheckOptions {
  threads: number;
  /** Stop after this many training runs, or at the deadline (ms since epoch). */
  runs: number;
  deadline: number;
  /** Steps per run; parameters compared every `every` steps and at the end. */
  steps: number;
  every: number;
  seed: number;
  /** Largest dIn and dSae drawn (dSae a multiple of 64 up to this). */
  maxDIn: number;
  maxDSae: number;
  allThreaded: boolean;
  progress?: (line: string) => void;
}

const ARCHS = ['batchtopk', 'topk', 'jumprelu', 'relu'] as const;

export async function checkTraining(o: TrainCheckOptions): Promise<CheckResult> {
  const t0 = Date.now();
  const rng = new Rng(o.seed);
  const mismatches: Mismatch[] = [];
  let cases = 0;
  while (cases < o.runs && Date.now() < o.deadline) {
    const arch = ARCHS[rng.int(ARCHS.length)]!;
    const dIn = 8 + rng.int(o.maxDIn - 7);
    const dSae = 64 * (1 + rng.int(Math.max(1, o.maxDSae / 64)));
    const batchSize = 16 + rng.int(241);
    const k = 1 + rng.int(Math.min(32, dSae));
    const cfg = makeTrainConfig({ sae: { arch, dIn, dSae, k, deadTokens: 4 * batchSize, kAux: Math.min(dSae, 2 * k) }, batchSize, steps: o.steps, seed: rng.int(1000) });
    // A pool of batches with an offset (like real activations), drawn in a seeded order.
    const pool = Array.from({ length: 4 }, () => rng.fillNormal(new Float32Array(batchSize * dIn)).map((v, i) => v + (i % dIn) * 0.1));
    const order = Array.from({ length: o.steps }, () => rng.int(pool.length));
    const what = `run ${cases} (${arch}, dIn ${dIn}, dSae ${dSae}, k ${k}, batch ${batchSize})`;
    const backends = [new FastCpuBackend(o.threads), new FastCpuBackend(1)];
    if (o.allThreaded) backends[0]!.parMinWork = 0;
    try {
      const trainers = await Promise.all(backends.map((be) => Trainer.create(be, cfg, pool[0]!)));
      for (let step = 1; step <= o.steps; step++) {
        const x = pool[order[step - 1]!]!;
        const [a, b] = [await trainers[0]!.trainStep(x), await trainers[1]!.trainStep(x)];
        const ma = Float32Array.from([a.loss, a.mse, a.aux, a.sparsity, a.l0, a.dead]);
        const mb = Float32Array.from([b.loss, b.mse, b.aux, b.sparsity, b.l0, b.dead]);
        const m = bitDiff(`${what} step ${step} metrics (loss, mse, aux, sparsity, l0, dead)`, ma, mb);
        if (m) mismatches.push(m);
        if (step % o.every === 0 || step === o.steps) {
          const [pa, pb] = [await downloadParams(trainers[0]!.params), await downloadParams(trainers[1]!.params)];
          for (const key of Object.keys(pb) as (keyof typeof pb)[]) {
            const d = bitDiff(`${what} step ${step} ${key}`, pa[key]!, pb[key]!);
            if (d) mismatches.push(d);
          }
        }
        if (m) break; // diverged: later steps only repeat it
      }
      for (const t of trainers) t.dispose();
    } finally {
      for (const be of backends) be.dispose();
    }
    cases++;
    o.progress?.(`train ${cases}: ${what}`);
  }
  return { cases, mismatches, seconds: (Date.now() - t0) / 1000 };
}
