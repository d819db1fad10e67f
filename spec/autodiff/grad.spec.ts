// Every gradient rule against central finite differences (see helpers/gradcheck.ts for the tolerance),
// on random shapes (dimensions 1..7, so 1 and odd sizes are common) and seeded random values.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as o from '../../src/ops.js';
import { Rng } from '../../src/rng.js';
import { gatherAt, densify, sddmm, sddmmCentered, spmm, spmmT, topkRows } from '../../src/sparse.js';
import { jumprelu } from '../../src/ste.js';
import { noGrad } from '../../src/autodiff/tape.js';
import { fromArray, type Tensor } from '../../src/tensor.js';
import { cpu } from '../helpers/backends.js';
import { gradcheck, type GradInput } from '../helpers/gradcheck.js';

const s = suite('autodiff: gradient rules vs finite differences');
const dim = fc.integer({ min: 1, max: 7 });
const seed = fc.integer({ min: 0, max: 2 ** 31 });
const RUNS = { numRuns: 12 };

/** Values in [lo, hi] avoiding |x - kink| < gap for each kink (so a nonsmooth op stays smooth under +-h). */
function values(rng: Rng, n: number, lo = -2, hi = 2, kinks: number[] = [], gap = 0.05): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = Math.fround(rng.uniformIn(lo, hi));
    while (kinks.some((k) => Math.abs(v - k) < gap));
    out[i] = v;
  }
  return out;
}
const inp = (data: Float32Array, shape: number[]): GradInput => ({ data, shape });

const bShape = (mode: string, R: number, C: number): number[] =>
  mode === 'full' ? [R, C] : mode === 'row' ? [C] : mode === 'col' ? [R, 1] : [];

for (const op of ['add', 'sub', 'mul', 'div', 'max', 'min'] as const) {
  s(`binary ${op} with every broadcast of the second operand (and of the first)`, async () => {
    await fc.assert(
      fc.asyncProperty(dim, dim, seed, fc.constantFrom('full', 'row', 'col', 'scalar'), fc.boolean(), async (R, C, sd, mode, swap) => {
        const rng = new Rng(sd);
        const a = values(rng, R * C);
        const bs = bShape(mode, R, C);
        const bn = bs.reduce((x, y) => x * y, 1);
        // div: keep the divisor away from 0. max/min: keep |a - b| > gap so the choice is stable under +-h.
        let b = op === 'div' ? values(rng, bn, 0.5, 2.5) : values(rng, bn);
        if (op === 'max' || op === 'min') {
          b = values(rng, bn);
          for (let r = 0; r < R; r++)
            for (let c = 0; c < C; c++) {
              const bi = mode === 'full' ? r * C + c : mode === 'row' ? c : mode === 'col' ? r : 0;
              while (Math.abs(a[r * C + c]! - b[bi]!) < 0.05) a[r * C + c] = Math.fround(a[r * C + c]! + 0.1);
            }
        }
        const f = (xs: Tensor[]) => o.binary(op, xs[0]!, xs[1]!);
        // |d^3(a/b)/db^3| = 6|a|/b^4 <= 6*2/0.5^4 = 192 on these ranges; the other ops are at most quadratic.
        const third = op === 'div' ? 192 : 2;
        if (swap && op !== 'div') await gradcheck(cpu, (xs) => f([xs[1]!, xs[0]!]), [inp(b, bs), inp(a, [R, C])], { seed: sd, third });
        else await gradcheck(cpu, f, [inp(a, [R, C]), inp(b, bs)], { seed: sd, third });
      }),
      RUNS,
    );
  });
}

// [name, op, input range, kinks to stay away from, bound on |f'''| over the range (truncation error)]:
// exp: e^2 = 7.4; log: 2/x^3 <= 16; sqrt: (3/8) x^-2.5 <= 2.2; recip: 6/x^4 <= 96; the rest 0.
const unaries: [string, (x: Tensor) => Tensor, number, number, number[], number][] = [
  ['neg', o.neg, -2, 2, [], 0],
  ['exp', o.exp, -2, 2, [], 7.4],
  ['log', o.log, 0.5, 2.5, [], 16],
  ['sqrt', o.sqrt, 0.5, 2.5, [], 2.2],
  ['abs', o.abs, -2, 2, [0], 0],
  ['square', o.square, -2, 2, [], 0],
  ['recip', o.recip, 0.5, 2.5, [], 96],
  ['relu', o.relu, -2, 2, [0], 0],
];
for (const [name, fn, lo, hi, kinks, third] of unaries) {
  s(`unary ${name}`, async () => {
    await fc.assert(
      fc.asyncProperty(dim, dim, seed, async (R, C, sd) => {
        await gradcheck(cpu, (xs) => fn(xs[0]!), [inp(values(new Rng(sd), R * C, lo, hi, kinks), [R, C])], { seed: sd, third });
      }),
      RUNS,
    );
  });
}

