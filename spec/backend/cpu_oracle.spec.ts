// The CPU backend's memory, elementwise, reduction and Adam primitives against float64 oracles written here.
// Tolerances: +, -, *, /, sqrt of f32 inputs computed in f64 and rounded to f32 are the correctly rounded f32
// results (double rounding through f64 is innocuous for these ops, since 53 >= 2*24 + 2), so the oracle
// Math.fround(f64 op) must match exactly; exp/log get 2^-23 relative (f64 libm error << 1 f32 ulp, plus the
// final rounding).
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BINARY_OPS, UNARY_OPS, type Broadcast, type UnaryOp } from '../../src/backend/backend.js';
import { Rng } from '../../src/rng.js';
import { cpu } from '../helpers/backends.js';
import { assertClose, assertSame, dim, readF32, readI32, seed, style, U32, upload, values } from './cpu_util.js';

const s = suite('cpu backend: memory, elementwise, reduce, adam vs f64 oracles');
const RUNS = { numRuns: 100 };

s('alloc is zeroed; write/read round-trip; read returns a copy', async () => {
  const f = cpu.alloc(5, 'f32');
  assertSame('zeros', await readF32(cpu, f), new Float32Array(5));
  const data = new Float32Array([1.5, -0, 3, -2, 1e-40]);
  cpu.write(f, data);
  const r = await readF32(cpu, f);
  assertSame('round-trip', r, data);
  r[0] = 99;
  assert.is((await readF32(cpu, f))[0], 1.5, 'mutating a read result must not touch the storage');
  data[1] = 7;
  assert.ok(Object.is((await readF32(cpu, f))[1], -0), 'write copies the host array');
  const i = upload(cpu, new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]));
  assertSame('i32', await readI32(cpu, i), new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]));
  assert.is(cpu.alloc(0, 'f32').length, 0);
});

s('fill and copy, both dtypes', async () => {
  const f = cpu.alloc(7, 'f32');
  cpu.fill(f, 0.1);
  assertSame('fill f32 rounds to f32', await readF32(cpu, f), new Float32Array(7).fill(0.1));
  const i = cpu.alloc(3, 'i32');
  cpu.fill(i, -4);
  assertSame('fill i32', await readI32(cpu, i), new Int32Array([-4, -4, -4]));
  const src = upload(cpu, new Float32Array([1, 2, 3, 4, 5, 6, 7]));
  cpu.copy(f, src);
  assertSame('copy', await readF32(cpu, f), new Float32Array([1, 2, 3, 4, 5, 6, 7]));
  await cpu.sync();
});

const unaryRef: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  square: (x) => x * x,
  recip: (x) => 1 / x,
  relu: (x) => (x > 0 ? x : 0),
  step: (x) => (x > 0 ? 1 : 0),
};

for (const op of UNARY_OPS) {
  s(`unary ${op}`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.float({ min: Math.fround(-2), max: Math.fround(2), noNaN: true, noDefaultInfinity: true }), {
          minLength: 1,
          maxLength: 67,
        }),
        async (xs) => {
          // log and sqrt are checked on |x| (their negative inputs only give NaN, checked once below).
          const x = Float32Array.from(op === 'log' || op === 'sqrt' ? xs.map(Math.abs) : xs);
          const out = cpu.alloc(x.length, 'f32');
          cpu.unary(op, out, upload(cpu, x));
          const ref = Array.from(x, (v) => Math.fround(unaryRef[op](v)));
          const rel = op === 'exp' || op === 'log' ? 2 * U32 : 0;
          assertClose(op, await readF32(cpu, out), ref, (i) => rel * Math.abs(ref[i]!));
          if (op === 'relu' || op === 'step' || op === 'abs' || op === 'neg') {
            assertSame(`${op} signs of zero`, await readF32(cpu, out), ref);
          }
        },
      ),
      RUNS,
    );
  });
}

