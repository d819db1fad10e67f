// Binding windows over buffers that may exceed one storage binding (a 4096 x 24576 f32 matrix is 402 MB,
// llvmpipe binds at most 128 MiB). A window covers whole units (rows, tiles) of a range of elements; its
// byte offset is aligned down to minStorageBufferOffsetAlignment and the kernel indexes from `shift`.
import type { GpuBinding, GpuContext } from './context.js';

export interface Window {
  /** First element (of the whole buffer) covered. */
  readonly first: number;
  /** Elements covered. */
  readonly count: number;
  /** Index, within the binding, of element `first`. */
  readonly shift: number;
  readonly binding: GpuBinding;
}

/** Bind elements [first, first + count) of a 4-byte-element buffer. */
export function bindRange(ctx: GpuContext, buffer: GPUBuffer, first: number, count: number): Window {
  if (count < 1) throw new Error(`bindRange: empty range`);
  const align = ctx.limits.minStorageBufferOffsetAlignment;
  const offset = Math.floor((first * 4) / align) * align;
  const shift = (first * 4 - offset) / 4;
  const size = (shift + count) * 4;
  if (size > ctx.maxBindingBytes) {
    throw new Error(`bindRange: ${size} bytes exceed the ${ctx.maxBindingBytes}-byte binding limit`);
  }
  return { first, count, shift, binding: { buffer, offset, size } };
}

/**
 * Split elements [first, first + count) into windows of whole `unit`s (the last unit may be partial) that
 * each fit one binding, at most `maxUnits` units per window. Throws when not even one unit fits.
 */
export function windows(
  ctx: GpuContext,
  buffer: GPUBuffer,
  first: number,
  count: number,
  unit: number,
  maxUnits = Infinity,
): Window[] {
  const align = ctx.limits.minStorageBufferOffsetAlignment;
  const out: Window[] = [];
  for (let done = 0; done < count; ) {
    const start = first + done;
    const shiftBytes = (start * 4) % align;
    const fit = Math.min(Math.floor((ctx.maxBindingBytes - shiftBytes) / (unit * 4)), maxUnits);
    if (fit < 1) throw new Error(`windows: a unit of ${unit} elements does not fit one binding`);
    const n = Math.min(count - done, fit * unit);
    out.push(bindRange(ctx, buffer, start, n));
    done += n;
  }
  return out;
}

/** True when a unit of `unit` elements fits one binding wherever it starts. */
export function unitFits(ctx: GpuContext, unit: number): boolean {
  return unit * 4 + ctx.limits.minStorageBufferOffsetAlignment - 4 <= ctx.maxBindingBytes;
}

/** Bind the first `bytes` (a multiple of 4) of a scratch buffer, which may be larger. */
export function head(buffer: GPUBuffer, bytes: number): GpuBinding {
  return { buffer, offset: 0, size: bytes };
}

/** A Params uniform from u32 fields, zero-padded to 16 bytes. */
export function u32s(...fields: number[]): Uint32Array {
  const a = new Uint32Array(Math.ceil(fields.length / 4) * 4);
  fields.forEach((v, i) => (a[i] = v >>> 0));
  return a;
}
