// The backend contract, part 2: reductions and matmul agree between the CPU reference and every other backend.
// Tolerances:
//   reduce max/min: exact (== on values; either zero may win between -0 and +0).
//   reduce sum: the WebGPU kernels sum in f32 blocks (16 in order per invocation, then a 128-way tree, per pass
//     along rows; 32 rows in order per pass along columns; at most 3 passes for 2^30 elements), so
//     |gpu - exact| <= 128 * 2^-24 * sum|x|; the CPU adds one rounding of the result (2^-24 |ref|).
//   matmul: f32 accumulation over K (FMA per step, plus one addition per K block when operands are split):
//     |gpu - exact| <= (K + 4) * 2^-24 * (|A||B|)_ij, plus the CPU's one rounding. The fast CPU backend's
//     WASM SIMD kernel (f32 multiply-add, fused where relaxed SIMD is available, else mul then add, per step,
//     sequential over K) is within the same bound.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/rng.js';
import { assertClose, seed, style, U32, values } from './cpu_util.js';
import { agree, exec, others, size } from './contract_util.js';
import { cpu, cpuFast } from '../helpers/backends.js';
import type { Backend } from '../../src/backend/backend.js';
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';

const s = suite('backend contract: reduce, matmul');
const RUNS = { numRuns: 40 };
const SUM_DEPTH = 128;

/** sum |x| along the reduced axis, for each output. */
function absSums(x: Float32Array, rows: number, cols: number, axis: 0 | 1): Float64Array {
  const out = new Float64Array(axis === 1 ? rows : cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[axis === 1 ? r : c]! += Math.abs(x[r * cols + c]!);
  }
  return out;
}

async function checkReduce(x: Float32Array, rows: number, cols: number, axis: 0 | 1, op: 'sum' | 'max' | 'min') {
  const abs = op === 'sum' ? absSums(x, rows, cols, axis) : null;
  await agree(
    [x, new Float32Array(axis === 1 ? rows : cols)],
    (be, [xs, o]) => be.reduce(op, o!, xs!, rows, cols, axis),
    [1],
    (name, [got], [ref]) =>
      assertClose(`${name} ${op} axis ${axis} [${rows}, ${cols}]`, got!, ref!, (i) =>
        abs ? SUM_DEPTH * U32 * abs[i]! + U32 * Math.abs(ref![i]!) : 0,
      ),
  );
}

s('reduce: every op and axis over random shapes and value styles', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('sum' as const, 'max' as const, 'min' as const),
      fc.constantFrom(0 as const, 1 as const),
      size,
      size,
      seed,
      style,
      async (op, axis, rows, cols, sd, st) => {
        // The extreme style overflows sums (inf - inf); its finite ends still exercise max/min.
        const x = values(new Rng(sd), rows * cols, op === 'sum' && st === 'extreme' ? 'dense' : st);
        await checkReduce(x, rows, cols, axis, op);
      },
    ),
    RUNS,
  );
});

s('reduce: all-equal values, long rows and columns, a full reduction over [1, 2^20 + 3]', async () => {
  await checkReduce(new Float32Array(100_003).fill(0.1), 1, 100_003, 1, 'sum');
  await checkReduce(new Float32Array(5000 * 3).fill(-0.1), 5000, 3, 0, 'sum');
  await checkReduce(new Float32Array(3 * 5000).fill(2), 3, 5000, 0, 'max');
  const n = 2 ** 20 + 3;
  const x = values(new Rng(7), n, 'uniform');
  for (const op of ['sum', 'max', 'min'] as const) await checkReduce(x, 1, n, 1, op);
  await checkReduce(values(new Rng(8), 4099 * 33, 'uniform'), 4099, 33, 0, 'sum');
});

async function checkMatmul(m: number, k: number, n: number, ta: boolean, tb: boolean, sd: number, st: 'uniform' | 'ints' | 'dense') {
  const rng = new Rng(sd);
  const a = values(rng, m * k, st);
  const b = values(rng, k * n, st);
  // (|A||B|)_ij for the error bound.
  const absAB = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = Math.abs(a[ta ? p * m + i : i * k + p]!);
      for (let j = 0; j < n; j++) absAB[i * n + j]! += av * Math.abs(b[tb ? j * k + p : p * n + j]!);
    }
  }
  await agree(
    [a, b, new Float32Array(m * n)],
    (be, [as, bs, o]) => be.matmul(o!, as!, bs!, m, k, n, ta, tb),
    [2],
    (name, [got], [ref]) =>
      assertClose(`${name} matmul ${m}x${k}x${n} transA=${ta} transB=${tb}`, got!, ref!, (i) =>
        (k + 4) * U32 * absAB[i]! + U32 * Math.abs(ref![i]!),
      ),
    [...(await others()), cpuFast()],
  );
}

s('matmul: all four transposition cases over random (odd) sizes', async () => {
  await fc.assert(
    fc.asyncProperty(
      size,
      size,
      size,
      fc.boolean(),
      fc.boolean(),
      seed,
      fc.constantFrom('uniform' as const, 'ints' as const, 'dense' as const),
      async (m, k, n, ta, tb, sd, st) => checkMatmul(m, k, n, ta, tb, sd, st),
    ),
    RUNS,
  );
});