s(
  'unary edge values: relu(-0) = +0, step(0) = 0, log(0) = -Inf, log(-1) and sqrt(-1) NaN, recip(+-0) = +-Inf',
  async () => {
    const x = upload(cpu, new Float32Array([-0, 0, -1]));
    const out = cpu.alloc(3, 'f32');
    const expect: [UnaryOp, number[]][] = [
      ['relu', [0, 0, 0]],
      ['step', [0, 0, 0]],
      ['log', [-Infinity, -Infinity, NaN]],
      ['sqrt', [-0, 0, NaN]],
      ['recip', [-Infinity, Infinity, -1]],
    ];
    for (const [op, ref] of expect) {
      cpu.unary(op, out, x);
      assertSame(op, await readF32(cpu, out), ref);
    }
  },
);

s('relu and step (computed on the bits) equal x > 0 ? x : 0 and x > 0 ? 1 : 0 for every f32 bit pattern kind', async () => {
  const specials = [0, 0x80000000, 1, 0x80000001, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7f800001, 0x7fc00000, 0xffc00000, 0xffffffff, 0x3f800000, 0xbf800000];
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 200 }), async (rand) => {
      const bits = Int32Array.from([...specials, ...rand]);
      const x = new Float32Array(bits.buffer);
      const xs = upload(cpu, x);
      const out = cpu.alloc(x.length, 'f32');
      for (const [op, ref] of [['relu', (v: number) => (v > 0 ? v : 0)], ['step', (v: number) => (v > 0 ? 1 : 0)]] as const) {
        cpu.unary(op, out, xs);
        const got = new Int32Array((await readF32(cpu, out)).buffer);
        const want = new Int32Array(Float32Array.from(x, ref).buffer);
        for (let i = 0; i < x.length; i++) if (got[i] !== want[i]) assert.unreachable(`${op}(bits 0x${(bits[i]! >>> 0).toString(16)}) = bits 0x${(got[i]! >>> 0).toString(16)}, want 0x${(want[i]! >>> 0).toString(16)}`);
      }
      cpu.free(xs);
      cpu.free(out);
    }),
    { numRuns: 100 },
  );
});

const binaryRef: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: (a, b) => (a > b ? a : b),
  min: (a, b) => (a < b ? a : b),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};
const mode = fc.constantFrom<Broadcast>('full', 'row', 'col', 'scalar');
const len = (m: Broadcast, R: number, C: number) => (m === 'full' ? R * C : m === 'row' ? C : m === 'col' ? R : 1);
const at = (m: Broadcast, r: number, c: number, C: number) =>
  m === 'full' ? r * C + c : m === 'row' ? c : m === 'col' ? r : 0;

for (const op of BINARY_OPS) {
  s(`binary ${op} over all 16 broadcast pairs`, async () => {
    await fc.assert(
      fc.asyncProperty(dim, dim, mode, mode, seed, style, async (R, C, am, bm, sd, st) => {
        const rng = new Rng(sd);
        const a = values(rng, len(am, R, C), st),
          b = values(rng, len(bm, R, C), st);
        const out = cpu.alloc(R * C, 'f32');
        cpu.binary(op, out, upload(cpu, a), am, upload(cpu, b), bm, R, C);
        const ref = new Float32Array(R * C);
        for (let r = 0; r < R; r++)
          for (let c = 0; c < C; c++) ref[r * C + c] = binaryRef[op]!(a[at(am, r, c, C)]!, b[at(bm, r, c, C)]!);
        assertClose(`${op} ${am}/${bm} [${R},${C}]`, await readF32(cpu, out), ref, () => 0);
      }),
      RUNS,
    );
  });
}

s('binary in place (out is a)', async () => {
  const a = upload(cpu, new Float32Array([1, 2, 3, 4, 5, 6]));
  cpu.binary('mul', a, a, 'full', upload(cpu, new Float32Array([10, 100])), 'col', 2, 3);
  assertSame('a *= col', await readF32(cpu, a), [10, 20, 30, 400, 500, 600]);
});

