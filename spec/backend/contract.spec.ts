// The backend contract, part 1: memory, elementwise and Adam primitives agree between the CPU reference and
// every other backend (WebGPU on the shared device), over random shapes that include 1, odd sizes and the
// edges of 64/128-wide workgroups, and values with zeros of both signs, negatives, ties and near-equal keys.
// Parts 2 and 3: contract_linalg.spec.ts (reduce, matmul), contract_indexing.spec.ts (gather, scatterAdd);
// selection and sparse products: contract_select.spec.ts.
// Tolerances (WGSL accuracy, in ulps of the correctly rounded CPU result):
//   neg, abs, square, relu, step, add, sub, mul, max, min, gt, ge, fill, copy: exact (correctly rounded or exact
//   ops in WGSL); exp: 3 + 2|x| ulp; log: 3 ulp outside [0.5, 2] and 2^-21 absolute inside; sqrt: 5 ulp
//   (inverseSqrt 2 ulp then a division 2.5 ulp); recip and div: 2.5 ulp (we allow 3).
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BINARY_OPS, UNARY_OPS, type Broadcast, type UnaryOp } from '../../src/backend/backend.js';
import { Rng } from '../../src/rng.js';
import { backendName, cpu } from '../helpers/backends.js';
import { assertClose, assertSame, seed, style, U32, values } from './cpu_util.js';
import { agree, others, size, ulp } from './contract_util.js';

const s = suite('backend contract: memory, elementwise, adam');
const RUNS = { numRuns: 40 };
const MODES: Broadcast[] = ['full', 'row', 'col', 'scalar'];
const EXTREMES = new Float32Array([-3.4028234663852886e38, -1, -0, 0, 1.401298464324817e-45, 1e-40, 3.4028234663852886e38]);

s('alloc is zeroed (also when a pooled buffer is reused); write/read round-trip bit for bit', async () => {
  for (const be of [cpu, ...(await others())]) {
    const name = await backendName(be);
    const dirty = be.alloc(300, 'f32');
    be.fill(dirty, 7);
    await be.sync();
    be.free(dirty);
    const f = be.alloc(300, 'f32');
    assertSame(`${name} zeros`, (await be.read(f)) as Float32Array, new Float32Array(300));
    const data = new Float32Array(300);
    for (let i = 0; i < 300; i++) data[i] = EXTREMES[i % EXTREMES.length]!;
    be.write(f, data);
    assertSame(`${name} f32 round-trip`, (await be.read(f)) as Float32Array, data);
    const i32 = be.alloc(3, 'i32');
    be.write(i32, new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]));
    assertSame(`${name} i32`, (await be.read(i32)) as Int32Array, new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]));
    assert.is(be.alloc(0, 'f32').length, 0);
    assert.equal(Array.from((await be.read(be.alloc(0, 'i32'))) as Int32Array), []);
    be.free(f);
    be.free(i32);
  }
});

s('fill (f32 rounding, -0, i32) and copy agree bit for bit', async () => {
  await fc.assert(
    fc.asyncProperty(size, seed, fc.constantFrom(0.1, -0, 0, 3.4e38, -2.5), async (n, sd, value) => {
      const src = values(new Rng(sd), n, 'extreme');
      await agree(
        [new Float32Array(n), new Float32Array(n), src, new Int32Array(n)],
        (be, [f, c, x, i]) => {
          be.fill(f!, value);
          be.copy(c!, x!);
          be.fill(i!, -7);
        },
        [0, 1, 3],
        (name, got, ref) => {
          assertSame(`${name} fill`, got[0]!, ref[0]!);
          assertSame(`${name} copy`, got[1]!, ref[1]!);
          assertSame(`${name} fill i32`, got[2]!, ref[2]!);
        },
      );
    }),
    RUNS,
  );
});

const unaryTol: Record<UnaryOp, (x: number, ref: number) => number> = {
  neg: () => 0,
  abs: () => 0,
  square: () => 0,
  relu: () => 0,
  step: () => 0,
  exp: (x, r) => (3 + 2 * Math.abs(x)) * ulp(r),
  log: (x, r) => (x >= 0.5 && x <= 2 ? 2 ** -21 : 3 * ulp(r)),
  sqrt: (_x, r) => 5 * ulp(r),
  recip: (_x, r) => 3 * ulp(r),
};
/** Ops whose WGSL result is undefined for some inputs get positive arguments. */
const POSITIVE: UnaryOp[] = ['log', 'sqrt', 'recip'];

