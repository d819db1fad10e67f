// Range kernels of the fast CPU backend's parallel primitives. Each computes a slice of the output with the
// reference's exact arithmetic (cpu/sparse.ts, cpu.ts adam: same loops, same f64 accumulation, same order),
// so the split over threads changes no bit. They are self-contained (no imports, no closures, no nested
// functions): par.ts ships their source text to the worker threads, so one definition runs on every thread.
// The elementwise ones call the reference's own loops (cpu/elementwise.ts) on slices; par.ts ships those too.
import { binaryF32, unaryF32 } from './elementwise.js';
import type { BinaryOp, UnaryOp } from '../backend.js';
import { findBucket, finishSelect, histTop, key, mergeSelected, SelectScratch, selectRange, split } from './select.js';
import { heapBudget, heapPays, heapRow, siftDown, topkRowSpan } from './row_select.js';

/** Per-row top-k over rows [r0, r1) (the reference's row selection, cpu/row_select.ts, on a slice of rows). */
export function topkRowsRange(out: Int32Array, bits: Int32Array, cols: number, k: number, r0: number, r1: number): void {
  topkRowSpan(out, bits, cols, k, r0, r1, new SelectScratch());
}

/** unary over [i0, i1) (the reference loop on the slice). */
export function unaryRange(op: UnaryOp, o: Float32Array, x: Float32Array, i0: number, i1: number): void {
  unaryF32(op, o.subarray(i0, i1), x.subarray(i0, i1));
}

/**
 * binary over output rows [r0, r1): each operand sliced by its strides (full: rows, col: entries, row and
 * scalar: whole), then the reference loop.
 */
export function binaryRange(
  op: BinaryOp,
  o: Float32Array,
  a: Float32Array,
  as: [number, number],
  b: Float32Array,
  bs: [number, number],
  cols: number,
  r0: number,
  r1: number,
): void {
  const a1 = as[0] === 0 ? a : a.subarray(r0 * as[0], r1 * as[0]);
  const b1 = bs[0] === 0 ? b : b.subarray(r0 * bs[0], r1 * bs[0]);
  binaryF32(op, o.subarray(r0 * cols, r1 * cols), a1, as, b1, bs, r1 - r0, cols);
}

/**
 * sddmm over entries [i0, i1): o[i] = dot(a[r_i], w[c_i]), in f64 with eight partial sums s_j over t = j mod 8
 * combined as ((s0+s4)+(s2+s6)) + ((s1+s5)+(s3+s7)): the order the SIMD kernel (wasm_kernels.ts) computes in
 * its f64x2 lanes, so both give the same bits.
 */
export function sddmmRange(o: Float32Array, a: Float32Array, w: Float32Array, idx: Int32Array, m: number, d: number, i0: number, i1: number): void {
  const d8 = d - (d % 8);
  for (let i = i0; i < i1; i++) {
    const f = idx[i]!;
    const r = Math.floor(f / m),
      c = f - r * m;
    const ao = r * d,
      wo = c * d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0; // prettier-ignore
    for (let t = 0; t < d8; t += 8) {
      s0 += a[ao + t]! * w[wo + t]!;
      s1 += a[ao + t + 1]! * w[wo + t + 1]!;
      s2 += a[ao + t + 2]! * w[wo + t + 2]!;
      s3 += a[ao + t + 3]! * w[wo + t + 3]!;
      s4 += a[ao + t + 4]! * w[wo + t + 4]!;
      s5 += a[ao + t + 5]! * w[wo + t + 5]!;
      s6 += a[ao + t + 6]! * w[wo + t + 6]!;
      s7 += a[ao + t + 7]! * w[wo + t + 7]!;
    }
    // The tail (t = d8 + j) continues partial sum j.
    const n = d - d8;
    if (n > 0) s0 += a[ao + d8]! * w[wo + d8]!;
    if (n > 1) s1 += a[ao + d8 + 1]! * w[wo + d8 + 1]!;
    if (n > 2) s2 += a[ao + d8 + 2]! * w[wo + d8 + 2]!;
    if (n > 3) s3 += a[ao + d8 + 3]! * w[wo + d8 + 3]!;
    if (n > 4) s4 += a[ao + d8 + 4]! * w[wo + d8 + 4]!;
    if (n > 5) s5 += a[ao + d8 + 5]! * w[wo + d8 + 5]!;
    if (n > 6) s6 += a[ao + d8 + 6]! * w[wo + d8 + 6]!;
    o[i] = s0 + s4 + (s2 + s6) + (s1 + s5 + (s3 + s7));
  }
}