s('sum, sumAxis(0), sumAxis(1), mean, reshape', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, seed, async (R, C, sd) => {
      const x = [inp(values(new Rng(sd), R * C), [R, C])];
      await gradcheck(cpu, (xs) => o.sum(xs[0]!), x, { depth: R * C });
      await gradcheck(cpu, (xs) => o.sumAxis(xs[0]!, 0), x, { depth: R });
      await gradcheck(cpu, (xs) => o.sumAxis(xs[0]!, 1), x, { depth: C });
      await gradcheck(cpu, (xs) => o.mean(xs[0]!), x, { depth: R * C });
      await gradcheck(cpu, (xs) => o.reshape(xs[0]!, [C, R]), x);
    }),
    RUNS,
  );
});

s('matmul with every transpose combination', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, seed, fc.boolean(), fc.boolean(), async (m, k, n, sd, tA, tB) => {
      const rng = new Rng(sd);
      const a = inp(values(rng, m * k), tA ? [k, m] : [m, k]);
      const b = inp(values(rng, k * n), tB ? [n, k] : [k, n]);
      await gradcheck(cpu, (xs) => o.matmul(xs[0]!, xs[1]!, tA, tB), [a, b], { depth: k, third: 0 });
    }),
    RUNS,
  );
});

s('sparse ops over a selection: sddmm, sddmmCentered, spmm, spmmT, gatherAt, densify', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, seed, async (B, M, D, sd) => {
      const rng = new Rng(sd);
      const k = 1 + rng.int(M);
      const scores = fromArray(cpu, values(rng, B * M), [B, M]);
      const sel = noGrad(() => topkRows(scores, k));
      const K = B * k;
      const opts = { depth: D, third: 0, seed: sd };
      await gradcheck(cpu, (xs) => sddmm(xs[0]!, xs[1]!, sel), [inp(values(rng, B * D), [B, D]), inp(values(rng, M * D), [M, D])], opts);
      await gradcheck(cpu, (xs) => spmm(xs[0]!, sel, xs[1]!), [inp(values(rng, K), [K]), inp(values(rng, M * D), [M, D])], opts);
      await gradcheck(cpu, (xs) => spmmT(xs[0]!, sel, xs[1]!), [inp(values(rng, K), [K]), inp(values(rng, B * D), [B, D])], opts);
      await gradcheck(cpu, (xs) => gatherAt(xs[0]!, sel), [inp(values(rng, B * M), [B, M])], opts);
      await gradcheck(cpu, (xs) => densify(xs[0]!, sel), [inp(values(rng, K), [K])], opts);
      // sddmmCentered: x is data; the gradient of b (through xc = x - b) and of w.
      const x = fromArray(cpu, values(rng, B * D), [B, D]);
      await gradcheck(
        cpu,
        (xs) => sddmmCentered(noGrad(() => o.sub(x, xs[0]!)), xs[0]!, xs[1]!, sel),
        [inp(values(rng, D), [D]), inp(values(rng, M * D), [M, D])],
        { ...opts, depth: D + B },
      );
      x.free();
      scores.free();
      sel.idx.free();
    }),
    RUNS,
  );
});

s('jumprelu: d/dx is the true derivative away from theta', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, seed, async (B, M, sd) => {
      const rng = new Rng(sd);
      const theta = values(rng, M, 0.2, 1);
      const x = values(rng, B * M);
      for (let i = 0; i < x.length; i++) while (Math.abs(x[i]! - theta[i % M]!) < 0.05) x[i] = Math.fround(x[i]! + 0.1);
      // theta's pseudo-gradient is not a derivative (it is checked against its formula in the SAE specs).
      await gradcheck(cpu, (xs) => jumprelu(xs[0]!, xs[1]!, 1e-3), [inp(x, [B, M]), { data: theta, shape: [M], noGrad: true }], { seed: sd, third: 0 });
    }),
    RUNS,
  );
});

s.run();
