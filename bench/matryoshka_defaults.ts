// Matryoshka's full-width nmse against plain BatchTopK's at equal steps, for candidate prefix widths and loss
// weights (issue 19: within 10% with the defaults). For each seed: plain BatchTopK, then each candidate, same
// rows in the same order, same seed, held-out nmse and L0 under each SAE's calibrated theta. Everything else is
// the training defaults (kAux, deadTokens, Adam betas) except the batch (256). m 1024, k 16.
// Run: `npx tsx bench/matryoshka_defaults.ts real|synth <steps> <lr> <seeds, e.g. 1,2,3> <candidate>...`
// where a candidate is `widths/weights`, e.g. `128,256,512,1024/1,1,1,3`; `default` is the defaults, and
// `widths/` leaves the weights to their default.
import { FastCpuBackend } from '../src/backend/cpu_fast.js';
import { evaluate } from '../src/eval.js';
import { defaultMatryoshkaWidths } from '../src/sae/config.js';
import { prefixWeights } from '../src/sae/matryoshka.js';
import { makeTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/loop.js';
import { realRows, synthRows } from '../spec/sae/matryoshka_data.js';

const [which = 'real', stepsArg = '800', lrArg = '3e-4', seedsArg = '1', ...cands] = process.argv.slice(2);
const M = 1024, K = 16, B = 256;
const data = which === 'synth' ? synthRows() : realRows();
const { d } = data;
const n = data.train.length / d;
const be = new FastCpuBackend();

function parse(c: string): { widths: number[]; weights: number[] } {
  if (c === 'default') return { widths: defaultMatryoshkaWidths(M), weights: [] };
  const [w, wt = ''] = c.split('/');
  const list = (s: string) => (s ? s.split(',').map(Number) : []);
  return { widths: list(w!), weights: list(wt) };
}

async function fit(seed: number, cand: { widths: number[]; weights: number[] } | null) {
  const cfg = makeTrainConfig({
    batchSize: B,
    steps: Number(stepsArg),
    adam: { lr: Number(lrArg) },
    seed,
    sae: cand ? { arch: 'matryoshka', dIn: d, dSae: M, k: K, matryoshkaWidths: cand.widths, matryoshkaWeights: cand.weights } : { arch: 'batchtopk', dIn: d, dSae: M, k: K },
  });
  let next = 0;
  const batch = () => {
    const start = ((next++ * B) % (n - B)) * d;
    return data.train.subarray(start, start + B * d);
  };
  const t = await train(be, cfg, { nextBatch: (out: Float32Array) => out.set(batch()) });
  const { theta } = await t.calibrate(Array.from({ length: 32 }, batch));
  const model = { params: t.params, cfg: cfg.sae, theta, normalize: cfg.normalize, normScale: t.normScale };
  const ev = await evaluate(be, model, [data.held]);
  // L0 under theta on as many training rows as held-out ones: tells a shift of the held-out rows from the
  // threshold estimate's own error.
  const evTrain = await evaluate(be, model, [data.train.subarray(0, data.held.length)]);
  t.dispose();
  return { ev, l0Train: evTrain.l0, weights: prefixWeights(cfg.sae) };
}

console.log(`${which} m ${M} k ${K} batch ${B} steps ${stepsArg} lr ${lrArg}`);
for (const seed of seedsArg.split(',').map(Number)) {
  const t0 = performance.now();
  const plain = await fit(seed, null);
  console.log(`seed ${seed} batchtopk nmse ${plain.ev.nmse.toFixed(4)} L0 ${plain.ev.l0.toFixed(2)} (train rows ${plain.l0Train.toFixed(2)}) (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  for (const c of cands) {
    const t1 = performance.now();
    const cand = parse(c);
    const r = await fit(seed, cand);
    const pn = r.ev.prefixNmse!.map((v) => v.toFixed(4)).join(' ');
    console.log(
      `seed ${seed} ${c.padEnd(28)} weights ${r.weights.map((v) => +v.toFixed(3)).join(',')} nmse ${r.ev.nmse.toFixed(4)} ratio ${(r.ev.nmse / plain.ev.nmse).toFixed(3)} L0 ${r.ev.l0.toFixed(2)} (train rows ${r.l0Train.toFixed(2)}) prefixes ${pn} (${((performance.now() - t1) / 1000).toFixed(0)} s)`,
    );
  }
}
be.dispose();