for (const op of ['sum', 'max', 'min'] as const) {
  s(`reduce ${op} along both axes`, async () => {
    await fc.assert(
      fc.asyncProperty(
        dim,
        dim,
        fc.constantFrom<0 | 1>(0, 1),
        seed,
        fc.constantFrom('uniform', 'ints', 'dense'),
        async (R, C, axis, sd, st) => {
          const x = values(new Rng(sd), R * C, st);
          const nOut = axis === 0 ? C : R,
            nIn = axis === 0 ? R : C;
          const el = (o: number, j: number) => (axis === 0 ? x[j * C + o]! : x[o * C + j]!);
          const ref: number[] = [],
            mag: number[] = [];
          for (let o = 0; o < nOut; o++) {
            let acc = op === 'sum' ? 0 : el(o, 0),
              abs = 0;
            for (let j = 0; j < nIn; j++) {
              const v = el(o, j);
              abs += Math.abs(v);
              acc = op === 'sum' ? acc + v : op === 'max' ? Math.max(acc, v) : Math.min(acc, v);
            }
            ref.push(acc);
            mag.push(abs);
          }
          const out = cpu.alloc(nOut, 'f32');
          cpu.reduce(op, out, upload(cpu, x), R, C, axis);
          // Sums: one f32 rounding of the result, plus f64 reassociation error <= n * 2^-53 * sum|x| (n <= 67).
          const tol = (i: number) => (op === 'sum' ? U32 * Math.abs(ref[i]!) + 67 * 2 ** -53 * mag[i]! : 0);
          assertClose(`${op} axis ${axis} [${R},${C}]`, await readF32(cpu, out), ref, tol);
        },
      ),
      RUNS,
    );
  });
}

s('reduce sum keeps large sums accurate: 2^24 ones plus a half-ulp tail', async () => {
  // Naive f32 accumulation stalls at 2^24 (1 + 2^24 rounds back to 2^24); f64 accumulation does not.
  const n = 2 ** 24 + 4;
  const x = new Float32Array(n).fill(1);
  const out = cpu.alloc(1, 'f32');
  cpu.reduce('sum', out, upload(cpu, x), 1, n, 1);
  assert.is((await readF32(cpu, out))[0], n);
});

type Hyper = { lr: number; beta1: number; beta2: number; eps: number; bc1: number; bc2: number };

/**
 * f64 Adam oracle (the contract's formula, unrounded m and v), which also tracks an error bound per element for
 * an implementation that rounds m, v and p to f32 every step. magM/magV bound |m|, |v| and every term summed
 * into them, so each f32 rounding of m (v) is <= 2^-24 magM (magV), and the damped errors of t steps add to at
 * most t * 2^-24 * max mag. A step's error is then lr/bc1 * dm / (sqrt(v^) + eps) + |step| * dv / v (the
 * sqrt halves the relative v error; bounded by the whole), and p adds one f32 rounding per step.
 */
class AdamOracle {
  m: number[];
  v: number[];
  magM: number[];
  magV: number[];
  errP: number[];
  t = 0;

  constructor(public p: number[]) {
    const n = p.length;
    this.m = new Array<number>(n).fill(0);
    this.v = new Array<number>(n).fill(0);
    this.magM = new Array<number>(n).fill(0);
    this.magV = new Array<number>(n).fill(0);
    this.errP = new Array<number>(n).fill(0);
  }

  step(g: ArrayLike<number>, h: Hyper): void {
    this.t++;
    for (let i = 0; i < this.p.length; i++) {
      const gi = g[i]!;
      this.m[i] = h.beta1 * this.m[i]! + (1 - h.beta1) * gi;
      this.v[i] = h.beta2 * this.v[i]! + (1 - h.beta2) * gi * gi;
      this.magM[i] = Math.max(this.magM[i]!, h.beta1 * this.magM[i]! + (1 - h.beta1) * Math.abs(gi));
      this.magV[i] = Math.max(this.magV[i]!, h.beta2 * this.magV[i]! + (1 - h.beta2) * gi * gi);
      const den = Math.sqrt(this.v[i]! / h.bc2) + h.eps;
      const step = (h.lr * (this.m[i]! / h.bc1)) / den;
      const dm = this.t * U32 * this.magM[i]!,
        dv = this.t * U32 * this.magV[i]!;
      const stepErr = (h.lr * dm) / h.bc1 / den + (this.v[i]! > 0 ? (Math.abs(step) * dv) / this.v[i]! : 0);
      this.p[i] = this.p[i]! - step;
      this.errP[i] = this.errP[i]! + stepErr + U32 * (Math.abs(this.p[i]!) + Math.abs(step) + stepErr);
    }
  }
}