s('unary: every op, out distinct from x and out aliasing x', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...UNARY_OPS), size, size, seed, style, fc.boolean(), async (op, r, c, sd, st, alias) => {
      const x = values(new Rng(sd), r * c, st === 'extreme' ? 'uniform' : st);
      if (POSITIVE.includes(op)) for (let i = 0; i < x.length; i++) x[i] = Math.abs(x[i]!) + 1 / 64;
      await agree(
        [x, new Float32Array(x.length)],
        (be, [xs, o]) => be.unary(op, alias ? xs! : o!, xs!),
        [alias ? 0 : 1],
        (name, [got], [ref]) => {
          const exact = unaryTol[op](1, 1) === 0;
          if (exact && op !== 'relu') assertSame(`${name} ${op}`, got!, ref!);
          else assertClose(`${name} ${op}`, got!, ref!, (i) => unaryTol[op](x[i]!, ref![i]!));
        },
      );
    }),
    RUNS,
  );
});

s('binary: every op and broadcast pair, including out aliasing a full operand', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...BINARY_OPS),
      fc.constantFrom(...MODES),
      fc.constantFrom(...MODES),
      size,
      size,
      seed,
      style,
      fc.boolean(),
      async (op, am, bm, rows, cols, sd, st, alias) => {
        const rng = new Rng(sd);
        const len = (m: Broadcast) => (m === 'full' ? rows * cols : m === 'row' ? cols : m === 'col' ? rows : 1);
        const vs = st === 'extreme' ? 'uniform' : st;
        const a = values(rng, len(am), vs);
        const b = values(rng, len(bm), vs);
        // x / 0 is undefined in WGSL.
        if (op === 'div') for (let i = 0; i < b.length; i++) if (b[i] === 0) b[i] = 0.5;
        const aliasA = alias && am === 'full';
        await agree(
          [a, b, new Float32Array(rows * cols)],
          (be, [as, bs, o]) => be.binary(op, aliasA ? as! : o!, as!, am, bs!, bm, rows, cols),
          [aliasA ? 0 : 2],
          (name, [got], [ref]) => {
            const what = `${name} ${op}(${am}, ${bm}) [${rows}, ${cols}]`;
            // Values compare with ==: max/min may return either zero for max(-0, +0).
            const tol = op === 'div' ? (i: number) => 3 * ulp(ref![i]!) : () => 0;
            assertClose(what, got!, ref!, tol);
          },
        );
      },
    ),
    RUNS,
  );
});

s('adam: one step from random states and step counts', async () => {
  await fc.assert(
    fc.asyncProperty(size, seed, fc.constantFrom(1e-3, 0.1), fc.integer({ min: 1, max: 1000 }), async (n, sd, lr, t) => {
      const rng = new Rng(sd);
      const p = values(rng, n, 'uniform');
      const m = values(rng, n, 'uniform').map((x) => x * 0.1);
      const v = values(rng, n, 'uniform').map((x) => x * x * 0.01);
      const g = values(rng, n, 'uniform');
      const beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
      const h = { lr, beta1, beta2, eps, bc1: 1 - beta1 ** t, bc2: 1 - beta2 ** t };
      await agree(
        [p, m, v, g],
        (be, [ps, ms, vs, gs]) => be.adam(ps!, ms!, vs!, gs!, h),
        [0, 1, 2],
        (name, [gp, gm, gv], [rp, rm, rv]) => {
          // m, v: two f32 products and a sum (2 roundings each, plus 1-beta rounded to f32) vs one rounding.
          const tm = (i: number) => 4 * U32 * (beta1 * Math.abs(m[i]!) + (1 - beta1) * Math.abs(g[i]!));
          const tv = (i: number) => 5 * U32 * (beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!);
          assertClose(`${name} m`, gm!, rm!, tm);
          assertClose(`${name} v`, gv!, rv!, tv);
          // p: the step lr*mh/(sqrt(vh)+eps) carries ~12 roundings (incl. sqrt's 5 ulp) plus the propagated
          // m and v differences; then one rounding of p itself on each side.
          assertClose(`${name} p`, gp!, rp!, (i) => {
            const mi = rm![i]!, vi = rv![i]!;
            const sq = Math.sqrt(vi / h.bc2), den = sq + eps;
            const step = Math.abs((lr * (mi / h.bc1)) / den);
            const viaM = ((lr / h.bc1) * tm(i)) / den;
            const viaV = sq > 0 ? (step * (tv(i) / h.bc2)) / (2 * sq * den) : 0;
            return 2 * ulp(rp![i]!) + 12 * U32 * step + viaM + viaV;
          });
        },
      );
    }),
    RUNS,
  );
});

s.run();
