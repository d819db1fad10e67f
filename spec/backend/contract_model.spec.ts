// The backend contract, language-model primitives (model_ops.ts): norm, act, rope, attention, logSoftmax
// agree between the CPU reference (f64 accumulation, one f32 rounding) and WebGPU (f32 throughout), also when
// a 4 KiB binding limit forces the row/sequence windowing. Each tolerance is the f32 error bound of the GPU
// algorithm (u = 2^-24):
//   norm: sum of n squares (strided, then a tree) has relative error <= n u; 1/sqrt(mean+eps) then carries
//     <= (n/2 + 3) u relative; the output (x - mean) * inv * w adds 3 u, plus the bias add's rounding:
//     |gpu - ref| <= (n + 8) u |y - b| + 2 u |y|, and for LayerNorm the mean's error (<= n u mean|x|) shifts
//     x - mean: + 2 n u mean|x| |w| / std.
//   act: exp/tanh in f32 have a few ulps of relative error, scaled by |x| (gelu's 1 + tanh cancels when
//     tanh ~ -1, so the bound is absolute in |x|): |gpu - ref| <= 16 u max(|x|, |y|).
//   rope: two products and a sum in f32: |gpu - ref| <= 2 u (|x0| + |x1|).
//   attention: dot products of hd terms (hd u sum|q k| each, times scale), exp (4 u), normaliser over t + 1 keys
//     ((t + 1) u), the weighted sum ((t + 1) u): |gpu - ref| <= max|v| (2 scale hd u max_j sum|q k_j| + 4 (t + 8) u).
//   logSoftmax: lz = max + log z: z has (2 n + 16) u relative error (n exps and sums), log and the add round
//     (2 u |lz|), the final x - lz rounds (u |y|): |gpu - ref| <= u (|y| + 2 |lz|) + (2 n + 16) u.
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import type { Backend } from '../../src/backend/backend.js';
import { ropeTables, type ActOp, type NormKind, type RopeStyle } from '../../src/backend/model_ops.js';
import { withBindingLimit } from '../../src/backend/webgpu/webgpu.js';
import { Rng } from '../../src/rng.js';
import { assertClose, seed, U32, values } from './cpu_util.js';
import { agree, exec, others } from './contract_util.js';
import { cpu } from '../helpers/backends.js';

const s = suite('backend contract: model primitives (norm, act, rope, attention, logSoftmax)');
// The reporter surfaces the failing check's own message (fast-check's default hides it under uvu).
const RUNS = {
  numRuns: 15,
  reporter: (r: { failed: boolean; counterexample: unknown; errorInstance?: unknown }) => {
    if (r.failed) throw new Error(`${String((r.errorInstance as Error)?.message ?? r.errorInstance)}\n  counterexample ${JSON.stringify(r.counterexample)}`);
  },
};
const u = U32;
const small = fc.integer({ min: 1, max: 40 });

const LIMIT = 4096;
/**
 * The WebGPU backend and its 4 KiB-binding view (forces windows of a few rows), the latter only when the
 * unit that cannot be split (a row, a sequence, a rope table) fits one small binding.
 */
async function gpus(unitElems = 0): Promise<Backend[]> {
  const o = await others();
  return unitElems * 4 + 512 <= LIMIT ? [...o, ...o.map((g) => withBindingLimit(g, LIMIT))] : o;
}

