// The CPU top-k against a sorting oracle written here: rank each row's columns by (value descending, column
// ascending) with JS comparisons (so -0 == +0 and ties fall to the column), keep k, emit flat indices ascending.
// Selection is exact: results must equal the oracle index for index, with no tolerance.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/rng.js';
import { cpu } from '../helpers/backends.js';
import { dim, readI32, seed, style, upload, values, type Style } from './cpu_util.js';

const s = suite('cpu backend: topk vs a sorting oracle');

function oracle(x: Float32Array, rows: number, cols: number, k: number): Int32Array {
  const out = new Int32Array(rows * k);
  const cols_ = Array.from({ length: cols }, (_, c) => c);
  for (let r = 0; r < rows; r++) {
    const v = (c: number) => x[r * cols + c]!;
    const ranked = cols_.slice().sort((p, q) => (v(p) > v(q) ? -1 : v(p) < v(q) ? 1 : p - q));
    const kept = ranked.slice(0, k).sort((p, q) => p - q);
    for (let j = 0; j < k; j++) out[r * k + j] = r * cols + kept[j]!;
  }
  return out;
}

/** Runs topk and checks the oracle plus the properties (count, ascending, min(kept) >= max(dropped) per row). */
async function check(x: Float32Array, rows: number, cols: number, k: number, what: string): Promise<void> {
  const out = cpu.alloc(rows * k, 'i32');
  cpu.fill(out, -7);
  cpu.topk(out, upload(cpu, x), rows, cols, k);
  const got = await readI32(cpu, out);
  for (let i = 1; i < got.length; i++) {
    if (!(got[i]! > got[i - 1]!)) throw new Error(`${what}: output not strictly ascending at ${i}`);
  }
  for (let r = 0; r < rows; r++) {
    const kept = new Set(got.subarray(r * k, r * k + k));
    let minKept = Infinity,
      maxDropped = -Infinity;
    for (let c = 0; c < cols; c++) {
      const f = r * cols + c,
        v = x[f]!;
      if (kept.has(f)) minKept = Math.min(minKept, v);
      else maxDropped = Math.max(maxDropped, v);
    }
    if (kept.size !== k || !(minKept >= maxDropped)) {
      throw new Error(`${what}: row ${r} keeps ${kept.size} (k=${k}), min kept ${minKept} < max dropped ${maxDropped}`);
    }
  }
  const ref = oracle(x, rows, cols, k);
  const bad = ref.findIndex((f, i) => got[i] !== f);
  if (bad >= 0) throw new Error(`${what}: index ${bad}: got ${got[bad]}, expected ${ref[bad]} (tie rule?)`);
}

s('per-row topk on random shapes, every value style, any k', async () => {
  await fc.assert(
    fc.asyncProperty(
      dim,
      dim,
      fc.double({ min: 0, max: 1, noNaN: true }),
      seed,
      style,
      async (rows, cols, kf, sd, st) => {
        const k = 1 + Math.min(cols - 1, Math.floor(kf * cols));
        await check(values(new Rng(sd), rows * cols, st), rows, cols, k, `[${rows},${cols}] k=${k} ${st}`);
      },
    ),
    { numRuns: 150 },
  );
});

s('per-row topk with fast-check f32 values', async () => {
  const f = fc.float({ min: Math.fround(-2), max: Math.fround(2), noNaN: true, noDefaultInfinity: true });
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 20 }),
      fc.nat(),
      fc.array(f, { minLength: 100, maxLength: 100 }),
      async (rows, cols, kk, pool) => {
        const x = Float32Array.from({ length: rows * cols }, (_, i) => pool[i % pool.length]!);
        await check(x, rows, cols, 1 + (kk % cols), 'fc');
      },
    ),
    { numRuns: 100 },
  );
});

s('k = 1 and k = cols', async () => {
  const x = values(new Rng(1), 9 * 31, 'ints');
  await check(x, 9, 31, 1, 'k=1');
  await check(x, 9, 31, 31, 'k=cols');
  await check(x, 1, 9 * 31, 1, 'rows=1 k=1');
});

s('ties: all-equal rows keep the first k columns; -0 and +0 are equal', async () => {
  const out = cpu.alloc(6, 'i32');
  cpu.topk(out, upload(cpu, new Float32Array([5, 5, 5, 5, -1, -1, -1, -1])), 2, 4, 3);
  assert.equal(Array.from(await readI32(cpu, out)), [0, 1, 2, 4, 5, 6]);
  // -0 at column 0 ranks equal to +0 at columns 1 and 3, so the lowest columns win.
  const z = cpu.alloc(2, 'i32');
  cpu.topk(z, upload(cpu, new Float32Array([-0, 0, -1, 0])), 1, 4, 2);
  assert.equal(Array.from(await readI32(cpu, z)), [0, 1]);
  cpu.topk(z, upload(cpu, new Float32Array([0, -0, -0, 1e-45])), 1, 4, 2);
  assert.equal(Array.from(await readI32(cpu, z)), [0, 3]);
  cpu.topk(z, upload(cpu, new Float32Array([-1e-45, -0, -2, 0])), 1, 4, 2);
  assert.equal(Array.from(await readI32(cpu, z)), [1, 3]);
});

s('negative rows and the ends of the f32 range', async () => {
  const x = new Float32Array([-3, -1.5, -1.5, -2, -3.4028234663852886e38, 3.4028234663852886e38, -1e-45, -0.5]);
  const out = cpu.alloc(3, 'i32');
  cpu.topk(out, upload(cpu, x), 1, 8, 3);
  assert.equal(Array.from(await readI32(cpu, out)), [5, 6, 7]);
  cpu.topk(out, upload(cpu, x.subarray(0, 4)), 1, 4, 3);
  assert.equal(Array.from(await readI32(cpu, out)), [1, 2, 3]);
});

/** Values for the big single-row (BatchTopK) cases. */
function bigRow(rng: Rng, n: number, kind: 'relu' | Style): Float32Array {
  if (kind !== 'relu') return values(rng, n, kind);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.max(0, rng.normal()); // half exact zeros, like post-ReLU activations
  return x;
}

s('BatchTopK shape: rows = 1, large n and k, heavy ties and a cut inside the zeros', async () => {
  const rng = new Rng(2024);
  const n = 150_000;
  for (const [kind, k] of [
    ['relu', 4096],
    ['relu', 100_000], // more than the positives: the cut is at 0, among ~75k zeros
    ['ints', 60_000],
    ['dense', 33_333],
    ['uniform', 1],
    ['extreme', 70_000],
  ] as const) {
    await check(bigRow(rng, n, kind), 1, n, k, `rows=1 n=${n} k=${k} ${kind}`);
  }
});

s('per-row at SAE-like width: [8, 24576], k = 32 and 512', async () => {
  const rng = new Rng(5);
  const x = bigRow(rng, 8 * 24576, 'relu');
  await check(x, 8, 24576, 32, 'k=32');
  await check(x, 8, 24576, 512, 'k=512');
});

s.run();
