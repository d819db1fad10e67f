// The backend contract, part 4: topk, sddmm, spmm and spmmT on WebGPU against the CPU reference.
// topk is exact: the WebGPU indices must equal the CPU's index for index (same tie rule, -0 == +0), in both
// regimes (one long row: the BatchTopK range select; many rows: one workgroup per row), including windowed
// processing under a lowered binding limit. The sparse products are sums in another order and precision:
// the CPU accumulates in f64 and rounds once (error <= u|s|, u = 2^-24), an f32 sum of n products is within
// n*u*sum|terms| of the exact value (each product and each addition rounds once), so
// |gpu - cpu| <= (n + 2) * u * sum|terms|, with n = d for sddmm and n = the entries summed for spmm/spmmT.
// spmmT groups entries by column in a fixed order, so it must give the same bits on every run.
import fc from 'fast-check';
import { suite } from 'uvu';
import type { Backend, Storage } from '../../src/backend/backend.js';
import { withBindingLimit, type WebGpuBackend } from '../../src/backend/webgpu/webgpu.js';
import type { GpuTuning } from '../../src/backend/webgpu/tuning.js';
import { ROW_BOUND } from '../../src/backend/webgpu/select.js';
import type { GpuContext } from '../../src/backend/webgpu/context.js';
import { SAMPLED, type SampledKnobs } from '../../src/backend/webgpu/sampled_select.js';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/rng.js';
import { backendName, cpu } from '../helpers/backends.js';
import { assertClose, assertSame, seed, U32, values, type Style } from './cpu_util.js';
import { agree, exec, others, size } from './contract_util.js';

const s = suite('backend contract: topk, sddmm, spmm, spmmT');

/** The smallest binding limit the context accepts: windows of ~1000 f32, several per case below. */
const SMALL_BINDING = 4096;

type TopkStyle = Style | 'equal' | 'zeros' | 'relu';
const topkStyle = fc.constantFrom<TopkStyle>('uniform', 'ints', 'dense', 'extreme', 'equal', 'zeros', 'relu');

/** Values for topk: the cpu_util styles, plus all-equal rows, signed zeros only, and post-ReLU (half zeros). */
function topkValues(rng: Rng, n: number, st: TopkStyle): Float32Array {
  if (st === 'equal') return new Float32Array(n).fill(rng.int(2) ? -0.75 : 3);
  if (st === 'zeros') return Float32Array.from({ length: n }, () => (rng.int(2) ? -0 : 0));
  if (st === 'relu') return values(rng, n, 'uniform').map((v) => Math.max(0, v));
  return values(rng, n, st);
}

/** The properties every topk result has: strictly ascending, k per row within the row, kept >= dropped. */
function invariants(what: string, got: Int32Array, x: Float32Array, rows: number, cols: number, k: number): void {
  if (got.length !== rows * k) throw new Error(`${what}: ${got.length} indices, expected ${rows * k}`);
  for (let r = 0; r < rows; r++) {
    let minKept = Infinity;
    const kept = new Set<number>();
    for (let j = 0; j < k; j++) {
      const f = got[r * k + j]!;
      if (f < r * cols || f >= (r + 1) * cols) throw new Error(`${what}: row ${r} holds index ${f}`);
      if (j > 0 && !(f > got[r * k + j - 1]!)) throw new Error(`${what}: row ${r} not strictly ascending at ${j}`);
      kept.add(f);
      minKept = Math.min(minKept, x[f]!);
    }
    let maxDropped = -Infinity;
    for (let c = 0; c < cols; c++) if (!kept.has(r * cols + c)) maxDropped = Math.max(maxDropped, x[r * cols + c]!);
    if (!(minKept >= maxDropped)) throw new Error(`${what}: row ${r} min kept ${minKept} < max dropped ${maxDropped}`);
  }
}

/**
 * Runs topk on the CPU and on `gpus`; the GPU results must equal the CPU's and, unless `checkInvariants` is
 * false (values with NaN, where min/max mean nothing), all results hold the invariants.
 */