s('matmul: empty and degenerate sizes (k = 0 gives zeros, m or n = 0), long K, one row', async () => {
  await checkMatmul(3, 0, 5, false, false, 1, 'uniform');
  await checkMatmul(0, 4, 5, true, false, 2, 'uniform');
  await checkMatmul(4, 3, 0, false, true, 3, 'uniform');
  await checkMatmul(1, 1, 1, true, true, 4, 'ints');
  await checkMatmul(3, 4099, 5, false, true, 5, 'uniform');
  await checkMatmul(131, 67, 197, true, false, 6, 'uniform');
  // One row times a matrix whose n is a multiple of 8 (the fast CPU backend's product-by-sparse-kernel path).
  await checkMatmul(1, 300, 64, false, false, 7, 'uniform');
  await checkMatmul(1, 1, 8, false, false, 8, 'ints');
});

s('matmul (fast CPU): the same bits on 1 and 2 threads, over row blocks and panel edges', async () => {
  const one = new FastCpuBackend(1);
  try {
    for (const [m, k, n, ta, tb] of [[130, 77, 203, false, true], [67, 129, 9, true, false], [1, 5, 1, false, false]] as const) {
      const rng = new Rng(m + n);
      const inputs = [values(rng, m * k, 'uniform'), values(rng, k * n, 'uniform'), new Float32Array(m * n)];
      const run = (be: FastCpuBackend) => exec(be, inputs, (st) => be.matmul(st[2]!, st[0]!, st[1]!, m, k, n, ta, tb), [2]);
      const [a] = await run(one);
      const [b] = await run(cpuFast());
      assert.equal(Array.from(b!), Array.from(a!), `${m}x${k}x${n}`);
    }
  } finally {
    one.dispose();
  }
});

/**
 * matmul with an epilogue on `be`: the fused call and the same backend's matmul, binary add (row) and unary
 * relu as separate primitives (the epilogue's definition) must give the same bits, for both outputs.
 */
async function checkEpilogue(be: Backend, m: number, k: number, n: number, ta: boolean, tb: boolean, sd: number, withBias: boolean) {
  const rng = new Rng(sd);
  const inputs = [values(rng, m * k, 'dense'), values(rng, k * n, 'dense'), values(rng, n, 'dense'), new Float32Array(m * n), new Float32Array(m * n)];
  const fused = await exec(be, inputs, ([a, b, bias, o, r]) => be.matmul(o!, a!, b!, m, k, n, ta, tb, { bias: withBias ? bias : undefined, relu: r }), [3, 4]);
  const apart = await exec(
    be,
    inputs,
    ([a, b, bias, o, r]) => {
      be.matmul(o!, a!, b!, m, k, n, ta, tb);
      if (withBias) be.binary('add', o!, o!, 'full', bias!, 'row', m, n);
      be.unary('relu', r!, o!);
    },
    [3, 4],
  );
  const name = `${(be as { variant?: string }).variant ?? be.name} ${m}x${k}x${n} ta=${ta} tb=${tb} bias=${withBias}`;
  assert.equal(Array.from(fused[0]!), Array.from(apart[0]!), `${name}: product + bias`);
  assert.equal(Array.from(fused[1]!), Array.from(apart[1]!), `${name}: relu`);
}

s('matmul epilogue (+ bias, relu into a second output): the same bits as the separate primitives, every backend', async () => {
  const one = new FastCpuBackend(1);
  try {
    const backends: Backend[] = [cpu, ...(await others()), cpuFast(), one];
    await fc.assert(
      fc.asyncProperty(size, size, size, fc.boolean(), fc.boolean(), fc.boolean(), seed, async (m, k, n, ta, tb, bias, sd) => {
        for (const be of backends) await checkEpilogue(be, m, k, n, ta, tb, sd, bias);
      }),
      { numRuns: 15 },
    );
    // Several row blocks of the fast CPU kernel (64 rows each), panel edges, and k = 0 (zeros + bias).
    for (const be of backends) {
      await checkEpilogue(be, 200, 33, 75, false, true, 7, true);
      await checkEpilogue(be, 5, 0, 9, false, false, 8, true);
    }
  } finally {
    one.dispose();
  }
});

s('matmul epilogue: operand checks (relu must not alias an input or out; bias has n elements)', () => {
  for (const be of [cpu, cpuFast()]) {
    const a = be.alloc(6, 'f32'),
      b = be.alloc(6, 'f32'),
      o = be.alloc(4, 'f32'),
      bias = be.alloc(2, 'f32'),
      short = be.alloc(1, 'f32');
    try {
      assert.throws(() => be.matmul(o, a, b, 2, 3, 2, false, true, { relu: o }), /epi\.relu/);
      assert.throws(() => be.matmul(o, a, b, 2, 3, 2, false, true, { relu: a }), /epi\.relu/);
      assert.throws(() => be.matmul(o, a, b, 2, 3, 2, false, true, { bias: short }), /epi\.bias/);
      assert.throws(() => be.matmul(o, a, b, 2, 3, 2, false, true, { bias: o }), /epi\.bias/);
    } finally {
      for (const t of [a, b, o, bias, short]) be.free(t);
    }
  }
});

s.run();
