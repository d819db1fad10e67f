// MetricsAccumulator against oracles written here: every metric recomputed in float64 over the
// concatenated rows, with batches of uneven sizes and a mean offset far larger than the spread (where a
// merge of per-batch variances without Chan's correction term, or a variance about 0, is far off).
// SAEBench's core metrics too, both from the accumulator alone and end to end through evaluate() on the
// CPU reference backend against an SAE forward pass written here in float64.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpu } from '../helpers/backends.js';
import { evaluate } from '../../src/eval.js';
import { deadFrequencyFloor, MetricsAccumulator, missProbability, smallEvalWarning, type BatchStats } from '../../src/metrics.js';
import { Rng } from '../../src/rng.js';
import { makeSaeConfig } from '../../src/sae/config.js';
import { uploadParams } from '../../src/sae/params.js';

const s = suite('metrics');
const D = 6;
const M = 10;

interface Rows {
  x: number[][];
  xhat: number[][];
  l0: number[];
  fired: number[][];
}

function batchOf(rng: Rng, n: number): Rows {
  const r: Rows = { x: [], xhat: [], l0: [], fired: [] };
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: D }, (_, c) => 1000 * (c + 1) + rng.normal());
    r.x.push(x);
    r.xhat.push(x.map((v) => v + 0.3 * rng.normal()));
    // Latents 8 and 9 never fire; the others fire at random.
    const on: number[] = Array.from({ length: M }, (_, j) => (j < 8 && rng.uniform() < 0.3 ? 1 : 0));
    r.fired.push(on);
    r.l0.push(on.reduce((a, b) => a + b, 0));
  }
  return r;
}

/** What eval.ts hands the accumulator for one batch (float32 per-batch statistics). */
function statsOf(b: Rows): BatchStats {
  const n = b.x.length;
  const colMean = Float32Array.from({ length: D }, (_, c) => b.x.reduce((a, x) => a + x[c]!, 0) / n);
  const colM2 = Float32Array.from({ length: D }, (_, c) => b.x.reduce((a, x) => a + (x[c]! - colMean[c]!) ** 2, 0));
  let sse = 0, sumSq = 0;
  b.x.forEach((x, i) => x.forEach((v, c) => ((sse += (v - b.xhat[i]![c]!) ** 2), (sumSq += v * v))));
  const fired = Float32Array.from({ length: M }, (_, j) => b.fired.reduce((a, f) => a + f[j]!, 0));
  const dot = Float32Array.from(b.x, (x, i) => x.reduce((a, v, c) => a + v * b.xhat[i]![c]!, 0));
  const xSq = Float32Array.from(b.x, (x) => x.reduce((a, v) => a + v * v, 0));
  const xhatSq = Float32Array.from(b.xhat, (x) => x.reduce((a, v) => a + v * v, 0));
  return { rows: n, sse, sumSq, colMean, colM2, l0: Float32Array.from(b.l0), fired, dot, xSq, xhatSq };
}

/** SAEBench's core metrics over whole rows, in float64, straight from their definitions. */
function coreOracle(x: number[][], xhat: number[][], fired: number[][]) {
  const n = x.length;
  const d = x[0]!.length;
  const mean = Array.from({ length: d }, (_, c) => x.reduce((a, r) => a + r[c]!, 0) / n);
  let sse = 0, tot = 0, cos = 0, ratio = 0, counted = 0;
  x.forEach((r, i) => {
    const h = xhat[i]!;
    let dot = 0, nx = 0, nh = 0;
    r.forEach((v, c) => {
      sse += (v - h[c]!) ** 2;
      tot += (v - mean[c]!) ** 2;
      dot += v * h[c]!;
      nx += v * v;
      nh += h[c]! * h[c]!;
    });
    if (nx === 0) return;
    counted++;
    ratio += Math.sqrt(nh) / Math.sqrt(nx);
    cos += nh === 0 ? 0 : dot / Math.sqrt(nx * nh);
  });
  const m = fired[0]!.length;
  const freq = Array.from({ length: m }, (_, j) => fired.reduce((a, f) => a + (f[j]! > 0 ? 1 : 0), 0) / n);
  return {
    explained_variance: 1 - sse / tot,
    cossim: cos / counted,
    l2_ratio: ratio / counted,
    frac_alive: freq.filter((f) => f > 0).length / m,
    freq_over_1_percent: freq.filter((f) => f > 0.01).length / m,
    freq_over_10_percent: freq.filter((f) => f > 0.1).length / m,
  };
}