async function topkAgrees(x: Float32Array, rows: number, cols: number, k: number, what: string, gpus?: Backend[], checkInvariants = true) {
  const run = async (be: Backend) => {
    const [got] = await exec(be, [x, new Int32Array(rows * k)], (st) => be.topk(st[1]!, st[0]!, rows, cols, k), [1]);
    return got as Int32Array;
  };
  const ref = await run(cpu);
  if (checkInvariants) invariants(`cpu ${what}`, ref, x, rows, cols, k);
  for (const be of gpus ?? (await others())) {
    const got = await run(be);
    const name = await backendName(be);
    if (checkInvariants) invariants(`${name} ${what}`, got, x, rows, cols, k);
    const bad = ref.findIndex((f, i) => got[i] !== f);
    if (bad >= 0) throw new Error(`${name} ${what}: index ${bad}: got ${got[bad]}, cpu ${ref[bad]}`);
  }
}

/** A value once per WebGPU backend of the suite (a probe reports once per select run); set by the tests that use it. */
let gpuCount = 0;
const each = <T,>(v: T): T[] => Array(gpuCount).fill(v);

/** The shared WebGPU backend viewed with a small binding limit (forces windows in every regime). */
async function smallBinding(): Promise<Backend[]> {
  return (await others()).map((be) => withBindingLimit(be, SMALL_BINDING));
}

const kFrac = fc.double({ min: 0, max: 1, noNaN: true });
const kOf = (f: number, cols: number) => Math.min(cols, 1 + Math.floor(f * cols));

s('topk per row: random shapes, value styles and k (1..cols) give the CPU indices exactly', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 2, max: 40 }), size, kFrac, seed, topkStyle, async (rows, cols, f, sd, st) => {
      const k = kOf(f, cols);
      await topkAgrees(topkValues(new Rng(sd), rows * cols, st), rows, cols, k, `rows ${rows}x${cols} k=${k} ${st}`);
    }),
    { numRuns: 80 },
  );
});

s('topk per row: NaNs (either sign), infinities and a row of -inf give the CPU indices exactly', async () => {
  // The contract's order (select.ts's keys) puts +NaN above +inf and -NaN below -inf; a WGSL compiler may
  // assume no NaN in f32 compares, so the kernels order keys. Columns a multiple of 4 (the vec4 reads) or not.
  // (No invariants: min/max over NaN mean nothing.)
  const bits = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0]!;
  const specials = [bits(0x7fc00000), bits(0xffc00000), bits(0x7f800001), Infinity, -Infinity, -3.4028234663852886e38, -0];
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.constantFrom(63, 64, 256, 1027, 1028, 4096), fc.integer({ min: 1, max: 32 }), fc.double({ min: 0, max: 0.2, noNaN: true }), seed,
      async (rows, cols, k, p, sd) => {
        const rng = new Rng(sd);
        const x = new Float32Array(rows * cols);
        for (let i = 0; i < x.length; i++) x[i] = rng.uniform() < p ? specials[rng.int(specials.length)]! : rng.uniformIn(-2, 2);
        if (rows > 1) x.fill(-Infinity, 0, cols); // a row of one value, below every finite one
        await topkAgrees(x, rows, cols, k, `rows ${rows}x${cols} k=${k} p=${p}`, undefined, false);
      }),
    { numRuns: 40 },
  );
});

/** The WebGPU backends' tuning objects (shared by their binding-limited views). */
async function tunings(): Promise<GpuTuning[]> {
  return (await others()).flatMap((be) => ('tuning' in be ? [(be as WebGpuBackend).tuning] : []));
}

