// CPU backend benchmark: matmul at SAE sizes (GFLOP/s) and top-k in both shapes (M elements/s), with a
// sort-based BatchTopK baseline timed in the same run so the speedup is a ratio, not a cross-run comparison.
// Every result is validated before it is timed. Run: `npx tsx bench/cpu.bench.ts` (about a minute on 2 cores;
// needs ~2 GB of memory for the [1, 4096*24576] cases).
import { Bench } from 'tinybench';
import type { Storage } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { Rng } from '../src/rng.js';
import { sortSelect } from './sort_baseline.js';

const cpu = new CpuBackend();
const rng = new Rng(42);

function upload(data: Float32Array): Storage {
  const s = cpu.alloc(data.length, 'f32');
  cpu.write(s, data);
  return s;
}

async function readI32(s: Storage): Promise<Int32Array> {
  return (await cpu.read(s)) as Int32Array;
}

/** Mean latency (ms) of `fn` over `iterations` runs, after one warm-up run unless `warmup` is false. */
async function time(name: string, fn: () => void, iterations: number, warmup = true): Promise<number> {
  const bench = new Bench({ iterations, time: 0, warmup, warmupIterations: 1, warmupTime: 0, throws: true });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`${name}: ${r.state}`);
  return r.latency.mean;
}

const rows: string[][] = [];
function report(name: string, ms: number, rate: string): void {
  rows.push([name, ms.toFixed(1), rate]);
  console.log(`${name.padEnd(48)} ${ms.toFixed(1).padStart(9)} ms  ${rate}`);
}

// ---- matmul ----

/** Checks 64 random entries of out = opA(a)[m,k] . opB(b)[k,n] against f64 dot products. */
function checkMatmul(
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
  f32Accum = false,
): void {
  const A = (i: number, p: number) => (tA ? a[p * m + i]! : a[i * k + p]!);
  const B = (p: number, j: number) => (tB ? b[j * k + p]! : b[p * n + j]!);
  for (let s = 0; s < 64; s++) {
    const i = rng.int(m),
      j = rng.int(n);
    let ref = 0,
      mag = 0;
    for (let p = 0; p < k; p++) {
      ref += A(i, p) * B(p, j);
      mag += Math.abs(A(i, p) * B(p, j));
    }
    // f64 sums of exact products, rounded once: 2^-24 |ref| + 2k 2^-53 sum|ab| covers both summation orders.
    // An f32-accumulating loop rounds at every step instead: k 2^-24 sum|ab|.
    const tol = f32Accum ? k * 2 ** -24 * mag : 2 ** -24 * Math.abs(ref) + 2 * k * 2 ** -53 * mag;
    if (Math.abs(out[i * n + j]! - ref) > tol) {
      throw new Error(`matmul check failed at (${i}, ${j}): ${out[i * n + j]} vs ${ref}`);
    }
  }
}

/** Validates, then times, out = opA(a) . opB(b) on the given buffers. */
async function benchMatmul(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
  iters: number,
) {
  const A = upload(a),
    B = upload(b),
    O = cpu.alloc(m * n, 'f32');
  cpu.matmul(O, A, B, m, k, n, tA, tB);
  checkMatmul((await cpu.read(O)) as Float32Array, a, b, m, k, n, tA, tB);
  const ms = await time('matmul', () => cpu.matmul(O, A, B, m, k, n, tA, tB), iters);
  const opA = tA ? `(${k}x${m})^T` : `${m}x${k}`,
    opB = tB ? `(${n}x${k})^T` : `${k}x${n}`;
  report(`matmul ${opA} . ${opB}`, ms, `${((2 * m * k * n) / ms / 1e6).toFixed(2)} GFLOP/s`);
  for (const s of [A, B, O]) cpu.free(s);
  return ms;
}

{
  // SAE sizes: batch 1024 / 4096, d = 768, 3072 latents (the encoder x . W_enc). The transposed cases are the
  // backward shapes (dx = dpre . W^T and dW = x^T . dpre) on the same element counts.
  const [m, k, n] = [1024, 768, 3072];
  const a = rng.fillNormal(new Float32Array(m * k)),
    b = rng.fillNormal(new Float32Array(k * n));
  const msPacked = await benchMatmul(a, b, m, k, n, false, false, 3);
  await benchMatmul(a, b, m, k, n, false, true, 3);
  await benchMatmul(a, b, m, k, n, true, false, 3);
  // Baseline: the textbook cache-friendly i-k-j loop accumulating in the f32 output, on the same inputs.
  const naive = new Float32Array(m * n);
  const ikj = () => {
    naive.fill(0);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        const av = a[i * k + p]!;
        for (let j = 0; j < n; j++) naive[i * n + j]! += av * b[p * n + j]!;
      }
    }
  };
  ikj();
  checkMatmul(naive, a, b, m, k, n, false, false, true);
  const msNaive = await time('matmul i-k-j', ikj, 1, false);
  report(
    `baseline: plain i-k-j loop ${m}x${k} . ${k}x${n}`,
    msNaive,
    `${((2 * m * k * n) / msNaive / 1e6).toFixed(2)} GFLOP/s`,
  );
  console.log(`packed matmul speedup over i-k-j: ${(msNaive / msPacked).toFixed(1)}x`);
  const big = rng.fillNormal(new Float32Array(4096 * k));
  await benchMatmul(big, b, 4096, k, n, false, false, 2);
}

