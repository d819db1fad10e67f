// Selections and the sparse ops over them: the heart of the TopK/BatchTopK training step.
// A Selection is a set of entries of a [rows, cols] matrix given by strictly ascending flat indices
// r*cols + c (what the backend's topk produces). Selected values are recomputed at the entries with
// sddmm, so the backward pass touches only selected entries (no dense [B,M] gradient).
// Outputs are allocated 'unset' (each primitive writes all of its output), except densify's, which
// scatterAdd accumulates onto zeros.
import { noGrad, record } from './autodiff/tape.js';
import { Tensor, full, sizeOf } from './tensor.js';
import { reshape } from './ops.js';

export interface Selection {
  /** i32 [K]: strictly ascending flat indices r*cols + c. */
  readonly idx: Tensor;
  readonly rows: number;
  readonly cols: number;
}

/**
 * Per-row top-k of x [R,C] (tie rule: value descending, then column ascending; exactly k per row).
 * Not differentiable: gradients flow through the values recomputed at the selection.
 */
export function topkRows(x: Tensor, k: number): Selection {
  x.assertLive('topk');
  if (x.rank !== 2) throw new Error(`topk: needs a matrix [R,C], got [${x.shape}]`);
  const [rows, cols] = [x.shape[0]!, x.shape[1]!];
  if (!Number.isInteger(k) || k < 1 || k > cols) throw new Error(`topk: k (${k}) must be an integer in [1, ${cols}] for [${x.shape}]`);
  const idx = new Tensor(x.backend, x.backend.alloc(rows * k, 'i32', 'unset'), [rows * k]);
  x.backend.topk(idx.storage, x.storage, rows, cols, k);
  return { idx, rows, cols };
}

/**
 * The kTotal largest entries of the whole matrix x [R,C] (BatchTopK), same tie rule over flat indices:
 * among values equal to the cut, the lowest flat index (earliest row, then column) wins.
 */
export function topkBatch(x: Tensor, kTotal: number): Selection {
  x.assertLive('batchTopk');
  if (x.rank !== 2) throw new Error(`batchTopk: needs a matrix [R,C], got [${x.shape}]`);
  const [rows, cols] = [x.shape[0]!, x.shape[1]!];
  if (!Number.isInteger(kTotal) || kTotal < 1 || kTotal > rows * cols) {
    throw new Error(`batchTopk: k (${kTotal}) must be an integer in [1, ${rows * cols}] for [${x.shape}]`);
  }
  const idx = new Tensor(x.backend, x.backend.alloc(kTotal, 'i32', 'unset'), [kTotal]);
  x.backend.topk(idx.storage, x.storage, 1, rows * cols, kTotal);
  return { idx, rows, cols };
}

function checkSel(op: string, sel: Selection): number {
  sel.idx.assertLive(op);
  if (sel.idx.dtype !== 'i32') throw new Error(`${op}: selection indices must be i32`);
  return sel.idx.size;
}

/** out[i] = dot(a[r_i], w[c_i]): a [R,D], w [C,D] -> [K]. */
export function sddmm(a: Tensor, w: Tensor, sel: Selection): Tensor {
  const K = checkSel('sddmm', sel);
  const d = a.cols;
  if (a.rank !== 2 || a.shape[0] !== sel.rows) throw new Error(`sddmm: a must be [${sel.rows}, D], got [${a.shape}]`);
  if (w.rank !== 2 || w.shape[0] !== sel.cols || w.shape[1] !== d) {
    throw new Error(`sddmm: w must be [${sel.cols}, ${d}], got [${w.shape}]`);
  }
  const out = new Tensor(a.backend, a.backend.alloc(K, 'f32', 'unset'), [K]);
  a.backend.sddmm(out.storage, a.storage, w.storage, sel.idx.storage, sel.cols, d);
  return record('sddmm', [a, w], out, { sel });
}

/**
 * sddmm of centred data: out[i] = dot(xc[r_i], w[c_i]) where xc = x - b for data x (no gradient), computed
 * by the caller outside the tape. Gradients reach b and w: dw = spmmT(g, xc) as sddmm's, and
 * db = -(per-column sums of g) . w, which is sddmm's [R,D] input gradient summed over rows without forming it
 * (one [1,C].[C,D] product instead of a sparse [R,D] product and a reduction).
 */