s('adam: hand-computed two steps with exact binary fractions', async () => {
  // b1 = 1/2, b2 = 3/4, lr = 1/4, eps = 0, p = 1.
  // t=1, g = 2:  m = 1, v = 1, bc1 = 1/2, bc2 = 1/4 -> m^ = 2, v^ = 4, p = 1 - (1/4)(2/2) = 0.75.
  // t=2, g = -2: m = 1/2 - 1 = -1/2, v = 3/4 + 1 = 7/4, bc1 = 3/4, bc2 = 7/16 -> m^ = -2/3, v^ = 4,
  //              p = 0.75 + (1/4)(2/3)/2 = 0.75 + 1/12 = 5/6.
  const p = upload(cpu, new Float32Array([1])),
    m = cpu.alloc(1, 'f32'),
    v = cpu.alloc(1, 'f32');
  const h = { lr: 0.25, beta1: 0.5, beta2: 0.75, eps: 0 };
  cpu.adam(p, m, v, upload(cpu, new Float32Array([2])), { ...h, bc1: 0.5, bc2: 0.25 });
  assertSame('p1', await readF32(cpu, p), [0.75]);
  assertSame('m1', await readF32(cpu, m), [1]);
  assertSame('v1', await readF32(cpu, v), [1]);
  cpu.adam(p, m, v, upload(cpu, new Float32Array([-2])), { ...h, bc1: 0.75, bc2: 7 / 16 });
  assertSame('m2', await readF32(cpu, m), [-0.5]);
  assertSame('v2', await readF32(cpu, v), [1.75]);
  assertSame('p2', await readF32(cpu, p), [Math.fround(5 / 6)]);
});

s('adam: standard betas, first step moves each parameter by lr * sign(g); zero gradient leaves it', async () => {
  // At t=1, m^ = g and v^ = g^2, so the step is lr * g / (|g| + eps) = lr * sign(g) * (1 - eps/|g|).
  const p = upload(cpu, new Float32Array([0.5, -1, 2, 0])),
    m = cpu.alloc(4, 'f32'),
    v = cpu.alloc(4, 'f32');
  cpu.adam(p, m, v, upload(cpu, new Float32Array([0.25, -4, 0, 1])), {
    lr: 0.001,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    bc1: 0.1,
    bc2: 0.001,
  });
  assertClose('p', await readF32(cpu, p), [0.499, -0.999, 2, -0.001], (i) => [2 ** -24, 2 ** -24, 0, 2 ** -33][i]!);
});

s('adam vs the f64 oracle over three steps', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 300 }), seed, async (n, sd) => {
      const rng = new Rng(sd);
      const p0 = values(rng, n);
      const h = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
      const p = upload(cpu, p0),
        m = cpu.alloc(n, 'f32'),
        v = cpu.alloc(n, 'f32');
      const ref = new AdamOracle(Array.from(p0));
      for (let t = 1; t <= 3; t++) {
        const g = values(rng, n);
        const hp = { ...h, bc1: 1 - h.beta1 ** t, bc2: 1 - h.beta2 ** t };
        cpu.adam(p, m, v, upload(cpu, g), hp);
        ref.step(g, hp);
      }
      assertClose('m', await readF32(cpu, m), ref.m, (i) => ref.t * U32 * ref.magM[i]!);
      assertClose('v', await readF32(cpu, v), ref.v, (i) => ref.t * U32 * ref.magV[i]!);
      assertClose('p', await readF32(cpu, p), ref.p, (i) => ref.errP[i]!);
    }),
    { numRuns: 30 },
  );
});

s.run();
