// Row and column reductions for the CPU reference.
// Sums accumulate in f64 (JS numbers) and round to f32 once: for n terms the error is at most
// 2^-24 |sum| + n * 2^-53 * sum|x|, which for n up to 2^27 (a [4096, 24576] matrix) is still within about one
// f32 ulp of sum|x| -- better than the f32 pairwise accuracy the contract asks for.
import type { ReduceOp } from '../backend.js';

/** out[r] = op over c of x[r,c]. Four interleaved sum accumulators break the add latency chain. */
function reduceRows(op: ReduceOp, o: Float32Array, x: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const s = r * cols,
      e = s + cols;
    if (op === 'sum') {
      let a0 = 0,
        a1 = 0,
        a2 = 0,
        a3 = 0;
      let i = s;
      for (; i + 4 <= e; i += 4) {
        a0 += x[i]!;
        a1 += x[i + 1]!;
        a2 += x[i + 2]!;
        a3 += x[i + 3]!;
      }
      for (; i < e; i++) a0 += x[i]!;
      o[r] = a0 + a1 + (a2 + a3);
    } else if (op === 'max') {
      let m = x[s]!;
      for (let i = s + 1; i < e; i++) if (x[i]! > m) m = x[i]!;
      o[r] = m;
    } else {
      let m = x[s]!;
      for (let i = s + 1; i < e; i++) if (x[i]! < m) m = x[i]!;
      o[r] = m;
    }
  }
}

/** out[c] = op over r of x[r,c], walking x row by row (contiguous) into a per-column accumulator. */
function reduceCols(
  op: ReduceOp,
  o: Float32Array,
  x: Float32Array,
  rows: number,
  cols: number,
  acc: Float64Array,
): void {
  for (let c = 0; c < cols; c++) acc[c] = x[c]!;
  for (let r = 1; r < rows; r++) {
    const s = r * cols;
    if (op === 'sum') {
      for (let c = 0; c < cols; c++) acc[c]! += x[s + c]!;
    } else if (op === 'max') {
      for (let c = 0; c < cols; c++) if (x[s + c]! > acc[c]!) acc[c] = x[s + c]!;
    } else {
      for (let c = 0; c < cols; c++) if (x[s + c]! < acc[c]!) acc[c] = x[s + c]!;
    }
  }
  for (let c = 0; c < cols; c++) o[c] = acc[c]!;
}

/** Reduce an [rows, cols] matrix along `axis` (rows, cols >= 1, validated by the caller). */
export function reduceF32(
  op: ReduceOp,
  o: Float32Array,
  x: Float32Array,
  rows: number,
  cols: number,
  axis: 0 | 1,
): void {
  if (op !== 'sum' && op !== 'max' && op !== 'min') throw new Error(`reduce: unknown op '${String(op)}'`);
  if (axis === 1) reduceRows(op, o, x, rows, cols);
  else reduceCols(op, o, x, rows, cols, new Float64Array(cols));
}