export function sddmmCentered(xc: Tensor, b: Tensor, w: Tensor, sel: Selection): Tensor {
  if (xc.requiresGrad) throw new Error('sddmmCentered: xc = x - b must be computed without gradient (under noGrad)');
  if (b.size !== xc.cols) throw new Error(`sddmmCentered: b has ${b.size} elements for rows of ${xc.cols}`);
  const out = noGrad(() => sddmm(xc, w, sel));
  return record('sddmmCentered', [b, w], out, { sel, xc });
}

/** out[r] = sum over entries i of row r of vals[i] * w[c_i]: vals [K], w [C,D] -> [R,D]. */
export function spmm(vals: Tensor, sel: Selection, w: Tensor): Tensor {
  const K = checkSel('spmm', sel);
  if (vals.size !== K) throw new Error(`spmm: ${vals.size} values for a selection of ${K} entries`);
  if (w.rank !== 2 || w.shape[0] !== sel.cols) throw new Error(`spmm: w must be [${sel.cols}, D], got [${w.shape}]`);
  const d = w.shape[1]!;
  const out = new Tensor(w.backend, w.backend.alloc(sel.rows * d, 'f32', 'unset'), [sel.rows, d]);
  w.backend.spmm(out.storage, vals.storage, sel.idx.storage, sel.cols, w.storage, sel.rows, d);
  return record('spmm', [vals, w], out, { sel });
}

/** out[c] = sum over entries i with column c of vals[i] * g[r_i]: vals [K], g [R,D] -> [C,D]. */
export function spmmT(vals: Tensor, sel: Selection, g: Tensor): Tensor {
  const K = checkSel('spmmT', sel);
  if (vals.size !== K) throw new Error(`spmmT: ${vals.size} values for a selection of ${K} entries`);
  if (g.rank !== 2 || g.shape[0] !== sel.rows) throw new Error(`spmmT: g must be [${sel.rows}, D], got [${g.shape}]`);
  const d = g.shape[1]!;
  const out = new Tensor(g.backend, g.backend.alloc(sel.cols * d, 'f32', 'unset'), [sel.cols, d]);
  g.backend.spmmT(out.storage, vals.storage, sel.idx.storage, sel.cols, g.storage, d);
  return record('spmmT', [vals, g], out, { sel });
}

/** v[c_i] for each entry: a vector v [C] gathered at the selection's columns -> [K] (sddmm with D = 1). */
export function gatherCols(v: Tensor, sel: Selection): Tensor {
  if (v.size !== sel.cols) throw new Error(`gatherCols: vector of ${v.size} for ${sel.cols} columns`);
  const ones = full(v.backend, [sel.rows, 1], 1);
  return sddmm(ones, reshape(v, [sel.cols, 1]), sel);
}

/** Per-column sums of entry values: out[c] = sum of vals[i] with column c -> [C] (spmmT with D = 1). */
export function sumByCol(vals: Tensor, sel: Selection): Tensor {
  const ones = full(vals.backend, [sel.rows, 1], 1);
  return reshape(spmmT(vals, sel, ones), [sel.cols]);
}

/** The selection as a dense [R,C] matrix holding vals at the entries (for references and metrics). */
export function densify(vals: Tensor, sel: Selection): Tensor {
  const K = checkSel('densify', sel);
  if (vals.size !== K) throw new Error(`densify: ${vals.size} values for ${K} entries`);
  const out = new Tensor(vals.backend, vals.backend.alloc(sizeOf([sel.rows, sel.cols]), 'f32'), [sel.rows, sel.cols]);
  vals.backend.scatterAdd(out.storage, vals.storage, sel.idx.storage);
  return record('densify', [vals], out, { sel });
}

/** x [R,C] read at the selection's flat indices -> [K]. */
export function gatherAt(x: Tensor, sel: Selection): Tensor {
  const K = checkSel('gatherAt', sel);
  if (x.size !== sel.rows * sel.cols) throw new Error(`gatherAt: [${x.shape}] is not [${sel.rows}, ${sel.cols}]`);
  const out = new Tensor(x.backend, x.backend.alloc(K, 'f32', 'unset'), [K]);
  x.backend.gather(out.storage, x.storage, sel.idx.storage);
  return record('gatherAt', [x], out, { sel });
}