s('topk per row, group-maxima bound (k <= 128): with a list cap that sends some rows to the radix fallback, both read layouts', async () => {
  const ts = await tunings();
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 2, max: 30 }), fc.integer({ min: 1, max: 3000 }), kFrac, fc.integer({ min: 1, max: 300 }), seed, topkStyle, fc.boolean(),
      async (rows, cols, f, cap, sd, st, contig) => {
        const k = Math.min(cols, 128, 1 + Math.floor(f * f * 128));
        const saved = ROW_BOUND.cap;
        const layouts = ts.map((t) => t.rowsContig);
        ROW_BOUND.cap = cap;
        for (const t of ts) t.rowsContig = contig;
        try {
          await topkAgrees(topkValues(new Rng(sd), rows * cols, st), rows, cols, k, `bound rows ${rows}x${cols} k=${k} cap=${cap} ${st} contig=${contig}`);
        } finally {
          ROW_BOUND.cap = saved;
          ts.forEach((t, i) => (t.rowsContig = layouts[i]!));
        }
      }),
    { numRuns: 80 },
  );
});

/** Runs `body` and returns, per per-row select it ran on WebGPU, how many rows topk_rows_bound left to the radix. */
async function rowsLeft(body: () => Promise<void>): Promise<number[]> {
  const probes: { ctx: GpuContext; buf: GPUBuffer }[] = [];
  ROW_BOUND.probe = (ctx, bad, rows) => {
    const buf = ctx.scratch(16);
    ctx.copy(bad, rows * 4, buf, 0, 4);
    probes.push({ ctx, buf });
  };
  try {
    await body();
    const left: number[] = [];
    for (const { ctx, buf } of probes) {
      left.push(new Uint32Array(await ctx.readBytes(buf, 0, 4))[0]!);
      ctx.release(buf);
    }
    return left;
  } finally {
    ROW_BOUND.probe = null;
  }
}

s('topk per row, group-maxima bound: rows of distinct values are settled without the fallback; cap < k sends every row to it', async () => {
  gpuCount = (await others()).length;
  if (gpuCount === 0) return;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 2, max: 20 }), fc.integer({ min: 200, max: 5000 }), kFrac, seed, async (rows, cols, f, sd) => {
      // k <= 64: the bound (the k-th of at least 2k lane maxima) lists ~k to ~3k entries of a random row.
      const k = 1 + Math.floor(f * 63);
      const x = topkValues(new Rng(sd), rows * cols, 'uniform');
      const what = `rows ${rows}x${cols} k=${k}`;
      const left = await rowsLeft(() => topkAgrees(x, rows, cols, k, `settled ${what}`));
      assert.equal(left, each(0), `${what}: rows left to the fallback`);
      const saved = ROW_BOUND.cap;
      ROW_BOUND.cap = k - 1;
      try {
        const all = await rowsLeft(() => topkAgrees(x, rows, cols, k, `cap k-1 ${what}`));
        assert.equal(all, each(rows), `${what}, cap ${k - 1}: rows left to the fallback`);
      } finally {
        ROW_BOUND.cap = saved;
      }
    }),
    { numRuns: 30 },
  );
});

s('topk per row, group-maxima bound: rows of ties, rows with fewer positives than k, k = 128 = WG', async () => {
  const rng = new Rng(23);
  const rows = 12, cols = 5000;
  const x = topkValues(rng, rows * cols, 'relu');
  for (let c = 0; c < cols; c++) x[3 * cols + c] = c % 100 === 0 ? 1 + c : 0; // row 3: 50 positives
  x.fill(2, 5 * cols, 6 * cols); // row 5: all tied
  for (const k of [1, 32, 64, 128]) await topkAgrees(x, rows, cols, k, `mixed rows k=${k}`);
  await topkAgrees(topkValues(rng, 20 * 100, 'ints'), 20, 100, 100, 'k = cols = 100');
});