s('nmse, fvu, L0, dead fraction and the L0 histogram equal float64 oracles over the whole set', () => {
  const rng = new Rng(11);
  const batches = [1, 7, 100, 33].map((n) => batchOf(rng, n));
  const acc = new MetricsAccumulator(D, M);
  for (const b of batches) acc.add(statsOf(b));
  const r = acc.result();
  const all: Rows = { x: batches.flatMap((b) => b.x), xhat: batches.flatMap((b) => b.xhat), l0: batches.flatMap((b) => b.l0), fired: batches.flatMap((b) => b.fired) };
  const n = all.x.length;
  let sse = 0, sumSq = 0, variance = 0;
  const mean = Array.from({ length: D }, (_, c) => all.x.reduce((a, x) => a + x[c]!, 0) / n);
  all.x.forEach((x, i) => x.forEach((v, c) => ((sse += (v - all.xhat[i]![c]!) ** 2), (sumSq += v * v), (variance += (v - mean[c]!) ** 2))));
  const close = (got: number, want: number, what: string, tol = 1e-6) => assert.ok(Math.abs(got - want) <= tol * Math.abs(want), `${what}: ${got} vs ${want}`);
  assert.is(r.tokens, n);
  close(r.nmse, sse / sumSq, 'nmse');
  // The per-batch colMean/colM2 arrive as float32; 1e-4 is far below the error of a wrong merge (~100%).
  close(r.fvu, sse / variance, 'fvu', 1e-4);
  close(r.l0, all.l0.reduce((a, b) => a + b, 0) / n, 'l0');
  const dead = Array.from({ length: M }, (_, j) => all.fired.every((f) => f[j] === 0)).filter(Boolean).length;
  close(r.deadFraction, dead / M, 'deadFraction', 1e-12);
  assert.is(dead, 2, 'the data has exactly the two silent latents');
  const hist: number[] = [];
  for (const c of all.l0) {
    while (hist.length <= c) hist.push(0);
    hist[c]!++;
  }
  assert.equal(r.l0Histogram, hist);
  close(r.deadFrequencyFloor, 1 - 0.05 ** (1 / n), 'deadFrequencyFloor');
});

s('SAEBench core metrics (explained_variance, cossim, l2_ratio, frac_alive, freq_over_1/10_percent) equal float64 oracles', () => {
  const rng = new Rng(13);
  const batches = [5, 64, 1, 30].map((n) => batchOf(rng, n));
  // Latent 0 fires on about 5% of rows, latent 1 on exactly one row: between the 1% and 10% bars and
  // under the 1% bar, so each frequency count has latents on both sides of its bar.
  let row = 0;
  for (const b of batches) {
    b.fired.forEach((f) => {
      f[0] = row % 20 === 3 ? 1 : 0;
      f[1] = row === 40 ? 1 : 0;
      row++;
    });
    b.l0 = b.fired.map((f) => f.reduce((a, v) => a + v, 0));
  }
  // A zero row (left out of cossim / l2_ratio) and a row with a zero reconstruction (cosine 0).
  batches[1]!.x[3] = Array(D).fill(0);
  batches[1]!.xhat[5] = Array(D).fill(0);
  const acc = new MetricsAccumulator(D, M);
  for (const b of batches) acc.add(statsOf(b));
  const r = acc.result();
  const want = coreOracle(batches.flatMap((b) => b.x), batches.flatMap((b) => b.xhat), batches.flatMap((b) => b.fired));
  for (const [k, v] of Object.entries(want)) {
    const got = r[k as keyof typeof r] as number;
    // The accumulator is handed float32 per-batch figures (as eval.ts reads them from the device): column
    // statistics for explained variance (as fvu above), per-row dot products and squared norms (relative
    // rounding 6e-8 each) for cossim and l2_ratio. A wrong definition is off by far more (see the report).
    const tol = k === 'explained_variance' ? 1e-4 : k === 'cossim' || k === 'l2_ratio' ? 1e-6 : 1e-12;
    assert.ok(Math.abs(got - v) <= tol * Math.max(Math.abs(v), 1e-3), `${k}: ${got} vs ${v}`);
  }
  assert.ok(want.freq_over_1_percent > 0 && want.freq_over_1_percent < want.frac_alive, 'latent 1 is alive but under 1%');
  assert.ok(want.freq_over_10_percent < want.freq_over_1_percent, 'latent 0 is over 1% but under 10%');
  assert.ok(Math.abs(r.explained_variance - (1 - r.fvu)) < 1e-12);
});