async function checkNorm(kind: NormKind, rows: number, cols: number, sd: number): Promise<void> {
  const rng = new Rng(sd);
  const x = values(rng, rows * cols, 'uniform');
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * 3 + (kind === 'layer' ? 1 : 0);
  const w = values(rng, cols, 'uniform');
  const b = values(rng, cols, 'uniform');
  const eps = 1e-5;
  // Per row: mean |x| (the GPU mean's error is <= n u mean|x|, shifting every x - mean) and 1/std.
  const stats: [number, number][] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
    const mean = kind === 'layer' ? row.reduce((a, v) => a + v, 0) / cols : 0;
    const meanAbs = row.reduce((a, v) => a + Math.abs(v), 0) / cols;
    stats.push([meanAbs, 1 / Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / cols + eps)]);
  }
  await agree(
    [x, w, b, new Float32Array(rows * cols)],
    (be, [xs, ws, bs, o]) => be.norm(kind, o!, xs!, ws!, kind === 'layer' ? bs! : null, rows, cols, eps),
    [3],
    (name, [got], [ref]) =>
      assertClose(`${name} norm(${kind}) [${rows}, ${cols}]`, got!, ref!, (i) => {
        const bi = kind === 'layer' ? b[i % cols]! : 0;
        const [meanAbs, inv] = stats[Math.floor(i / cols)]!;
        const shift = kind === 'layer' ? 2 * cols * u * meanAbs * inv * Math.abs(w[i % cols]!) : 0;
        return (cols + 8) * u * Math.abs(ref![i]! - bi) + shift + 2 * u * Math.abs(ref![i]!) + 2 ** -140;
      }),
    await gpus(),
  );
}

s('norm: RMSNorm and LayerNorm rows, any width (also over many windows)', async () => {
  await fc.assert(
    fc.asyncProperty(small, fc.oneof(small, fc.constantFrom(63, 64, 65, 300)), seed, async (rows, cols, sd) => {
      await checkNorm('rms', rows, cols, sd);
      await checkNorm('layer', rows, cols, sd);
    }),
    RUNS,
  );
});

s('norm: the CPU reference is RMSNorm / LayerNorm as written (one row by hand)', async () => {
  const x = new Float32Array([1, 2, 3, 6]);
  const w = new Float32Array([1, 2, 1, 1]);
  const b = new Float32Array([0, 0, 0, 1]);
  const [rms] = await exec(cpu, [x, w, new Float32Array(4)], ([xs, ws, o]) => cpu.norm('rms', o!, xs!, ws!, null, 1, 4, 0), [2]);
  const r = Math.sqrt((1 + 4 + 9 + 36) / 4);
  assertClose('rms', rms!, [1 / r, 4 / r, 3 / r, 6 / r], (i) => 2 * u * Math.abs(rms![i]!));
  const [ln] = await exec(cpu, [x, w, b, new Float32Array(4)], ([xs, ws, bs, o]) => cpu.norm('layer', o!, xs!, ws!, bs!, 1, 4, 0), [3]);
  const sd = Math.sqrt((4 + 1 + 0 + 9) / 4);
  assertClose('layer', ln!, [-2 / sd, -2 / sd, 0, 3 / sd + 1], (i) => 4 * u * Math.abs(ln![i]!) + 1e-7);
});

s('act: silu and gelu_tanh, including large |x|', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), seed, fc.constantFrom<ActOp>('silu', 'gelu_tanh'), async (n, sd, op) => {
      const rng = new Rng(sd);
      const x = values(rng, n, 'uniform');
      for (let i = 0; i < n; i += 3) x[i] = x[i]! * 20;
      await agree(
        [x, new Float32Array(n)],
        (be, [xs, o]) => be.act(op, o!, xs!),
        [1],
        (name, [got], [ref]) => assertClose(`${name} act(${op})`, got!, ref!, (i) => 16 * u * Math.max(Math.abs(x[i]!), Math.abs(ref![i]!)) + 2 ** -140),
        await gpus(),
      );
    }),
    RUNS,
  );
  // Known values: silu(1) = 1 / (1 + e^-1); gelu_tanh(1) = 0.8411920, gelu_tanh(-30) = -0.
  const [g] = await exec(cpu, [new Float32Array([1, 1, -30]), new Float32Array(3)], ([xs, o]) => cpu.act('gelu_tanh', o!, xs!), [1]);
  assert.ok(Math.abs(g![0]! - 0.841192) < 1e-6 && Math.abs(g![2]!) < 1e-30, `gelu_tanh ${g}`);
});