s('topk per row: k = 1, k = cols, wide rows (several sweep tiles) and ties at the cut', async () => {
  const rng = new Rng(7);
  await topkAgrees(topkValues(rng, 5 * 300, 'uniform'), 5, 300, 1, 'k=1');
  await topkAgrees(topkValues(rng, 5 * 300, 'ints'), 5, 300, 300, 'k=cols');
  await topkAgrees(topkValues(rng, 3 * 5000, 'ints'), 3, 5000, 2100, 'wide ints');
  await topkAgrees(topkValues(rng, 4 * 4099, 'relu'), 4, 4099, 512, 'wide relu, AuxK-sized k');
  await topkAgrees(topkValues(rng, 6 * 777, 'dense'), 6, 777, 64, 'dense keys (low digits decide)');
});

s('topk batch (one row): random lengths, value styles and k give the CPU indices exactly', async () => {
  const len = fc.oneof(size, fc.integer({ min: 258, max: 20000 }));
  await fc.assert(
    fc.asyncProperty(len, kFrac, seed, topkStyle, async (cols, f, sd, st) => {
      const k = kOf(f * f, cols); // bias towards small k, as in BatchTopK
      await topkAgrees(topkValues(new Rng(sd), cols, st), 1, cols, k, `batch 1x${cols} k=${k} ${st}`);
    }),
    { numRuns: 60 },
  );
});

s('topk batch: 64 x 3000 flattened, k = 64*32, on post-ReLU values and on integer ties', async () => {
  const rng = new Rng(11);
  const n = 64 * 3000;
  await topkAgrees(topkValues(rng, n, 'relu'), 1, n, 64 * 32, 'batch relu');
  await topkAgrees(topkValues(rng, n, 'ints'), 1, n, 64 * 32, 'batch ints');
  // More than half are zeros: the cut is 0 and the ties at 0 are taken by lowest index.
  await topkAgrees(topkValues(rng, n, 'relu'), 1, n, n / 2 + 1000, 'batch relu, cut at zero');
});

s('topk under a 4 KiB binding limit: windows of x and of the output, rows wider than a binding', async () => {
  const small = await smallBinding();
  const rng = new Rng(13);
  // 'dense' keys differ only in the lowest digit and exceed the 1024 candidates a 4 KiB binding holds, so
  // the last histogram pass must fall back to re-reading x.
  for (const st of ['uniform', 'ints', 'relu', 'dense'] as const) {
    await topkAgrees(topkValues(rng, 9000, st), 1, 9000, 40, `small-binding batch ${st}`, small);
    await topkAgrees(topkValues(rng, 9000, st), 1, 9000, 3000, `small-binding batch, windowed output ${st}`, small);
    await topkAgrees(topkValues(rng, 20 * 300, st), 20, 300, 17, `small-binding row windows ${st}`, small);
    await topkAgrees(topkValues(rng, 3 * 2500, st), 3, 2500, 600, `small-binding rows wide rows ${st}`, small);
  }
});

/**
 * Runs `body` with the sampled bracket's knobs lowered so that it applies from 4096 entries (256 samples),
 * and returns which path each WebGPU range select took: 'sampled' or 'fallback' (read from the probe).
 */
async function withSampled(knobs: Partial<SampledKnobs>, body: () => Promise<void>): Promise<string[]> {
  const saved = { ...SAMPLED };
  const probes: { ctx: GpuContext; buf: GPUBuffer }[] = [];
  Object.assign(SAMPLED, { sampleBits: 8, minN: 4096 }, knobs);
  SAMPLED.probe = (ctx, state) => {
    const buf = ctx.scratch(32);
    ctx.copy(state, 0, buf, 0, 32);
    probes.push({ ctx, buf });
  };
  try {
    await body();
    const paths: string[] = [];
    for (const { ctx, buf } of probes) {
      const st = new Uint32Array(await ctx.readBytes(buf, 0, 32));
      ctx.release(buf);
      paths.push(st[3] === 0 ? 'sampled' : 'fallback');
    }
    return paths;
  } finally {
    Object.assign(SAMPLED, saved);
  }
}

