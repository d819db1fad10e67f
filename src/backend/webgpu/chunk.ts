// Windowed bindings: tensors larger than one storage binding (e.g. a 4096 x 24576 f32 matrix, 402 MB, vs
// llvmpipe's 128 MiB) are processed in windows. A window of elements [first, first + count) is bound at the
// largest aligned byte offset <= first * 4, so the kernel finds element `first` at index `shift` of the
// binding (equivalently, element e at index e - origin). Windows are cut either into equal spans of at most
// windowElems (ranges) or into whole units (rows, tiles) that fit wherever they start (windows).
/// <reference types="@webgpu/types" />
import type { GpuContext } from './context.js';

/** A byte range of a buffer, bound at @group(0) @binding(i). */
export interface WindowBinding {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

export interface Window {
  /** First element (of the whole buffer) covered. */
  readonly first: number;
  /** Elements covered. */
  readonly count: number;
  /** Index, within the binding, of element `first`. */
  readonly shift: number;
  /** Element bound at index 0 (first - shift): the kernel reads element e at index e - origin. */
  readonly origin: number;
  readonly binding: WindowBinding;
}

/**
 * Offset alignment of a window. WebGPU guarantees minStorageBufferOffsetAlignment >= 32, so this is the
 * device's alignment; the floor of 16 keeps vec4 views of a window aligned whatever an adapter reports.
 */
function align(ctx: GpuContext): number {
  return Math.max(16, ctx.limits.minStorageBufferOffsetAlignment);
}

/** Most elements one padded window may cover, leaving room for the alignment shift and 16-byte rounding. */
export function windowElems(ctx: GpuContext): number {
  return Math.floor((ctx.maxBindingBytes - align(ctx) - 16) / 4);
}

function at(ctx: GpuContext, buffer: GPUBuffer, first: number, count: number, end: number): Window {
  const a = align(ctx);
  const offset = Math.floor((first * 4) / a) * a;
  const size = end - offset;
  if (size > ctx.maxBindingBytes) {
    throw new Error(`WebGPU: window of ${count} elements (${size} bytes) exceeds the binding limit ${ctx.maxBindingBytes}`);
  }
  const origin = offset / 4;
  return { first, count, shift: first - origin, origin, binding: { buffer, offset, size } };
}

/**
 * Bind elements [first, first + count) of a buffer of 4-byte elements, the size rounded up to whole 16
 * bytes (clamped to the buffer's end, at least 16 bytes; an empty window binds one element).
 */
export function window(ctx: GpuContext, buffer: GPUBuffer, first: number, count: number): Window {
  const a = align(ctx);
  const offset = Math.floor((first * 4) / a) * a;
  const end = Math.min(buffer.size, Math.ceil(((first + Math.max(count, 1)) * 4) / 16) * 16);
  return at(ctx, buffer, first, count, offset + Math.max(16, end - offset));
}

/** Bind exactly elements [first, first + count) (count >= 1) of a buffer of 4-byte elements. */
export function exactWindow(ctx: GpuContext, buffer: GPUBuffer, first: number, count: number): Window {
  if (count < 1) throw new Error(`WebGPU: empty window at element ${first}`);
  return at(ctx, buffer, first, count, (first + count) * 4);
}

/** Split [0, n) into consecutive ranges of at most `size` elements. */
export function* ranges(n: number, size: number): Generator<[start: number, count: number]> {
  if (size < 1) throw new Error(`WebGPU: window size ${size} < 1`);
  for (let s = 0; s < n; s += size) yield [s, Math.min(size, n - s)];
}

/**
 * Split elements [first, first + count) into exact windows of whole `unit`s (the last unit may be partial)
 * that each fit one binding, at most `maxUnits` units per window. Throws when not even one unit fits.
 */
export function windows(
  ctx: GpuContext,
  buffer: GPUBuffer,
  first: number,
  count: number,
  unit: number,
  maxUnits = Infinity,
): Window[] {
  const a = align(ctx);
  const out: Window[] = [];
  for (let done = 0; done < count; ) {
    const start = first + done;
    const fit = Math.min(Math.floor((ctx.maxBindingBytes - ((start * 4) % a)) / (unit * 4)), maxUnits);
    if (fit < 1) throw new Error(`WebGPU: a unit of ${unit} elements does not fit one binding`);
    const n = Math.min(count - done, fit * unit);
    out.push(exactWindow(ctx, buffer, start, n));
    done += n;
  }
  return out;
}

/** True when a unit of `unit` elements fits one exact window wherever it starts. */
export function unitFits(ctx: GpuContext, unit: number): boolean {
  return unit * 4 + align(ctx) - 4 <= ctx.maxBindingBytes;
}

/**
 * Entries per invocation for a tile of `wg` invocations: `want`, halved (never below `floor`) until the tile
 * (wg * items f32) fits one binding wherever it starts.
 */
export function tileItems(ctx: GpuContext, wg: number, want: number, floor: number): number {
  let items = want;
  while (items > floor && !unitFits(ctx, wg * items)) items >>= 1;
  return items;
}

/** Bind the first `bytes` (a multiple of 4) of a scratch buffer, which may be larger. */
export function head(buffer: GPUBuffer, bytes: number): WindowBinding {
  return { buffer, offset: 0, size: bytes };
}

/** A Params uniform built from u32/f32 fields in declaration order (each 4 bytes), zero-padded to 16 bytes. */
export class Params {
  private readonly fields: ((view: DataView, at: number) => void)[] = [];

  u32(...values: number[]): this {
    for (const v of values) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`WebGPU: param ${v} is not a u32`);
      this.fields.push((view, at) => view.setUint32(at, v, true));
    }
    return this;
  }

  f32(...values: number[]): this {
    for (const v of values) this.fields.push((view, at) => view.setFloat32(at, v, true));
    return this;
  }

  get bytes(): ArrayBuffer {
    const view = new DataView(new ArrayBuffer(Math.max(16, Math.ceil((this.fields.length * 4) / 16) * 16)));
    this.fields.forEach((set, i) => set(view, i * 4));
    return view.buffer as ArrayBuffer;
  }
}