/** spmm over rows [b0, b1), whose entries start at i: o[b] = sum over the row's entries of vals[i] * w[c_i]. */
export function spmmRange(o: Float32Array, vals: Float32Array, idx: Int32Array, m: number, w: Float32Array, d: number, b0: number, b1: number, i: number, acc: Float64Array = new Float64Array(d)): void {
  const nnz = idx.length;
  for (let b = b0; b < b1; b++) {
    acc.fill(0, 0, d);
    const rowEnd = (b + 1) * m;
    for (; i < nnz && idx[i]! < rowEnd; i++) {
      const v = vals[i]!;
      const wo = (idx[i]! - b * m) * d;
      for (let t = 0; t < d; t++) acc[t]! += v * w[wo + t]!;
    }
    const oo = b * d;
    for (let t = 0; t < d; t++) o[oo + t] = acc[t]!;
  }
}

/** spmmT over columns [c0, c1), given the entries grouped by column (start [m+1], order [nnz]). */
export function spmmTRange(
  o: Float32Array,
  vals: Float32Array,
  idx: Int32Array,
  m: number,
  g: Float32Array,
  d: number,
  start: Int32Array,
  order: Int32Array,
  c0: number,
  c1: number,
  acc: Float64Array = new Float64Array(d),
): void {
  for (let c = c0; c < c1; c++) {
    acc.fill(0, 0, d);
    for (let e = start[c]!, end = start[c + 1]!; e < end; e++) {
      const i = order[e]!;
      const v = vals[i]!;
      const go = Math.floor(idx[i]! / m) * d;
      for (let t = 0; t < d; t++) acc[t]! += v * g[go + t]!;
    }
    const oo = c * d;
    for (let t = 0; t < d; t++) o[oo + t] = acc[t]!;
  }
}

/** Adam over [i0, i1) (the reference's arithmetic, cpu.ts). */
export function adamRange(
  pv: Float32Array,
  mv: Float32Array,
  vv: Float32Array,
  gv: Float32Array,
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  bc1: number,
  bc2: number,
  i0: number,
  i1: number,
): void {
  for (let i = i0; i < i1; i++) {
    const gi = gv[i]!;
    const mi = Math.fround(b1 * mv[i]! + (1 - b1) * gi);
    const vi = Math.fround(b2 * vv[i]! + (1 - b2) * gi * gi);
    mv[i] = mi;
    vv[i] = vi;
    pv[i] = pv[i]! - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
  }
}

/** BatchTopK pass 1 over [base, end) of one long row: select.ts's top-digit histogram into this thread's hist. */
export function histTopRange(hist: Int32Array, bits: Int32Array, base: number, end: number): void {
  histTop(hist, bits, base, end);
}

/** BatchTopK pass 2 over [base, end): select.ts's split, writing from out[o] and idx/keys[0] (this thread's parts). */
export function splitRange(out: Int32Array, o: number, idx: Int32Array, keys: Int32Array, bits: Int32Array, base: number, end: number, lo: number, hi: number): void {
  split(out, o, idx, keys, bits, base, end, lo, hi);
}

export const RANGE_KERNELS = { sddmmRange, spmmRange, spmmTRange, adamRange, unaryRange, binaryRange, topkRowsRange, histTopRange, splitRange };
/** Functions the kernels call, shipped to the workers with them. */
export const KERNEL_HELPERS = [unaryF32, binaryF32, key, findBucket, histTop, split, selectRange, finishSelect, mergeSelected, SelectScratch, heapPays, heapBudget, siftDown, heapRow, topkRowSpan];
export type RangeKernel = keyof typeof RANGE_KERNELS;
