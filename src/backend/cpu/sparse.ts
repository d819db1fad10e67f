// Indexing and sparse products over a top-k selection, for the CPU reference.
// A selection is nnz strictly ascending flat indices f = r*m + c into a [B, m] matrix (as topk makes).
// Index checks (bounds, strict ascent) run inside the main loops: O(nnz), small next to the O(nnz*d) work.
// Dot products and row sums accumulate in f64 and round to f32 once per output element. The loops themselves
// are the range kernels of par_kernels.ts, which the fast CPU backend runs on slices over its threads: one
// definition, so the two backends agree to the bit.
import { sddmmRange, spmmRange, spmmTRange } from './par_kernels.js';

function outOfRange(op: string, i: number, v: number, limit: number, what: string): Error {
  return new Error(`${op}: idx[${i}] = ${v} is out of range [0, ${limit}) (${what})`);
}

function notAscending(op: string, i: number, v: number, prev: number): Error {
  return new Error(`${op}: idx must be strictly ascending, but idx[${i}] = ${v} follows ${prev}`);
}

/** out[i] = x[idx[i]]. */
export function gatherF32(o: Float32Array, x: Float32Array, idx: Int32Array): void {
  const n = idx.length,
    lim = x.length;
  for (let i = 0; i < n; i++) {
    const j = idx[i]!;
    if (j < 0 || j >= lim) throw outOfRange('gather', i, j, lim, 'x.length');
    o[i] = x[j]!;
  }
}

/** out[idx[i]] += src[i] in ascending i (f32 adds, so the result is deterministic). */
export function scatterAddF32(o: Float32Array, src: Float32Array, idx: Int32Array): void {
  const n = idx.length;
  // Check every index before the first add, so a bad index leaves out untouched.
  for (let i = 0; i < n; i++) {
    const j = idx[i]!;
    if (j < 0 || j >= o.length) throw outOfRange('scatterAdd', i, j, o.length, 'out.length');
  }
  for (let i = 0; i < n; i++) {
    const j = idx[i]!;
    o[j] = o[j]! + src[i]!;
  }
}

/** Checks a selection: strictly ascending, within [0, limit). */
export function checkSelection(op: string, idx: Int32Array, limit: number, what: string): void {
  let prev = -1;
  for (let i = 0; i < idx.length; i++) {
    const f = idx[i]!;
    if (f < 0 || f >= limit) throw outOfRange(op, i, f, limit, what);
    if (f <= prev) throw notAscending(op, i, f, prev);
    prev = f;
  }
}

/** out[i] = dot(a[r_i, :], w[c_i, :]); a [B,d], w [m,d]. */
export function sddmmF32(
  o: Float32Array,
  a: Float32Array,
  w: Float32Array,
  idx: Int32Array,
  m: number,
  d: number,
): void {
  checkSelection('sddmm', idx, (a.length / d) * m, 'B*m');
  sddmmRange(o, a, w, idx, m, d, 0, idx.length);
}

/** out[b, :] = sum over entries i of row b of vals[i] * w[c_i, :]; out [batch,d] overwritten, w [m,d]. */
export function spmmF32(
  o: Float32Array,
  vals: Float32Array,
  idx: Int32Array,
  m: number,
  w: Float32Array,
  batch: number,
  d: number,
  acc: Float64Array,
): void {
  checkSelection('spmm', idx, batch * m, 'batch*m');
  spmmRange(o, vals, idx, m, w, d, 0, batch, 0, acc);
}

/**
 * out[c, :] = sum over entries i with c_i = c of vals[i] * g[r_i, :]; out [m,d] overwritten, g [B,d].
 * Entries are grouped by column with a stable counting sort, so each column sums in ascending i (deterministic)
 * into one f64 row accumulator.
 */
export function spmmTF32(
  o: Float32Array,
  vals: Float32Array,
  idx: Int32Array,
  m: number,
  g: Float32Array,
  d: number,
  acc: Float64Array,
): void {
  checkSelection('spmmT', idx, (g.length / d) * m, 'B*m');
  const nnz = idx.length;
  const start = new Int32Array(m + 1);
  for (let i = 0; i < nnz; i++) start[(idx[i]! % m) + 1]!++;
  for (let c = 0; c < m; c++) start[c + 1]! += start[c]!;
  const order = new Int32Array(nnz);
  const fillPos = start.slice(0, m);
  for (let i = 0; i < nnz; i++) order[fillPos[idx[i]! % m]!++] = i;
  spmmTRange(o, vals, idx, m, g, d, start, order, 0, m, acc);
}
