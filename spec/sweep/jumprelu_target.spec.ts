// Issue 11: the sweep's JumpReLU search lands the held-out L0 within +-5 % of the target k on the shared
// real activations (stories260K layer-2 residuals), and the final run is trained at the coefficient found.
// On cpu-fast: the search is the point, and the backend specs check cpu-fast against the reference.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TrainInput } from '../../src/run/train.js';
import { readRun } from '../../src/io/run_folder.js';
import { runSweep } from '../../src/run/sweep.js';
import { SAE_DEFAULTS } from '../../src/sae/config.js';
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';
import { FileSource } from '../../src/data/source.js';
import { evaluate } from '../../src/eval.js';
import { Rng } from '../../src/rng.js';
import { searchCoefficient, thetaInitL0For } from '../../src/sweep/search.js';
import { makeTrainConfig } from '../../src/train/config.js';
import { train } from '../../src/train/loop.js';
import { cpuFast } from '../helpers/backends.js';

const s = suite('sweep: JumpReLU at a target L0 on real activations');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-jtarget-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const DATA = path.resolve(import.meta.dirname, '../../../shared/data/stories260K/resid2_f16.npy');

const base: TrainInput = {
  data: DATA,
  arch: 'jumprelu',
  k: 8,
  batchSize: 256,
  steps: 160,
  lr: 3e-3,
  l0Coeff: SAE_DEFAULTS.l0Coeff,
  l1Coeff: SAE_DEFAULTS.l1Coeff,
  kAux: 64,
  auxAlpha: 1 / 32,
  deadTokens: 2048,
  bandwidth: SAE_DEFAULTS.bandwidth,
  thetaInit: SAE_DEFAULTS.thetaInit,
  warmupSteps: 0,
  decayFraction: 0,
  clipGradNorm: 0,
  normalize: 'scalar',
  seed: 0,
  out: tmp,
  evalFraction: 0.05,
  evalTokens: 6144,
  shuffleBuffer: 16384,
  checkpointEvery: 0,
  logEvery: 40,
  quiet: true,
};

s('the search finds a coefficient whose full run has held-out L0 within 5 % of k, and records it', async () => {
  const out = path.join(tmp, 'sweep');
  const target = 8;
  const r = await runSweep(
    { options: base, grid: { archs: ['jumprelu'], ks: [target], dictSizes: [128] }, out, search: { tol: 0.05, shortSteps: 80, maxShort: 10, maxFull: 4 } },
    async () => new FastCpuBackend(2),
  );
  const run = readRun(path.join(out, 'jumprelu-k8-m128'))!;
  const l0 = run.summary.l0;
  assert.ok(Math.abs(l0 / target - 1) <= 0.05, `held-out L0 ${l0} for target ${target}; trials ${JSON.stringify(run.meta?.search)}`);
  assert.is(run.summary.steps, 160, 'the final run is full length');
  assert.ok(run.meta!.search!.converged);
  assert.is(run.meta!.l0Coeff, r.runs[0]!.l0Coeff);
  const last = run.meta!.search!.trials.filter((t) => t.steps === 160).pop()!;
  assert.is(last.coeff, run.meta!.l0Coeff, 'the final run is the accepted trial');
  assert.is(last.l0, l0);
  const csv = fs.readFileSync(path.join(out, 'results.csv'), 'utf8').split('\n');
  assert.ok(csv[1]!.includes(String(run.meta!.l0Coeff)), 'results.csv has the coefficient');
  // Run again: the finished configuration is skipped without opening a backend.
  let opened = 0;
  const again = await runSweep(
    { options: base, grid: { archs: ['jumprelu'], ks: [target], dictSizes: [128] }, out, search: { tol: 0.05, shortSteps: 80, maxShort: 10, maxFull: 4 } },
    async () => (opened++, new FastCpuBackend(2)),
  );
  assert.is(again.runs[0]!.status, 'skipped');
  assert.is(again.runs[0]!.l0Coeff, run.meta!.l0Coeff);
  assert.is(opened, 0);
});

// Issue 17, item 3: at short budgets at the paper's lr 3e-4 the thresholds started at thetaInit cannot reach
// the target whatever the coefficient (the sweep, m 256, 300 steps: L0 10.91 at coefficient 9.57;
// here, m 128, 120 steps: L0 19.9 at 0.1, flat); started from the data (thetaInitL0For), the search lands
// within 5 % (measured: 7.71 after 4 short and 2 full runs). Library level: the search over train() and the
// held-out evaluate, on an in-memory copy of the data (training rows drawn by the seeded RNG).
const REAL_ROWS = 60_000;
const REAL_EVAL = 4096;

s('short budget on real data: thresholds from the data let the search reach L0 8 within 5 %', async () => {
  const src = FileSource.open(DATA);
  const d = src.dIn;
  const rows = new Float32Array(REAL_ROWS * d);
  src.readRows(0, REAL_ROWS, rows);
  src.close();
  const trainRows = REAL_ROWS - REAL_EVAL;
  const heldOut = rows.subarray(trainRows * d);
  const m = 128;
  const batch = 256;
  const target = 8;
  const measure = async (coeff: number, steps: number) => {
    const cfg = makeTrainConfig({ batchSize: batch, steps, seed: 0, adam: { lr: 3e-4 }, sae: { arch: 'jumprelu', dIn: d, dSae: m, l0Coeff: coeff, thetaInitL0: thetaInitL0For(target, m) } });
    const rng = new Rng(3);
    const source = {
      nextBatch(out: Float32Array) {
        for (let r = 0; r < batch; r++) {
          const i = rng.int(trainRows);
          out.set(rows.subarray(i * d, (i + 1) * d), r * d);
        }
      },
    };
    const t = await train(cpuFast(), cfg, source);
    const ev = await evaluate(cpuFast(), { params: t.params, cfg: cfg.sae, theta: 0, normalize: cfg.normalize, normScale: t.normScale }, [heldOut]);
    t.dispose();
    return ev.l0;
  };
  const r = await searchCoefficient(target, measure, { tol: 0.05, shortSteps: 30, fullSteps: 120, initial: SAE_DEFAULTS.l0Coeff, maxShort: 8, maxFull: 4 });
  assert.ok(r.converged, `held-out L0 ${r.l0} for target ${target}: ${JSON.stringify(r.trials)} ${r.advice}`);
  assert.is(r.advice, null);
});

s.run();
