// The CPU backend's matmul, indexing and sparse products against float64 oracles written here.
// Tolerance for every dot-product-like output: the CPU sums exact f32*f32 products in f64 and rounds once, so
// |got - exact| <= 2^-24 |exact| + n * 2^-53 * sum|a_i b_i| for n terms (n <= 67 here); the oracle is the f64
// sum in its own order (another n * 2^-53 * sum|ab|), hence tol = 2^-24 |ref| + 2 * 67 * 2^-53 * sum|ab|.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/rng.js';
import { cpu } from '../helpers/backends.js';
import { assertClose, assertSame, dim, readF32, seed, U32, upload, values } from './cpu_util.js';

const s = suite('cpu backend: matmul, indexing, sparse products vs f64 oracles');
const RUNS = { numRuns: 100 };
const dotTol = (ref: ArrayLike<number>, mag: ArrayLike<number>) => (i: number) =>
  U32 * Math.abs(ref[i]!) + 2 * 67 * 2 ** -53 * mag[i]!;
const vstyle = fc.constantFrom('uniform', 'ints', 'dense') as fc.Arbitrary<'uniform' | 'ints' | 'dense'>;

s('matmul, all four transpose cases', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, fc.boolean(), fc.boolean(), seed, vstyle, async (m, k, n, tA, tB, sd, st) => {
      const rng = new Rng(sd);
      const a = values(rng, m * k, st),
        b = values(rng, k * n, st);
      // a is stored [m,k] or [k,m]; b is stored [k,n] or [n,k].
      const A = (i: number, p: number) => (tA ? a[p * m + i]! : a[i * k + p]!);
      const B = (p: number, j: number) => (tB ? b[j * k + p]! : b[p * n + j]!);
      const ref = new Float64Array(m * n),
        mag = new Float64Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0,
            abs = 0;
          for (let p = 0; p < k; p++) {
            acc += A(i, p) * B(p, j);
            abs += Math.abs(A(i, p) * B(p, j));
          }
          ref[i * n + j] = acc;
          mag[i * n + j] = abs;
        }
      }
      const out = cpu.alloc(m * n, 'f32');
      cpu.fill(out, 123); // matmul overwrites
      cpu.matmul(out, upload(cpu, a), upload(cpu, b), m, k, n, tA, tB);
      assertClose(`matmul ${m}x${k}x${n} tA=${tA} tB=${tB}`, await readF32(cpu, out), ref, dotTol(ref, mag));
    }),
    RUNS,
  );
});

s('matmul at a size past the packing block (130 x 70 x 9, transA)', async () => {
  const m = 130,
    k = 70,
    n = 9;
  const rng = new Rng(7);
  const a = values(rng, k * m),
    b = values(rng, k * n);
  const ref = new Float64Array(m * n),
    mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++)
      for (let p = 0; p < k; p++) {
        ref[i * n + j]! += a[p * m + i]! * b[p * n + j]!;
        mag[i * n + j]! += Math.abs(a[p * m + i]! * b[p * n + j]!);
      }
  const out = cpu.alloc(m * n, 'f32');
  cpu.matmul(out, upload(cpu, a), upload(cpu, b), m, k, n, true, false);
  assertClose('matmul', await readF32(cpu, out), ref, (i) => U32 * Math.abs(ref[i]!) + 2 * k * 2 ** -53 * mag[i]!);
});

s('gather: out[i] = x[idx[i]], any order, repeats allowed', async () => {
  await fc.assert(
    fc.asyncProperty(dim, fc.integer({ min: 0, max: 200 }), seed, async (n, cnt, sd) => {
      const rng = new Rng(sd);
      const x = values(rng, n, 'extreme');
      const idx = Int32Array.from({ length: cnt }, () => rng.int(n));
      const out = cpu.alloc(cnt, 'f32');
      cpu.gather(out, upload(cpu, x), upload(cpu, idx));
      assertSame(
        'gather',
        await readF32(cpu, out),
        Array.from(idx, (j) => x[j]!),
      );
    }),
    RUNS,
  );
});

s('scatterAdd: accumulates onto out, repeated indices summed', async () => {
  await fc.assert(
    fc.asyncProperty(dim, fc.integer({ min: 0, max: 200 }), seed, async (n, cnt, sd) => {
      const rng = new Rng(sd);
      const out0 = values(rng, n),
        src = values(rng, cnt);
      const idx = Int32Array.from({ length: cnt }, () => rng.int(n));
      const ref = Float64Array.from(out0),
        mag = Float64Array.from(out0, Math.abs),
        terms = new Float64Array(n).fill(1);
      for (let i = 0; i < cnt; i++) {
        ref[idx[i]!]! += src[i]!;
        mag[idx[i]!]! += Math.abs(src[i]!);
        terms[idx[i]!]!++;
      }
      const out = upload(cpu, out0);
      cpu.scatterAdd(out, upload(cpu, src), upload(cpu, idx));
      // f32 sequential adds: each add rounds once, so the error is <= terms * 2^-24 * sum|terms|.
      assertClose('scatterAdd', await readF32(cpu, out), ref, (j) => terms[j]! * U32 * mag[j]!);
    }),
    RUNS,
  );
});