s('rope: interleaved and rotate-half, positions per row, many heads', async () => {
  await fc.assert(
    fc.asyncProperty(small, fc.integer({ min: 1, max: 5 }), fc.constantFrom(2, 4, 8, 16, 64), seed, fc.constantFrom<RopeStyle>('interleaved', 'half'), async (rows, heads, hd, sd, style) => {
      const rng = new Rng(sd);
      const P = hd <= 8 ? 100 : 600;
      const { cos, sin } = ropeTables(P, hd, 10000);
      const pos = new Int32Array(rows);
      for (let r = 0; r < rows; r++) pos[r] = rng.int(P);
      const x = values(rng, rows * heads * hd, 'uniform');
      await agree(
        [x, pos, cos, sin, new Float32Array(x.length)],
        (be, [xs, ps, cs, ss, o]) => be.rope(style, o!, xs!, ps!, cs!, ss!, rows, heads, hd),
        [4],
        (name, [got], [ref]) => assertClose(`${name} rope(${style})`, got!, ref!, (i) => {
          const base = i - (i % hd);
          const j = i % hd;
          const partner = style === 'interleaved' ? base + (j ^ 1) : base + ((j + hd / 2) % hd);
          return 2 * u * (Math.abs(x[i]!) + Math.abs(x[partner]!)) + 2 ** -140;
        }),
        await gpus(cos.length),
      );
    }),
    RUNS,
  );
});

s('rope: the two styles rotate the pairs each names, by pos * theta^(-2i/hd)', async () => {
  const hd = 4;
  const { cos, sin } = ropeTables(8, hd, 100);
  const x = new Float32Array([1, 2, 3, 4]);
  const pos = new Int32Array([3]);
  const a0 = 3, a1 = 3 / 10; // frequencies 1 and 100^(-1/2)
  for (const [style, want] of [
    ['interleaved', [Math.cos(a0) - 2 * Math.sin(a0), Math.sin(a0) + 2 * Math.cos(a0), 3 * Math.cos(a1) - 4 * Math.sin(a1), 3 * Math.sin(a1) + 4 * Math.cos(a1)]],
    ['half', [Math.cos(a0) - 3 * Math.sin(a0), 2 * Math.cos(a1) - 4 * Math.sin(a1), Math.sin(a0) + 3 * Math.cos(a0), 2 * Math.sin(a1) + 4 * Math.cos(a1)]],
  ] as const) {
    const [got] = await exec(cpu, [x, pos, cos, sin, new Float32Array(4)], ([xs, ps, cs, ss, o]) => cpu.rope(style, o!, xs!, ps!, cs!, ss!, 1, 1, hd), [4]);
    assertClose(`rope ${style}`, got!, want, () => 1e-6);
  }
});

s('attention: causal, grouped-query, several sequences (also over many windows)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 20 }),
      fc.constantFrom([1, 1], [2, 1], [4, 2], [3, 3], [8, 4]),
      fc.constantFrom(1, 4, 8, 33),
      seed,
      async (seqs, len, [heads, kvHeads], hd, sd) => {
        const rng = new Rng(sd);
        const rows = seqs * len;
        const q = values(rng, rows * heads * hd, 'uniform');
        const k = values(rng, rows * kvHeads * hd, 'uniform');
        const v = values(rng, rows * kvHeads * hd, 'uniform');
        const scale = 1 / Math.sqrt(hd);
        let maxV = 0;
        for (const e of v) maxV = Math.max(maxV, Math.abs(e));
        await agree(
          [q, k, v, new Float32Array(q.length)],
          (be, [qs, ks, vs, o]) => be.attention(o!, qs!, ks!, vs!, seqs, len, heads, kvHeads, hd, scale),
          [3],
          (name, [got], [ref]) =>
            assertClose(`${name} attention seqs ${seqs} len ${len} heads ${heads}/${kvHeads} hd ${hd}`, got!, ref!, (i) => {
              const row = Math.floor(i / (heads * hd));
              const h = Math.floor(i / hd) % heads;
              const t = row % len;
              const kh = Math.floor(h / (heads / kvHeads));
              let qk = 0;
              for (let j = row - t; j <= row; j++) {
                let a = 0;
                for (let e = 0; e < hd; e++) a += Math.abs(q[(row * heads + h) * hd + e]! * k[(j * kvHeads + kh) * hd + e]!);
                qk = Math.max(qk, a);
              }
              return maxV * (2 * scale * hd * u * qk + 4 * (t + 8) * u);
            }),
          await gpus(len * heads * hd),
        );
      },
    ),
    RUNS,
  );
});