s('topk batch, sampled bracket: random lengths, value styles and k <= n/16 give the CPU indices exactly', async () => {
  gpuCount = (await others()).length;
  if (gpuCount === 0) return;
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 4096, max: 40000 }), kFrac, seed, topkStyle, async (cols, f, sd, st) => {
      const k = Math.max(1, Math.floor(((f * f) * cols) / 16));
      const paths = await withSampled({}, () =>
        topkAgrees(topkValues(new Rng(sd), cols, st), 1, cols, k, `sampled 1x${cols} k=${k} ${st}`));
      for (const p of paths) seen.add(`${p}`);
      // Distinct values: the 256-sample bracket at 7 sigmas holds the cut, so the sampled path must have run.
      if (st === 'uniform' && paths.some((p) => p !== 'sampled')) throw new Error(`uniform 1x${cols} k=${k}: ${paths}`);
    }),
    { numRuns: 40 },
  );
  // All-equal and all-zero ranges put every entry in the bracket: more than the buffer holds.
  assert.ok(seen.has('sampled') && seen.has('fallback'), `paths seen: ${[...seen]}`);
});

s('topk batch, sampled bracket fallbacks: a bracket above the cut, an overflowing buffer, windows', async () => {
  gpuCount = (await others()).length;
  if (gpuCount === 0) return;
  const rng = new Rng(17);
  for (const st of ['uniform', 'ints', 'relu', 'dense'] as const) {
    const x = topkValues(rng, 30000, st);
    // sigmas -30: the bracket's bottom lies above the cut, so fewer than k entries are candidates.
    const miss = await withSampled({ sigmas: -30 }, () => topkAgrees(x, 1, 30000, 700, `bracket above cut ${st}`));
    // (With integer ties the top sample's value alone can hold k entries: then the sampled path is exact.)
    if (st !== 'ints') assert.equal(miss, each('fallback'), `${st}: bracket above the cut`);
    const over = await withSampled({ capOverride: 700 }, () => topkAgrees(x, 1, 30000, 700, `overflow ${st}`));
    assert.equal(over, each('fallback'), `${st}: overflow`);
    const ok = await withSampled({}, () => topkAgrees(x, 1, 30000, 700, `sampled ${st}`));
    if (st !== 'dense') assert.equal(ok, each('sampled'), `${st}: sampled`);
  }
  // Under a 4 KiB binding limit: x, the output and the candidates in windows; samples fit one binding.
  const small = await smallBinding();
  for (const st of ['uniform', 'relu', 'ints'] as const) {
    const paths = await withSampled({ sampleBits: 6 }, () =>
      topkAgrees(topkValues(rng, 20000, st), 1, 20000, 300, `small-binding sampled ${st}`, small));
    assert.ok(paths.length === small.length, `${st}: ${paths}`);
  }
  // Skewed: every top entry in the last tiles (the sieve's ordered path for tiles with many candidates).
  const asc = Float32Array.from({ length: 70000 }, (_, i) => i % 7 === 0 ? i : 0);
  const skew = await withSampled({}, () => topkAgrees(asc, 1, 70000, 1000, 'ascending, skewed tiles'));
  assert.equal(skew, each('sampled'), 'skewed');
});

/** A selection over [batch, m]: each entry kept with probability p (some rows empty), strictly ascending. */
function selection(rng: Rng, batch: number, m: number, p: number): Int32Array {
  const out: number[] = [];
  for (let f = 0; f < batch * m; f++) if (rng.uniform() < p) out.push(f);
  return Int32Array.from(out);
}

/** sum over t of |a[ao+t] * b[bo+t]|, the scale of a dot product's rounding error. */
function absDot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += Math.abs(a[ao + t]! * b[bo + t]!);
  return s;
}

interface SparseCase {
  batch: number;
  m: number;
  d: number;
  idx: Int32Array;
  vals: Float32Array;
  a: Float32Array; // [batch, d]: sddmm's a, spmmT's g
  w: Float32Array; // [m, d]
}

