// JumpReLU at a target L0 on real activations (issue 17, item 3): the sweep's coefficient search, run at
// the library level (searchCoefficient over train + held-out evaluate), with the thresholds started at
// thetaInit (before) and from the data (after: thetaInitL0For, the quantile giving twice the target), side
// by side in one process, with the sweep's search settings (a quarter-length short run, 12 short and 6 full
// runs at most). `probe` and `headroom` print held-out L0 at fixed coefficients instead.
// Run: `npx tsx bench/jumprelu_target.ts [search|probe|headroom] [cpu|cpu-fast]` (defaults: search, cpu-fast).
// Data: ../shared/data/stories260K/resid2_f16.npy, the last 5 % of rows held out (as the sweep's
// --eval-fraction 0.05); training batches drawn with replacement from the rest by the seeded RNG.
import * as path from 'node:path';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { FastCpuBackend } from '../src/backend/cpu_fast.js';
import { FileSource } from '../src/data/source.js';
import { evaluate } from '../src/eval.js';
import { Rng } from '../src/rng.js';
import { searchCoefficient, thetaInitL0For } from '../src/sweep/search.js';
import { makeTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/loop.js';

const FILE = path.resolve(import.meta.dirname, '../../shared/data/stories260K/resid2_f16.npy');
const mode = process.argv[2] ?? 'search';
const be: Backend = process.argv[3] === 'cpu' ? new CpuBackend() : new FastCpuBackend();
const K = 8;
const M = 256;
const BATCH = 1024;
const STEPS = 300;
const LR = 3e-4;

const src = FileSource.open(FILE);
const d = src.dIn;
const all = new Float32Array(src.rows * d);
src.readRows(0, src.rows, all);
const evalRows = Math.floor(src.rows * 0.05);
const trainRows = src.rows - evalRows;
src.close();
const heldOut = all.subarray(trainRows * d);

async function heldOutL0(coeff: number, steps: number, thetaInitL0: number): Promise<number> {
  const cfg = makeTrainConfig({ batchSize: BATCH, steps, seed: 0, adam: { lr: LR }, sae: { arch: 'jumprelu', dIn: d, dSae: M, k: K, l0Coeff: coeff, thetaInitL0 } });
  const rng = new Rng(1);
  const source = {
    nextBatch(out: Float32Array) {
      for (let r = 0; r < BATCH; r++) {
        const i = rng.int(trainRows);
        out.set(all.subarray(i * d, (i + 1) * d), r * d);
      }
    },
  };
  const t = await train(be, cfg, source);
  const ev = await evaluate(be, { params: t.params, cfg: cfg.sae, theta: 0, normalize: cfg.normalize, normScale: t.normScale }, [heldOut]);
  t.dispose();
  return ev.l0;
}

const t0 = performance.now();
if (mode === 'headroom') {
  // Held-out L0 at full length when the thresholds start at a multiple of the target.
  for (const [init, cs] of [[K, [1e-5]], [1.5 * K, [1e-3, 1e-2]], [2 * K, [1e-3, 1e-2]], [3 * K, [1e-3, 1e-2]]] as const) {
    const row: string[] = [];
    for (const c of cs) row.push(`${c}: ${(await heldOutL0(c, STEPS, init)).toFixed(2)}`);
    console.log(`thetaInitL0 ${init}, ${STEPS} steps: ${row.join('  ')}`);
  }
} else if (mode === 'probe') {
  for (const init of [0, K]) {
    for (const steps of [75, STEPS]) {
      const row: string[] = [];
      for (const c of [1e-3, 1e-2, 1e-1, 1]) row.push(`${c}: ${(await heldOutL0(c, steps, init)).toFixed(2)}`);
      console.log(`thetaInitL0 ${init}, ${steps} steps: ${row.join('  ')}`);
    }
  }
} else {
  for (const init of [0, thetaInitL0For(K, M)]) {
    const r = await searchCoefficient(K, (c, n) => heldOutL0(c, n, init), { tol: 0.05, shortSteps: STEPS / 4, fullSteps: STEPS, initial: 1e-3, maxShort: 12, maxFull: 6 });
    console.log(`thetaInitL0 ${init}: coefficient ${r.coeff} held-out L0 ${r.l0.toFixed(2)} converged ${r.converged}, ${r.trials.length} trials, ${r.steps} steps`);
    for (const t of r.trials) console.log(`  ${t.coeff} x ${t.steps} steps: L0 ${t.l0.toFixed(2)}`);
    if (r.advice) console.log(`  advice: ${r.advice}`);
  }
}
console.log(`(${((performance.now() - t0) / 1000).toFixed(0)} s, ${process.argv[3] ?? 'cpu-fast'} backend; k ${K}, m ${M}, batch ${BATCH}, ${STEPS} steps, lr ${LR})`);
be.dispose();
