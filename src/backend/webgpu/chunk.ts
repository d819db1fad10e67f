// Windowed bindings: tensors larger than one storage binding (e.g. a 4096 x 24576 f32 matrix, 402 MB, vs
// llvmpipe's 128 MiB) are processed in windows. A window of elements [start, start + count) is bound at
// the largest aligned byte offset <= start * 4; the kernel adds `shift` (elements) to its local index.
/// <reference types="@webgpu/types" />
import type { GpuContext, GpuStorage } from './context.js';

export interface Window {
  /** The binding for @group(0) @binding(i). */
  readonly binding: { buffer: GPUBuffer; offset: number; size: number };
  /** First bound element: the kernel reads element e of the tensor at index e - origin of the binding. */
  readonly origin: number;
}

function align(ctx: GpuContext): number {
  return Math.max(16, ctx.limits.minStorageBufferOffsetAlignment);
}

/** Most elements one window may cover, leaving room for the alignment shift and 16-byte rounding. */
export function windowElems(ctx: GpuContext): number {
  return Math.floor((ctx.maxBindingBytes - align(ctx) - 16) / 4);
}

/** True when the whole tensor fits one binding. */
export function fits(ctx: GpuContext, s: GpuStorage): boolean {
  return s.length <= windowElems(ctx);
}

/** Bind elements [start, start + count) of a buffer. */
export function window(ctx: GpuContext, buffer: GPUBuffer, start: number, count: number): Window {
  const a = align(ctx);
  const offset = Math.floor((start * 4) / a) * a;
  const end = Math.min(buffer.size, Math.ceil(((start + Math.max(count, 1)) * 4) / 16) * 16);
  const size = Math.max(16, end - offset);
  if (size > ctx.maxBindingBytes) {
    throw new Error(`WebGPU: window of ${count} elements (${size} bytes) exceeds the binding limit ${ctx.maxBindingBytes}`);
  }
  return { binding: { buffer, offset, size }, origin: offset / 4 };
}

/** Bind a whole tensor (it must fit one binding). */
export function whole(ctx: GpuContext, s: GpuStorage): Window {
  return window(ctx, s.buffer, 0, s.length);
}

/** Split [0, n) into consecutive ranges of at most `size` elements. */
export function* ranges(n: number, size: number): Generator<[start: number, count: number]> {
  if (size < 1) throw new Error(`WebGPU: window size ${size} < 1`);
  for (let s = 0; s < n; s += size) yield [s, Math.min(size, n - s)];
}

/** A Params uniform built from u32/i32/f32 fields in declaration order (each field 4 bytes). */
export class ParamWriter {
  private readonly view: DataView;
  private at = 0;

  constructor(fields: number) {
    this.view = new DataView(new ArrayBuffer(Math.max(16, Math.ceil((fields * 4) / 16) * 16)));
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`WebGPU: param ${v} is not a u32`);
    this.view.setUint32(this.at, v, true);
    this.at += 4;
    return this;
  }

  i32(v: number): this {
    this.view.setInt32(this.at, v, true);
    this.at += 4;
    return this;
  }

  f32(v: number): this {
    this.view.setFloat32(this.at, v, true);
    this.at += 4;
    return this;
  }

  get bytes(): ArrayBuffer {
    return this.view.buffer as ArrayBuffer;
  }
}
