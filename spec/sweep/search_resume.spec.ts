// Issue 17, "specs that cannot fail": a resumed sweep consults its recorded JumpReLU trials. At the search
// level, a search cut after any trial and continued with the trials it had recorded asks for exactly the
// missing ones and ends where the uninterrupted search ends; through runSweep, a sweep whose search is
// recorded trains none of its trials again. A search (or sweep) that ignores its recorded trials fails both.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CpuBackend } from '../../src/backend/cpu/reference.js';
import type { TrainInput } from '../../src/run/train.js';
import { writeNpy } from '../../src/data/npy.js';
import { SAE_DEFAULTS } from '../../src/sae/config.js';
import { searchCoefficient, type SearchOptions, type Trial } from '../../src/sweep/search.js';
import { runSweep } from '../../src/run/sweep.js';
import { SyntheticModel } from '../../src/synth.js';

const s = suite('sweep: a resumed JumpReLU search replays its recorded trials');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-sresume-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An L0 response: a power of the coefficient, short runs biased, and an optional floor short runs cannot cross. */
const curve = fc.record({
  scale: fc.double({ min: 5, max: 200, noNaN: true }),
  power: fc.double({ min: 0.2, max: 1.5, noNaN: true }),
  bias: fc.double({ min: 0.7, max: 1.5, noNaN: true }),
  floor: fc.constantFrom(0, 3, 12),
  target: fc.constantFrom(4, 8, 16, 32),
});

s('property: a search cut after any trial and resumed with its recorded trials measures only the missing ones and ends the same', async () => {
  await fc.assert(
    fc.asyncProperty(curve, fc.double({ min: 0, max: 1, noNaN: true }), async (c, cutAt) => {
      const l0 = (coeff: number, steps: number) => Math.max(steps < 400 ? c.floor : 0, c.scale * Math.pow(coeff / 1e-3, -c.power) * (steps < 400 ? c.bias : 1));
      const opts: SearchOptions = { tol: 0.05, shortSteps: 100, fullSteps: 400, initial: 1e-3, maxShort: 10, maxFull: 5 };
      const whole = await searchCoefficient(c.target, async (x, n) => l0(x, n), opts);
      const cut = Math.floor(cutAt * whole.trials.length);
      const recorded: Trial[] = whole.trials.slice(0, cut);
      const asked: Trial[] = [];
      const seen: boolean[] = [];
      const resumed = await searchCoefficient(
        c.target,
        async (x, n) => (asked.push({ coeff: x, l0: l0(x, n), steps: n }), l0(x, n)),
        { ...opts, recorded, onTrial: (_t, replayed) => void seen.push(replayed) },
      );
      assert.equal(resumed.trials, whole.trials, 'the same trials in the same order');
      assert.equal([resumed.coeff, resumed.l0, resumed.converged, resumed.steps], [whole.coeff, whole.l0, whole.converged, whole.steps]);
      assert.equal(asked, whole.trials.slice(cut), 'only the trials after the cut are measured');
      assert.is(resumed.replayed, cut);
      assert.equal(seen, whole.trials.map((_, i) => i < cut), 'onTrial says which trials were replayed');
    }),
    { numRuns: 200, seed: 23 },
  );
});

s('recorded trials at other coefficients or other steps are not used', async () => {
  const l0 = (coeff: number) => 40 * Math.pow(coeff / 1e-3, -0.6);
  const opts: SearchOptions = { tol: 0.05, shortSteps: 100, fullSteps: 400, initial: 1e-3, maxShort: 10, maxFull: 5 };
  const whole = await searchCoefficient(8, async (x) => l0(x), opts);
  // The same coefficients at other lengths, and nearby coefficients at the same lengths: none is a hit.
  const wrong = whole.trials.flatMap((t) => [{ ...t, steps: t.steps + 1, l0: 1 }, { ...t, coeff: t.coeff * (1 + 1e-6), l0: 1 }]);
  let asked = 0;
  const r = await searchCoefficient(8, async (x) => (asked++, l0(x)), { ...opts, recorded: wrong });
  assert.is(asked, whole.trials.length);
  assert.is(r.replayed, 0);
  assert.equal(r.trials, whole.trials);
});

// Through the sweep: a search recorded in <run>/search/search.json is replayed, not trained again.
const data = path.join(tmp, 'acts.npy');
writeNpy(data, new SyntheticModel({ dIn: 12, nFeatures: 32, meanActive: 3, seed: 7 }).rows(0, 4000), 4000, 12);
const base: TrainInput = {
  data,
  arch: 'jumprelu',
  k: 3,
  batchSize: 64,
  steps: 40,
  lr: 3e-3,
  l0Coeff: SAE_DEFAULTS.l0Coeff,
  l1Coeff: SAE_DEFAULTS.l1Coeff,
  kAux: 16,
  auxAlpha: 1 / 32,
  deadTokens: 128,
  bandwidth: SAE_DEFAULTS.bandwidth,
  thetaInit: SAE_DEFAULTS.thetaInit,
  warmupSteps: 0,
  decayFraction: 0,
  clipGradNorm: 0,
  normalize: 'scalar',
  seed: 0,
  out: tmp,
  evalFraction: 0.1,
  evalTokens: 400,
  shuffleBuffer: 1024,
  checkpointEvery: 0,
  logEvery: 20,
  quiet: true,
};

s('runSweep: with run.json lost after the search, the rerun trains only the final run and asks for no trial again', async () => {
  const out = path.join(tmp, 'sweep');
  const sweep = (log: string[], count: { opened: number }) =>
    runSweep(
      { options: base, grid: { archs: ['jumprelu'], ks: [3], dictSizes: [24] }, out, search: { tol: 0.05, shortSteps: 10, maxShort: 6, maxFull: 3 }, log: (m) => void log.push(m) },
      async () => (count.opened++, new CpuBackend()),
    );
  const firstLog: string[] = [];
  const first = { opened: 0 };
  const r1 = await sweep(firstLog, first);
  const run = path.join(out, 'jumprelu-k3-m24');
  const recorded = JSON.parse(fs.readFileSync(path.join(run, 'search', 'search.json'), 'utf8')).trials as Trial[];
  assert.ok(recorded.length >= 2, `a search with several trials: ${JSON.stringify(recorded)}`);
  assert.is(firstLog.filter((l) => l.includes('search: coefficient')).length, recorded.length, firstLog.join('\n'));
  // Lose the record that the run finished (as when a sweep is stopped between the search and run.json).
  fs.rmSync(path.join(run, 'run.json'));
  const againLog: string[] = [];
  const again = { opened: 0 };
  const r2 = await sweep(againLog, again);
  assert.equal(againLog.filter((l) => l.includes('search: coefficient')), [], `no trial trained again:\n${againLog.join('\n')}`);
  assert.is(again.opened, 1, 'one backend: the final run only');
  assert.is(r2.runs[0]!.l0Coeff, r1.runs[0]!.l0Coeff, 'the same coefficient');
  const meta = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
  assert.equal(meta.search.trials, recorded, 'run.json lists the replayed trials');
});

s.run();