function sparseCase(sd: number, batch: number, m: number, d: number, p: number): SparseCase {
  const rng = new Rng(sd);
  const idx = selection(rng, batch, m, p);
  return {
    batch,
    m,
    d,
    idx,
    vals: values(rng, idx.length, 'uniform'),
    a: values(rng, batch * d, 'uniform'),
    w: values(rng, m * d, 'uniform'),
  };
}

/** Entry ids grouped by key (row or column), in entry order. */
function groups(n: number, keys: number, key: (i: number) => number): number[][] {
  const out = Array.from({ length: keys }, () => [] as number[]);
  for (let i = 0; i < n; i++) out[key(i)]!.push(i);
  return out;
}

/** (n + 2) * u * sum over the group's entries of |vals[i] * dense[r(i), t]|: the f32 bound for one output. */
function sumBound(
  group: number[],
  vals: Float32Array,
  dense: Float32Array,
  r: (i: number) => number,
  d: number,
  t: number,
): number {
  let sum = 0;
  for (const i of group) sum += Math.abs(vals[i]! * dense[r(i) * d + t]!);
  return (group.length + 2) * U32 * sum;
}

async function checkSparse(c: SparseCase, what: string, gpus?: Backend[]): Promise<void> {
  const { batch, m, d, idx, vals, a, w } = c;
  const nnz = idx.length;
  const row = (i: number) => Math.floor(idx[i]! / m);
  const col = (i: number) => idx[i]! % m;
  const list = gpus ?? (await others());

  const sdTol = (i: number) => (d + 2) * U32 * absDot(a, row(i) * d, w, col(i) * d, d);
  const sddmm = (be: Backend, [as, ws, is, o]: Storage[]) => be.sddmm(o!, as!, ws!, is!, m, d);
  await agree([a, w, idx, new Float32Array(nnz)], sddmm, [3], (name, [got], [ref]) =>
    assertClose(`${name} sddmm ${what}`, got!, ref!, sdTol), list);

  const byRow = groups(nnz, batch, row);
  const spTol = (o: number) => sumBound(byRow[Math.floor(o / d)]!, vals, w, col, d, o % d);
  const spOut = new Float32Array(batch * d).fill(5); // stale contents must be overwritten
  const spmm = (be: Backend, [vs, is, ws, o]: Storage[]) => be.spmm(o!, vs!, is!, m, ws!, batch, d);
  await agree([vals, idx, w, spOut], spmm, [3], (name, [got], [ref]) =>
    assertClose(`${name} spmm ${what}`, got!, ref!, spTol), list);

  // spmmT with g = a: out[c, t] sums vals[i] * a[r_i, t] over column c's entries.
  const byCol = groups(nnz, m, col);
  const stTol = (o: number) => sumBound(byCol[Math.floor(o / d)]!, vals, a, row, d, o % d);
  const stOut = new Float32Array(m * d).fill(-3);
  const spmmT = (be: Backend, [vs, is, gs, o]: Storage[]) => be.spmmT(o!, vs!, is!, m, gs!, d);
  await agree([vals, idx, a, stOut], spmmT, [3], (name, [got], [ref]) =>
    assertClose(`${name} spmmT ${what}`, got!, ref!, stTol), list);
  for (const be of list) {
    const [x] = await exec(be, [vals, idx, a, stOut], (st) => spmmT(be, st), [3]);
    const [y] = await exec(be, [vals, idx, a, stOut], (st) => spmmT(be, st), [3]);
    assertSame(`${be.name} spmmT run-to-run ${what}`, y!, x!);
  }
}

s('sddmm, spmm, spmmT: random shapes (d not a multiple of 4 too) and selections, within the f32 bound', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 70 }),
      size,
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      seed,
      async (batch, m, d, p, sd) => {
        await checkSparse(sparseCase(sd, batch, m, d, p), `B=${batch} m=${m} d=${d} p=${p.toFixed(2)}`);
      },
    ),
    { numRuns: 40 },
  );
});