s('evaluate(): the core metrics of a real forward pass (relu and batchtopk-theta, scalar normalisation) match a float64 forward pass', async () => {
  const rng = new Rng(14);
  const d = 8, m = 24, n = 300;
  for (const arch of ['relu', 'batchtopk'] as const) {
    const cfg = makeSaeConfig({ arch, dIn: d, dSae: m, k: 3 });
    const host = {
      W_enc: Float32Array.from({ length: m * d }, () => 0.5 * rng.normal()),
      b_enc: Float32Array.from({ length: m }, () => 0.3 * rng.normal() - 0.2),
      W_dec: Float32Array.from({ length: m * d }, () => 0.4 * rng.normal()),
      b_dec: Float32Array.from({ length: d }, () => 0.1 * rng.normal()),
    };
    const theta = 0.4;
    const scale = 0.7;
    const data = Float32Array.from({ length: n * d }, (_, i) => (i % d) * 0.5 + rng.normal());
    const params = uploadParams(cpu, cfg, host);
    const got = await evaluate(cpu, { params, cfg, theta, normalize: 'scalar', normScale: scale }, [data.subarray(0, 17 * d), data.subarray(17 * d)]);
    const x: number[][] = [], xhat: number[][] = [], fired: number[][] = [];
    for (let r = 0; r < n; r++) {
      const row = Array.from(data.subarray(r * d, (r + 1) * d));
      const f = Array.from({ length: m }, (_, j) => {
        let pre = host.b_enc[j]!;
        for (let c = 0; c < d; c++) pre += host.W_enc[j * d + c]! * (row[c]! * scale - host.b_dec[c]!);
        return arch === 'relu' ? Math.max(pre, 0) : pre >= theta ? pre : 0;
      });
      const h = Array.from({ length: d }, (_, c) => (f.reduce((a, v, j) => a + v * host.W_dec[j * d + c]!, 0) + host.b_dec[c]!) / scale);
      x.push(row);
      xhat.push(h);
      fired.push(f.map((v) => (v > 0 ? 1 : 0)));
    }
    const want = coreOracle(x, xhat, fired);
    for (const [k, v] of Object.entries(want)) {
      const g = got[k as keyof typeof got] as number;
      assert.ok(Math.abs(g - v) <= 1e-4 * Math.max(Math.abs(v), 1e-2), `${arch} ${k}: ${g} vs ${v}`);
    }
    // Random weights: a poor but non-degenerate reconstruction, and latents on both sides of the 10% bar.
    assert.ok(want.cossim > 0.05 && want.cossim < 0.999 && want.l2_ratio > 0.2, `${arch}: a non-trivial reconstruction (cossim ${want.cossim}, l2_ratio ${want.l2_ratio})`);
    assert.ok(want.freq_over_10_percent > 0 && want.freq_over_10_percent < want.frac_alive, `${arch}: frequencies ${JSON.stringify(want)}`);
    for (const t of Object.values(params)) t?.free();
  }
});

s('batch order does not matter (the merge is exact up to rounding)', () => {
  const rng = new Rng(12);
  const batches = [3, 50, 1, 20].map((n) => batchOf(rng, n));
  const run = (order: number[]) => {
    const acc = new MetricsAccumulator(D, M);
    for (const i of order) acc.add(statsOf(batches[i]!));
    return acc.result();
  };
  const a = run([0, 1, 2, 3]);
  const b = run([3, 2, 1, 0]);
  assert.ok(Math.abs(a.fvu - b.fvu) <= 1e-9 * a.fvu, `${a.fvu} vs ${b.fvu}`);
  assert.equal(a.l0Histogram, b.l0Histogram);
});

s('small evaluations: miss probability (1-p)^n, the 95% floor, and a warning below about 3 x deadTokens', () => {
  assert.ok(Math.abs(missProbability(1e-4, 12_500) - (1 - 1e-4) ** 12_500) < 1e-12);
  // The case: 12.5k eval tokens miss a latent of frequency 1e-4 with probability ~29%.
  assert.ok(Math.abs(missProbability(1e-4, 12_500) - 0.2865) < 1e-3);
  const n = 12_500;
  assert.ok(Math.abs(missProbability(deadFrequencyFloor(n), n) - 0.05) < 1e-12);
  const w = smallEvalWarning(n, 20_480);
  assert.ok(w !== null && w.includes('12500 evaluation tokens') && w.includes('at least 61352'), String(w));
  assert.is(smallEvalWarning(61_352, 20_480), null);
  assert.ok(smallEvalWarning(61_351, 20_480) !== null);
});

s('no data: a clear error', () => {
  assert.throws(() => new MetricsAccumulator(D, M).result(), /no evaluation data/);
});

s.run();