s('attention: the CPU reference against a direct float64 softmax (GQA head mapping, causal mask)', async () => {
  const rng = new Rng(7);
  const [seqs, len, heads, kvHeads, hd] = [2, 5, 4, 2, 3];
  const rows = seqs * len;
  const q = values(rng, rows * heads * hd), k = values(rng, rows * kvHeads * hd), v = values(rng, rows * kvHeads * hd);
  const [got] = await exec(cpu, [q, k, v, new Float32Array(q.length)], ([qs, ks, vs, o]) => cpu.attention(o!, qs!, ks!, vs!, seqs, len, heads, kvHeads, hd, 0.5), [3]);
  const want = new Float64Array(q.length);
  for (let r = 0; r < rows; r++) {
    const s0 = r - (r % len);
    for (let h = 0; h < heads; h++) {
      const g = h >> 1; // heads / kvHeads = 2
      const w: number[] = [];
      for (let j = s0; j <= r; j++) {
        let d = 0;
        for (let e = 0; e < hd; e++) d += q[(r * heads + h) * hd + e]! * k[(j * kvHeads + g) * hd + e]!;
        w.push(Math.exp(0.5 * d));
      }
      const z = w.reduce((a, b) => a + b, 0);
      for (let e = 0; e < hd; e++) {
        let a = 0;
        for (let j = s0; j <= r; j++) a += (w[j - s0]! / z) * v[(j * kvHeads + g) * hd + e]!;
        want[(r * heads + h) * hd + e] = a;
      }
    }
  }
  assertClose('cpu attention', got!, want, (i) => 2 * u * Math.abs(want[i]!) + 1e-12);
});

s('logSoftmax: rows of any width, large offsets', async () => {
  await fc.assert(
    fc.asyncProperty(small, fc.oneof(small, fc.constantFrom(127, 128, 129, 700)), seed, async (rows, cols, sd) => {
      const rng = new Rng(sd);
      const x = values(rng, rows * cols, 'uniform');
      for (let i = 0; i < x.length; i++) x[i] = x[i]! * 8 + (i % 3 === 0 ? 40 : 0);
      await agree(
        [x, new Float32Array(x.length)],
        (be, [xs, o]) => be.logSoftmax(o!, xs!, rows, cols),
        [1],
        (name, [got], [ref]) => assertClose(`${name} logSoftmax [${rows}, ${cols}]`, got!, ref!, (i) => {
          const lz = x[i]! - ref![i]!;
          return u * (Math.abs(ref![i]!) + 2 * Math.abs(lz)) + (2 * cols + 16) * u;
        }),
        await gpus(),
      );
    }),
    RUNS,
  );
});

s('model primitives: misuse fails with the same message on both backends', async () => {
  for (const be of [cpu, ...(await others())]) {
    const a = be.alloc(8, 'f32');
    const w = be.alloc(4, 'f32');
    assert.throws(() => be.norm('rms', a, a, w, null, 2, 4, 1e-5), /norm\(rms\): out must not be the same storage as x/);
    assert.throws(() => be.attention(be.alloc(8, 'f32'), a, a, a, 1, 2, 3, 2, 1, 1), /heads \(3\) must be a multiple of kvHeads \(2\)/);
    assert.throws(() => be.logSoftmax(w, a, 2, 4), /logSoftmax: out has 4 elements, expected rows\*cols = 8/);
    be.free(a);
    be.free(w);
  }
});

s.run();
