// WebGPU implementation of the ModelOps primitives (model_ops.ts), installed on WebGpuBackend by webgpu.ts.
// Tensors larger than one binding are processed in row blocks (sequence blocks for attention): every tensor
// of a block is bound as a window (chunk.ts) and the kernel subtracts each window's origin. Small side
// tensors (gains, biases, rope tables, positions) are bound whole.
import { ArgChecks } from '../args.js';
import type { Storage } from '../backend.js';
import { checkModelArgs } from '../model_args.js';
import type { ActOp, ModelOps, NormKind, RopeStyle } from '../model_ops.js';
import { Params, ranges, window, windowElems } from './chunk.js';
import type { GpuContext } from './context.js';
import { GpuTensor } from './storage.js';

const args = checkModelArgs(new ArgChecks((s): s is GpuTensor => s instanceof GpuTensor, 'WebGPU'));
const WG = 128;

/** The backend object these methods run on (WebGpuBackend exposes its context as `ctx`). */
interface HasCtx {
  readonly ctx: GpuContext;
}

/** Blocks [first, count) of `units` units of `width` elements each, each block fitting one window. */
function blocks(ctx: GpuContext, units: number, width: number): Generator<[number, number]> {
  const per = Math.floor(windowElems(ctx) / Math.max(1, width));
  if (per < 1) throw new Error(`WebGPU: a row of ${width} elements does not fit one storage binding`);
  return ranges(units, per);
}

function whole(ctx: GpuContext, t: GpuTensor) {
  return window(ctx, t.buffer, 0, t.length).binding;
}

export const webgpuModelOps: ModelOps & ThisType<HasCtx> = {
  norm(this: HasCtx, kind: NormKind, out: Storage, x: Storage, w: Storage, b: Storage | null, rows: number, cols: number, eps: number): void {
    const [o, xv, wv, bv] = args.norm(kind, out, x, w, b, rows, cols, eps);
    const ctx = this.ctx;
    for (const [r0, n] of blocks(ctx, rows, cols)) {
      const xw = window(ctx, xv.buffer, r0 * cols, n * cols);
      const ow = window(ctx, o.buffer, r0 * cols, n * cols);
      const p = new Params().u32(n, cols, r0, xw.origin, ow.origin).f32(eps);
      const bb = whole(ctx, bv ?? wv);
      ctx.dispatch('row_norm', { KIND: kind === 'rms' ? 0 : 1 }, [xw.binding, whole(ctx, wv), bb, ow.binding], p.bytes, ctx.grid(n));
    }
  },

  act(this: HasCtx, op: ActOp, out: Storage, x: Storage): void {
    const [o, xv] = args.act(op, out, x);
    const ctx = this.ctx;
    for (const [s, c] of ranges(o.length, windowElems(ctx))) {
      const xw = window(ctx, xv.buffer, s, c);
      const ow = window(ctx, o.buffer, s, c);
      const p = new Params().u32(c, s, xw.origin, ow.origin);
      ctx.dispatch('act', { OP: op === 'silu' ? 0 : 1 }, [xw.binding, ow.binding], p.bytes, ctx.grid(Math.ceil(c / WG)));
    }
  },

  rope(this: HasCtx, style: RopeStyle, out: Storage, x: Storage, pos: Storage, cos: Storage, sin: Storage, rows: number, heads: number, headDim: number): void {
    const [o, xv, pv, cv, sv] = args.rope(style, out, x, pos, cos, sin, rows, heads, headDim);
    const ctx = this.ctx;
    const half = headDim / 2;
    const width = heads * headDim;
    for (const [r0, n] of blocks(ctx, rows, width)) {
      const xw = window(ctx, xv.buffer, r0 * width, n * width);
      const ow = window(ctx, o.buffer, r0 * width, n * width);
      const pairs = n * heads * half;
      const p = new Params().u32(pairs, heads, half, r0, xw.origin, ow.origin, cv.length / half);
      ctx.dispatch(
        'rope',
        { STYLE: style === 'interleaved' ? 0 : 1 },
        [xw.binding, whole(ctx, pv), whole(ctx, cv), whole(ctx, sv), ow.binding],
        p.bytes,
        ctx.grid(Math.ceil(pairs / WG)),
      );
    }
  },

  attention(this: HasCtx, out: Storage, q: Storage, k: Storage, v: Storage, seqs: number, len: number, heads: number, kvHeads: number, headDim: number, scale: number): void {
    const [o, qv, kv, vv] = args.attention(out, q, k, v, seqs, len, heads, kvHeads, headDim, scale);
    const ctx = this.ctx;
    const qw = len * heads * headDim;
    const kw = len * kvHeads * headDim;
    for (const [s0, n] of blocks(ctx, seqs, Math.max(qw, kw))) {
      const qwin = window(ctx, qv.buffer, s0 * qw, n * qw);
      const kwin = window(ctx, kv.buffer, s0 * kw, n * kw);
      const vwin = window(ctx, vv.buffer, s0 * kw, n * kw);
      const owin = window(ctx, o.buffer, s0 * qw, n * qw);
      const count = n * len * heads;
      const p = new Params()
        .u32(count, len, heads, kvHeads, headDim, s0, qwin.origin, kwin.origin, vwin.origin, owin.origin)
        .f32(scale);
      ctx.dispatch('attention', {}, [qwin.binding, kwin.binding, vwin.binding, owin.binding], p.bytes, ctx.grid(Math.ceil(count / 64)));
    }
  },

  logSoftmax(this: HasCtx, out: Storage, x: Storage, rows: number, cols: number): void {
    const [o, xv] = args.logSoftmax(out, x, rows, cols);
    const ctx = this.ctx;
    for (const [r0, n] of blocks(ctx, rows, cols)) {
      const xw = window(ctx, xv.buffer, r0 * cols, n * cols);
      const ow = window(ctx, o.buffer, r0 * cols, n * cols);
      const p = new Params().u32(n, cols, r0, xw.origin, ow.origin);
      ctx.dispatch('log_softmax', {}, [xw.binding, ow.binding], p.bytes, ctx.grid(n));
    }
  },
};