/** A random selection over [B, m]: strictly ascending flat indices, each kept with probability `density`. */
function selection(rng: Rng, B: number, m: number, density: number): Int32Array {
  const idx: number[] = [];
  for (let f = 0; f < B * m; f++) if (rng.uniform() < density) idx.push(f);
  return Int32Array.from(idx);
}
const density = fc.constantFrom(0, 0.05, 0.3, 1);

s('sddmm: out[i] = dot(a[r_i], w[c_i])', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, density, seed, vstyle, async (B, m, d, dens, sd, st) => {
      const rng = new Rng(sd);
      const a = values(rng, B * d, st),
        w = values(rng, m * d, st),
        idx = selection(rng, B, m, dens);
      const ref = new Float64Array(idx.length),
        mag = new Float64Array(idx.length);
      idx.forEach((f, i) => {
        const r = Math.floor(f / m),
          c = f % m;
        for (let t = 0; t < d; t++) {
          ref[i]! += a[r * d + t]! * w[c * d + t]!;
          mag[i]! += Math.abs(a[r * d + t]! * w[c * d + t]!);
        }
      });
      const out = cpu.alloc(idx.length, 'f32');
      cpu.sddmm(out, upload(cpu, a), upload(cpu, w), upload(cpu, idx), m, d);
      assertClose('sddmm', await readF32(cpu, out), ref, dotTol(ref, mag));
    }),
    RUNS,
  );
});

s('spmm: out[b] = sum over row b entries of vals * w[c] (rows without entries are 0)', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, density, seed, vstyle, async (B, m, d, dens, sd, st) => {
      const rng = new Rng(sd);
      const w = values(rng, m * d, st),
        idx = selection(rng, B, m, dens),
        vals = values(rng, idx.length, st);
      const ref = new Float64Array(B * d),
        mag = new Float64Array(B * d);
      idx.forEach((f, i) => {
        const r = Math.floor(f / m),
          c = f % m;
        for (let t = 0; t < d; t++) {
          ref[r * d + t]! += vals[i]! * w[c * d + t]!;
          mag[r * d + t]! += Math.abs(vals[i]! * w[c * d + t]!);
        }
      });
      const out = cpu.alloc(B * d, 'f32');
      cpu.fill(out, 5); // spmm overwrites
      cpu.spmm(out, upload(cpu, vals), upload(cpu, idx), m, upload(cpu, w), B, d);
      assertClose('spmm', await readF32(cpu, out), ref, dotTol(ref, mag));
    }),
    RUNS,
  );
});

s('spmmT: out[c] = sum over entries in column c of vals * g[r] (columns without entries are 0)', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, density, seed, vstyle, async (B, m, d, dens, sd, st) => {
      const rng = new Rng(sd);
      const g = values(rng, B * d, st),
        idx = selection(rng, B, m, dens),
        vals = values(rng, idx.length, st);
      const ref = new Float64Array(m * d),
        mag = new Float64Array(m * d);
      idx.forEach((f, i) => {
        const r = Math.floor(f / m),
          c = f % m;
        for (let t = 0; t < d; t++) {
          ref[c * d + t]! += vals[i]! * g[r * d + t]!;
          mag[c * d + t]! += Math.abs(vals[i]! * g[r * d + t]!);
        }
      });
      const out = cpu.alloc(m * d, 'f32');
      cpu.fill(out, 5); // spmmT overwrites
      cpu.spmmT(out, upload(cpu, vals), upload(cpu, idx), m, upload(cpu, g), d);
      assertClose('spmmT', await readF32(cpu, out), ref, dotTol(ref, mag));
    }),
    RUNS,
  );
});

s('spmm and spmmT are deterministic (bitwise equal on repeat)', async () => {
  const rng = new Rng(3);
  const B = 33,
    m = 17,
    d = 9;
  const idx = upload(cpu, selection(rng, B, m, 0.4)),
    n = idx.length;
  const vals = upload(cpu, values(rng, n)),
    w = upload(cpu, values(rng, m * d)),
    g = upload(cpu, values(rng, B * d));
  const o1 = cpu.alloc(m * d, 'f32'),
    o2 = cpu.alloc(m * d, 'f32');
  cpu.spmmT(o1, vals, idx, m, g, d);
  cpu.spmmT(o2, vals, idx, m, g, d);
  assertSame('spmmT', await readF32(cpu, o1), await readF32(cpu, o2));
  const p1 = cpu.alloc(B * d, 'f32'),
    p2 = cpu.alloc(B * d, 'f32');
  cpu.spmm(p1, vals, idx, m, w, B, d);
  cpu.spmm(p2, vals, idx, m, w, B, d);
  assertSame('spmm', await readF32(cpu, p1), await readF32(cpu, p2));
  assert.ok(n > 0);
});

s.run();
