// MetricsAccumulator against oracles written here: every metric recomputed in float64 over the
// concatenated rows, with batches of uneven sizes and a mean offset far larger than the spread (where a
// merge of per-batch variances without Chan's correction term, or a variance about 0, is far off).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deadFrequencyFloor, MetricsAccumulator, missProbability, smallEvalWarning, type BatchStats } from '../../src/metrics.js';
import { Rng } from '../../src/rng.js';

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
  return { rows: n, sse, sumSq, colMean, colM2, l0: Float32Array.from(b.l0), fired };
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
