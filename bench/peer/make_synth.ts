// Writes the synthetic comparison set of issue 8 as a float32 .npy: `features` unit-norm true features in
// d dimensions, Zipf-like feature frequencies (p_i ∝ 1/(i+1)^zipf), a geometric number of active features per
// sample (P(n) = p (1-p)^n, mean (1-p)/p), coefficients uniform in [0.5, 1.5), a fixed offset (so b_dec has
// something to learn) and small isotropic noise. Deterministic from --seed (src/rng.ts).
//   npx tsx bench/peer/make_synth.ts --out /tmp/peer/synth.npy [--rows 200000 --d 64 --features 512 --mean 8 --zipf 1]
import { writeNpy } from '../../src/data/npy.js';
import { Rng } from '../../src/rng.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

const out = arg('out', '/tmp/peer/synth.npy');
const rows = Number(arg('rows', '200000'));
const d = Number(arg('d', '64'));
const F = Number(arg('features', '512'));
const meanActive = Number(arg('mean', '8'));
const zipf = Number(arg('zipf', '1'));
const noise = Number(arg('noise', '0.01'));
const seed = Number(arg('seed', '7'));

const rng = new Rng(seed);
const dict = rng.fillNormal(new Float32Array(F * d));
for (let i = 0; i < F; i++) {
  let s = 0;
  for (let j = 0; j < d; j++) s += dict[i * d + j]! ** 2;
  for (let j = 0; j < d; j++) dict[i * d + j]! /= Math.sqrt(s);
}
const bias = rng.fillNormal(new Float32Array(d), 0, 0.5);
const cdf = new Float64Array(F);
let acc = 0;
for (let i = 0; i < F; i++) cdf[i] = acc += 1 / (i + 1) ** zipf;
for (let i = 0; i < F; i++) cdf[i]! /= acc;
const draw = (): number => {
  const u = rng.uniform();
  let lo = 0;
  let hi = F - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};
const p = 1 / (meanActive + 1); // geometric on {0, 1, ...} with mean (1-p)/p = meanActive
const x = new Float32Array(rows * d);
let total = 0;
for (let r = 0; r < rows; r++) {
  let n = 0;
  while (rng.uniform() >= p) n++;
  n = Math.min(n, F);
  total += n;
  const active = new Set<number>();
  while (active.size < n) active.add(draw());
  const o = r * d;
  for (let j = 0; j < d; j++) x[o + j] = bias[j]! + noise * rng.normal();
  for (const i of active) {
    const c = 0.5 + rng.uniform();
    for (let j = 0; j < d; j++) x[o + j]! += c * dict[i * d + j]!;
  }
}
writeNpy(out, x, rows, d, 'f32');
console.log(`wrote ${out}: ${rows} x ${d} f32, ${F} features (zipf ${zipf}), mean active ${(total / rows).toFixed(2)} (target ${meanActive}), seed ${seed}`);