s('sparse products: empty selection, one dense column (long segment), and a 4 KiB binding limit', async () => {
  await checkSparse(sparseCase(1, 5, 7, 12, 0), 'empty selection');
  // Every row selects column 3: spmmT sums 300 entries in one segment, in a fixed order.
  const dense = sparseCase(2, 300, 9, 8, 0.1);
  const idx = new Set(dense.idx);
  for (let b = 0; b < 300; b++) idx.add(b * 9 + 3);
  const sorted = Int32Array.from([...idx].sort((x, y) => x - y));
  const rng = new Rng(3);
  await checkSparse({ ...dense, idx: sorted, vals: values(rng, sorted.length, 'uniform') }, 'dense column');
  // 4 KiB bindings: a [60, 36] and w [50, 36] (8.6 KB, 7.2 KB) split into row windows; d = 36 and d = 33.
  const small = await smallBinding();
  await checkSparse(sparseCase(4, 60, 50, 36, 0.2), 'small-binding d=36', small);
  await checkSparse(sparseCase(5, 60, 50, 33, 0.2), 'small-binding d=33', small);
});

/**
 * Every row of [batch, m] selects the columns in `full`, and each other entry is kept with probability p.
 * Values are signed odd integers scaled by powers of two from 2^0 to 2^26, and g entries are +-1, +-2 or +-4,
 * so every product is exact while the f32 sum of a column depends on the order of its terms.
 */
function fullColumns(sd: number, batch: number, m: number, d: number, full: number[], p: number): SparseCase {
  const rng = new Rng(sd);
  const idx: number[] = [];
  for (let r = 0; r < batch; r++) {
    for (let c = 0; c < m; c++) if (full.includes(c) || rng.uniform() < p) idx.push(r * m + c);
  }
  const big = () => (rng.int(2) ? 1 : -1) * (2 * rng.int(64) + 1) * 2 ** rng.int(27);
  const small = () => (rng.int(2) ? 1 : -1) * 2 ** rng.int(3);
  return {
    batch,
    m,
    d,
    idx: Int32Array.from(idx),
    vals: Float32Array.from(idx, big),
    a: Float32Array.from({ length: batch * d }, small),
    w: Float32Array.from({ length: m * d }, small),
  };
}

/** spmmT's result when every column adds its (exact) products in f32, in ascending entry order. */
function ascendingSums(c: SparseCase): Float32Array {
  const { m, d, idx, vals, a } = c;
  const out = new Float32Array(m * d);
  idx.forEach((f, i) => {
    const [r, col] = [Math.floor(f / m), f % m];
    for (let t = 0; t < d; t++) out[col * d + t] = Math.fround(out[col * d + t]! + vals[i]! * a[r * d + t]!);
  });
  return out;
}

s('spmmT: columns that hold every row (B up to 2048) sum in ascending entry order, across count tiles', async () => {
  // The grouping walks tiles of >= 256 entries, so each full column spans many tiles; d = 8 and d = 6 take
  // the vec4 and the scalar kernel. m = 3000 makes the (tile, column) table, not the tile size, set the tiles.
  const shapes: [number, number, number, number[], number][] = [
    [2048, 40, 8, [0, 17, 39], 0.05],
    [1500, 40, 6, [3, 4], 0.3],
    [512, 3000, 8, [5, 2999], 0.002],
  ];
  for (const [i, [batch, m, d, full, p]] of shapes.entries()) {
    const c = fullColumns(20 + i, batch, m, d, full, p);
    const what = `full columns B=${batch} m=${m} d=${d}`;
    await checkSparse(c, what);
    const want = ascendingSums(c);
    for (const be of await others()) {
      const [got] = await exec(be, [c.vals, c.idx, c.a, new Float32Array(m * d)], ([vs, is, gs, o]) =>
        be.spmmT(o!, vs!, is!, m, gs!, d), [3]);
      assertSame(`${be.name} spmmT ascending order ${what}`, got!, want);
    }
  }
});

s.run();
