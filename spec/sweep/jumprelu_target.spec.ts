// Issue 11: the sweep's JumpReLU search lands the held-out L0 within +-5 % of the target k on the shared
// real activations (stories260K layer-2 residuals), and the final run is trained at the coefficient found.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TrainInput } from '../../src/run/train.js';
import { readRun } from '../../src/io/run_folder.js';
import { runSweep } from '../../src/run/sweep.js';
import { SAE_DEFAULTS } from '../../src/sae/config.js';
import { CpuBackend } from '../../src/backend/cpu/reference.js';

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
    async () => new CpuBackend(),
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
    async () => (opened++, new CpuBackend()),
  );
  assert.is(again.runs[0]!.status, 'skipped');
  assert.is(again.runs[0]!.l0Coeff, run.meta!.l0Coeff);
  assert.is(opened, 0);
});

s.run();
