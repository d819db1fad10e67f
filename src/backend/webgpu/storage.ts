// GPU storage handles and the O(1) argument checks every WebGPU primitive runs before recording work
// (the same checks and messages as the CPU backend's, so a misuse fails the same way on both).
/// <reference types="@webgpu/types" />
import type { DType, Storage } from '../backend.js';
import type { GpuStorage } from './context.js';

export class GpuTensor implements GpuStorage {
  freed = false;

  constructor(
    readonly length: number,
    readonly dtype: DType,
    readonly buffer: GPUBuffer,
  ) {}

  get bytes(): number {
    return this.length * 4;
  }
}

/** The live GpuTensor behind `s`, or a clear error naming the op and the argument. */
export function live(op: string, name: string, s: Storage): GpuTensor {
  if (!(s instanceof GpuTensor)) throw new Error(`${op}: ${name} is not a WebGPU storage (allocated by another backend?)`);
  if (s.freed) throw new Error(`${op}: ${name} was freed`);
  return s;
}

export function typed(op: string, name: string, s: Storage, dtype: DType, expected?: number, expr?: string): GpuTensor {
  const t = live(op, name, s);
  if (t.dtype !== dtype) throw new Error(`${op}: ${name} must be ${dtype}, got ${t.dtype}`);
  if (expected !== undefined && t.length !== expected) {
    throw new Error(`${op}: ${name} has ${t.length} elements, expected ${expr ?? ''}${expr ? ' = ' : ''}${expected}`);
  }
  return t;
}

export function f32(op: string, name: string, s: Storage, expected?: number, expr?: string): GpuTensor {
  return typed(op, name, s, 'f32', expected, expr);
}

export function i32(op: string, name: string, s: Storage, expected?: number, expr?: string): GpuTensor {
  return typed(op, name, s, 'i32', expected, expr);
}

/** Asserts that a size argument is an integer >= min. */
export function dim(op: string, name: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${op}: ${name} must be an integer >= ${min}, got ${v}`);
}

/** Asserts that two storages are distinct where the op reads one while writing the other. */
export function distinct(op: string, outName: string, out: Storage, inName: string, x: Storage): void {
  if (out === x) throw new Error(`${op}: ${outName} must not be the same storage as ${inName}`);
}
