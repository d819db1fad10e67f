// Row and column reductions (sum, max, min) as repeated passes over [R, C] views, each pass shrinking the
// reduced axis by a block factor, every pass windowed to the binding limit.
//   axis 1: reduce_rows, blocks of WG * per columns per workgroup (four interleaved in-order folds per
//     invocation, then a tree), output [R, nb]; WG and per come from the adapter's tuning.
//   axis 0: reduce_cols, blocks of rb rows per invocation (in-order fold), output [nrb, C].
// A full reduction [1, n] with n = 1e8 takes three axis-1 passes. A sum's error per pass is bounded by the
// depth of its addition tree times 2^-24 * sum|x|: per/4 + 2 + log2(WG) along rows (38 on llvmpipe, 13
// elsewhere), rb = 32 along columns, giving the blocked accuracy the contract asks for.
import type { ReduceOp } from '../backend.js';
import { Params, window, windowElems } from './chunk.js';
import type { GpuContext } from './context.js';
import { binaryRuns } from './elementwise.js';
import type { GpuTensor } from './storage.js';
import type { GpuTuning } from './tuning.js';

const WG = 128;
/** Rows folded by one invocation in reduce_cols. */
const RB = 32;
const OPS: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

interface Src {
  buffer: GPUBuffer;
  rows: number;
  cols: number;
}

export function reduceGpu(ctx: GpuContext, tuning: GpuTuning, op: ReduceOp, out: GpuTensor, x: GpuTensor, rows: number, cols: number, axis: 0 | 1): void {
  const reduced = axis === 1 ? cols : rows;
  if (reduced === 1) {
    ctx.copy(x.buffer, 0, out.buffer, 0, x.bytes);
    return;
  }
  if (axis === 1) reduceRows(ctx, tuning, op, out, { buffer: x.buffer, rows, cols });
  else if (2 * cols <= windowElems(ctx)) reduceCols(ctx, op, out, { buffer: x.buffer, rows, cols });
  else reduceColsPairwise(ctx, op, out, { buffer: x.buffer, rows, cols });
}

/** Runs passes until one value per row remains, writing the last pass to `out`. */
function reduceRows(ctx: GpuContext, tuning: GpuTuning, op: ReduceOp, out: GpuTensor, first: Src): void {
  const E = windowElems(ctx);
  const wg = tuning.reduceWG;
  const per = Math.max(4, Math.min(tuning.reducePer, Math.floor(E / wg / 4) * 4));
  const bs = wg * per;
  let src = first;
  let owned: GPUBuffer | null = null;
  while (src.cols > 1) {
    const nb = Math.ceil(src.cols / bs);
    const dst = nb === 1 ? out.buffer : ctx.scratch(src.rows * nb * 4);
    const total = src.rows * nb;
    // k consecutive workgroups read at most k * bs contiguous elements and write k.
    const k = Math.floor(E / bs);
    for (let g0 = 0; g0 < total; g0 += k) {
      const groups = Math.min(k, total - g0);
      const r0 = Math.floor(g0 / nb);
      const xStart = r0 * src.cols + (g0 - r0 * nb) * bs;
      const gl = g0 + groups - 1;
      const rl = Math.floor(gl / nb);
      const xEnd = rl * src.cols + Math.min(src.cols, (gl - rl * nb + 1) * bs);
      const xw = window(ctx, src.buffer, xStart, xEnd - xStart);
      const ow = window(ctx, dst, g0, groups);
      const p = new Params().u32(groups).u32(g0).u32(src.cols).u32(nb).u32(per).u32(xw.origin).u32(ow.origin);
      ctx.dispatch('reduce_rows', { OP: OPS[op], WG: wg }, [xw.binding, ow.binding], p.bytes, ctx.grid(groups));
    }
    if (owned) ctx.release(owned);
    owned = nb === 1 ? null : dst;
    src = { buffer: dst, rows: src.rows, cols: nb };
  }
}

/** Column passes; requires two rows to fit one binding (2 * cols <= windowElems). */
function reduceCols(ctx: GpuContext, op: ReduceOp, out: GpuTensor, first: Src): void {
  const E = windowElems(ctx);
  const cols = first.cols;
  const ncb = Math.ceil(cols / WG);
  let src = first;
  let owned: GPUBuffer | null = null;
  while (src.rows > 1) {
    const rb = Math.min(RB, Math.floor(E / cols), src.rows);
    const nrb = Math.ceil(src.rows / rb);
    const dst = nrb === 1 ? out.buffer : ctx.scratch(nrb * cols * 4);
    const k = Math.max(1, Math.floor(E / (rb * cols)));
    for (let b0 = 0; b0 < nrb; b0 += k) {
      const blocks = Math.min(k, nrb - b0);
      const xStart = b0 * rb * cols;
      const xEnd = Math.min(src.rows, (b0 + blocks) * rb) * cols;
      const xw = window(ctx, src.buffer, xStart, xEnd - xStart);
      const ow = window(ctx, dst, b0 * cols, blocks * cols);
      const groups = blocks * ncb;
      const p = new Params()
        .u32(groups)
        .u32(b0)
        .u32(ncb)
        .u32(0)
        .u32(cols)
        .u32(src.rows)
        .u32(cols)
        .u32(rb)
        .u32(xw.origin)
        .u32(ow.origin);
      ctx.dispatch('reduce_cols', { OP: OPS[op] }, [xw.binding, ow.binding], p.bytes, ctx.grid(groups));
    }
    if (owned) ctx.release(owned);
    owned = nrb === 1 ? null : dst;
    src = { buffer: dst, rows: nrb, cols };
  }
}

/**
 * Rows longer than half a binding: combine rows pairwise (a balanced tree, so sums stay accurate) with the
 * windowed elementwise kernel, halving the row count each level.
 */
function reduceColsPairwise(ctx: GpuContext, op: ReduceOp, out: GpuTensor, first: Src): void {
  const bop = op === 'sum' ? 'add' : op;
  const cols = first.cols;
  let src = first;
  let owned: GPUBuffer | null = null;
  while (src.rows > 1) {
    const half = Math.ceil(src.rows / 2);
    const dst = half === 1 ? out.buffer : ctx.scratch(half * cols * 4);
    for (let i = 0; i < Math.floor(src.rows / 2); i++) {
      const a = { buffer: src.buffer, at: 2 * i * cols };
      const b = { buffer: src.buffer, at: (2 * i + 1) * cols };
      binaryRuns(ctx, bop, { buffer: dst, at: i * cols }, a, b, cols);
    }
    if (src.rows % 2 === 1) ctx.copy(src.buffer, (src.rows - 1) * cols * 4, dst, (half - 1) * cols * 4, cols * 4);
    if (owned) ctx.release(owned);
    owned = half === 1 ? null : dst;
    src = { buffer: dst, rows: half, cols };
  }
}
