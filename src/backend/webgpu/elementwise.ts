// Elementwise primitives on the GPU: fill, unary, broadcast binary, Adam. Each processes its tensors in
// windows of at most one storage binding (see chunk.ts), one dispatch per window.
// Aliasing: WebGPU rejects a buffer bound both read-only and writable in one dispatch, so when `out` is
// also an input (allowed by the contract for elementwise ops) that input is first copied to a scratch buffer.
import type { AdamParams, BinaryOp, Broadcast, UnaryOp } from '../backend.js';
import { BINARY_OPS, UNARY_OPS } from '../backend.js';
import { Params, ranges, window, windowElems } from './chunk.js';
import type { GpuContext } from './context.js';
import type { GpuTensor } from './storage.js';

const WG = 128;
const PER = 4;
const MODES: readonly Broadcast[] = ['full', 'row', 'col', 'scalar'];

function groups(ctx: GpuContext, n: number): [number, number] {
  return ctx.grid(Math.ceil(n / (WG * PER)));
}

/** out[i] = the 32-bit pattern `bits` for every element. */
export function fillGpu(ctx: GpuContext, out: GpuTensor, bits: number): void {
  if (out.length === 0) return;
  if (bits === 0) ctx.clear(out.buffer, 0, out.bytes);
  else fillRun(ctx, out.buffer, 0, out.length, bits);
}

/** Elements [start, start + count) of a buffer of 32-bit words = `bits`. */
export function fillRun(ctx: GpuContext, buffer: GPUBuffer, start: number, count: number, bits: number): void {
  for (const [s, c] of ranges(count, windowElems(ctx))) {
    const w = window(ctx, buffer, start + s, c);
    const p = new Params().u32(c).u32(start + s).u32(w.origin).u32(bits >>> 0);
    ctx.dispatch('fill', {}, [w.binding], p.bytes, groups(ctx, c));
  }
}

/** A scratch copy of `t` when it is also the output, else `t`'s own buffer; `done` releases the copy. */
function unaliased(ctx: GpuContext, t: GpuTensor, out: GpuTensor): { buffer: GPUBuffer; done: () => void } {
  if (t.buffer !== out.buffer) return { buffer: t.buffer, done: () => {} };
  const copy = ctx.scratch(t.bytes);
  ctx.copy(t.buffer, 0, copy, 0, t.bytes);
  return { buffer: copy, done: () => ctx.release(copy) };
}

export function unaryGpu(ctx: GpuContext, op: UnaryOp, out: GpuTensor, x: GpuTensor): void {
  if (out.length === 0) return;
  const src = unaliased(ctx, x, out);
  const code = UNARY_OPS.indexOf(op);
  for (const [s, c] of ranges(out.length, windowElems(ctx))) {
    const xw = window(ctx, src.buffer, s, c);
    const ow = window(ctx, out.buffer, s, c);
    const p = new Params().u32(c).u32(s).u32(xw.origin).u32(ow.origin);
    ctx.dispatch('unary', { OP: code }, [xw.binding, ow.binding], p.bytes, groups(ctx, c));
  }
  src.done();
}

/**
 * Windows of the flat [rows, cols] output. When a row-broadcast operand is longer than a window, windows
 * are cut at row boundaries so that each one reads a contiguous piece of that operand.
 */
function* binaryWindows(rows: number, cols: number, E: number, rowOperand: boolean): Generator<[number, number]> {
  if (!rowOperand || cols <= E) {
    yield* ranges(rows * cols, E);
    return;
  }
  for (let r = 0; r < rows; r++) for (const [c0, c] of ranges(cols, E)) yield [r * cols + c0, c];
}

function operandWindow(ctx: GpuContext, buf: GPUBuffer, mode: Broadcast, s: number, c: number, cols: number) {
  switch (mode) {
    case 'full':
      return window(ctx, buf, s, c);
    case 'row':
      return cols <= windowElems(ctx) ? window(ctx, buf, 0, cols) : window(ctx, buf, s % cols, c);
    case 'col': {
      const r0 = Math.floor(s / cols);
      return window(ctx, buf, r0, Math.floor((s + c - 1) / cols) - r0 + 1);
    }
    case 'scalar':
      return window(ctx, buf, 0, 1);
  }
}

export function binaryGpu(
  ctx: GpuContext,
  op: BinaryOp,
  out: GpuTensor,
  a: GpuTensor,
  aMode: Broadcast,
  b: GpuTensor,
  bMode: Broadcast,
  rows: number,
  cols: number,
): void {
  if (rows * cols === 0) return;
  const A = unaliased(ctx, a, out);
  const B = b === a ? A : unaliased(ctx, b, out);
  const E = windowElems(ctx);
  const code = BINARY_OPS.indexOf(op);
  for (const [s, c] of binaryWindows(rows, cols, E, aMode === 'row' || bMode === 'row')) {
    const aw = operandWindow(ctx, A.buffer, aMode, s, c, cols);
    const bw = operandWindow(ctx, B.buffer, bMode, s, c, cols);
    const ow = window(ctx, out.buffer, s, c);
    const p = new Params()
      .u32(c)
      .u32(s)
      .u32(cols)
      .u32(MODES.indexOf(aMode))
      .u32(MODES.indexOf(bMode))
      .u32(aw.origin)
      .u32(bw.origin)
      .u32(ow.origin);
    ctx.dispatch('binary', { OP: code }, [aw.binding, bw.binding, ow.binding], p.bytes, groups(ctx, c));
  }
  A.done();
  if (B !== A) B.done();
}

export function adamGpu(ctx: GpuContext, p: GpuTensor, m: GpuTensor, v: GpuTensor, g: GpuTensor, h: AdamParams): void {
  for (const [s, c] of ranges(p.length, windowElems(ctx))) {
    const ws = [g, p, m, v].map((t) => window(ctx, t.buffer, s, c));
    // The struct has 12 fields; the two zero words past it keep the 64-byte uniform this has always bound.
    const params = new Params()
      .u32(c, s, ws[0]!.origin, 0)
      .f32(h.lr, h.beta1, h.beta2, h.eps, h.bc1, h.bc2, 1 - h.beta1, 1 - h.beta2)
      .u32(0, 0);
    ctx.dispatch('adam', {}, ws.map((w) => w.binding), params.bytes, groups(ctx, c));
  }
}

/** A run of `n` elements of a buffer starting at element `at`. */
export interface Run {
  buffer: GPUBuffer;
  at: number;
}

/**
 * out[i] = op(a[i], b[i]) for i < n over runs of (possibly the same) buffers; out must not overlap a or b.
 * Used by the column reduction's fallback for rows too long to pair in one binding.
 */
export function binaryRuns(ctx: GpuContext, op: BinaryOp, out: Run, a: Run, b: Run, n: number): void {
  const code = BINARY_OPS.indexOf(op);
  for (const [s, c] of ranges(n, windowElems(ctx))) {
    const aw = window(ctx, a.buffer, a.at + s, c);
    const bw = window(ctx, b.buffer, b.at + s, c);
    const ow = window(ctx, out.buffer, out.at + s, c);
    // The kernel indexes operand x at (start + i) - origin; u32 wrap-around makes the shifted origins exact.
    const p = new Params()
      .u32(c)
      .u32(s)
      .u32(n)
      .u32(0)
      .u32(0)
      .u32((aw.origin - a.at) >>> 0)
      .u32((bw.origin - b.at) >>> 0)
      .u32((ow.origin - out.at) >>> 0);
    ctx.dispatch('binary', { OP: code }, [aw.binding, bw.binding, ow.binding], p.bytes, groups(ctx, c));
  }
}