// ---- topk ----

/**
 * Verifies a top-k result completely in O(rows*cols): exactly k strictly ascending indices per row, every kept
 * value >= every dropped value, and among values equal to the cut the kept columns precede the dropped ones.
 */
function checkTopk(x: Float32Array, rowsN: number, cols: number, k: number, out: Int32Array): void {
  const kept = new Uint8Array(cols);
  for (let r = 0; r < rowsN; r++) {
    kept.fill(0);
    let prev = -1;
    for (let j = 0; j < k; j++) {
      const f = out[r * k + j]!;
      if (f <= prev || f < r * cols || f >= (r + 1) * cols) throw new Error(`topk: bad index ${f} in row ${r}`);
      kept[f - r * cols] = 1;
      prev = f;
    }
    let minKept = Infinity,
      maxDropped = -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c]!;
      if (kept[c]) minKept = Math.min(minKept, v);
      else maxDropped = Math.max(maxDropped, v);
    }
    if (minKept < maxDropped) throw new Error(`topk: row ${r} drops ${maxDropped} but keeps ${minKept}`);
    let lastKeptTie = -1,
      firstDroppedTie = cols;
    for (let c = 0; c < cols; c++) {
      if (x[r * cols + c] !== minKept) continue;
      if (kept[c]) lastKeptTie = c;
      else firstDroppedTie = Math.min(firstDroppedTie, c);
    }
    if (lastKeptTie > firstDroppedTie) throw new Error(`topk: row ${r} breaks the column tie rule`);
  }
}

{
  const [R, C, k] = [4096, 3072, 32];
  const x = rng.fillNormal(new Float32Array(R * C));
  const X = upload(x),
    O = cpu.alloc(R * k, 'i32');
  cpu.topk(O, X, R, C, k);
  checkTopk(x, R, C, k, await readI32(O));
  const ms = await time('topk per-row', () => cpu.topk(O, X, R, C, k), 10);
  report(`topk per-row [${R}, ${C}] k=${k}`, ms, `${((R * C) / ms / 1e3).toFixed(0)} M elements/s`);
  cpu.free(X);
  cpu.free(O);
}

{
  const [B, M, kSample] = [4096, 24576, 32];
  const n = B * M,
    k = B * kSample;
  const x = rng.fillNormal(new Float32Array(n));
  for (let i = 0; i < n; i++) if (!(x[i]! > 0)) x[i] = 0; // post-ReLU activations, as BatchTopK selects
  const X = upload(x),
    O = cpu.alloc(k, 'i32');
  cpu.topk(O, X, 1, n, k);
  const radix = await readI32(O);
  checkTopk(x, 1, n, k, radix);
  const ms = await time('topk batch', () => cpu.topk(O, X, 1, n, k), 5);
  report(`topk batch [1, ${B}*${M}] k=${B}*${kSample}`, ms, `${(n / ms / 1e3).toFixed(0)} M elements/s`);

  // Baseline (sort_baseline.ts): sort a copy of the values (V8's native numeric TypedArray sort), read the cut at rank k, then one
  // pass emits the indices with the same tie rule. Validated against the radix result before timing.
  const out = new Int32Array(k);
  const sortSelectRun = () => sortSelect(x, k, out);
  sortSelectRun();
  if (out.some((f, i) => f !== radix[i])) throw new Error('sort baseline disagrees with radix select');
  // The validation call above already warmed it up; one timed run is enough for a multi-second task.
  const msSort = await time('sort baseline', sortSelectRun, 1, false);
  report(
    `sort baseline (Float32Array sort + emit), same input`,
    msSort,
    `${(n / msSort / 1e3).toFixed(0)} M elements/s`,
  );
  console.log(`radix select speedup over sort: ${(msSort / ms).toFixed(1)}x`);
  cpu.free(X);
  cpu.free(O);
}

console.log('\n| case | mean ms | rate |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
cpu.dispose();
