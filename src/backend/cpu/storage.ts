// CPU storage and the cheap argument checks every CPU primitive runs before touching data.
// Checks are O(1) per argument (handle, dtype, length, size arguments); element values are not inspected here.
import type { DType, Storage } from '../backend.js';

/** Host memory behind a CPU storage handle. `free` drops the array so the memory can be collected. */
export class CpuStorage implements Storage {
  data: Float32Array | Int32Array;
  freed = false;
  private bitsView: Int32Array | null = null;

  constructor(
    readonly length: number,
    readonly dtype: DType,
  ) {
    this.data = dtype === 'f32' ? new Float32Array(length) : new Int32Array(length);
  }

  /** The f32 data reinterpreted as i32 bit patterns (for radix select), made once and cached. */
  bits(): Int32Array {
    this.bitsView ??= new Int32Array(this.data.buffer, this.data.byteOffset, this.length);
    return this.bitsView;
  }

  release(): void {
    this.freed = true;
    this.data = this.dtype === 'f32' ? new Float32Array(0) : new Int32Array(0);
    this.bitsView = null;
  }
}

/** The live CpuStorage behind `s`, or a clear error naming the op and the argument. */
export function live(op: string, name: string, s: Storage): CpuStorage {
  if (!(s instanceof CpuStorage)) {
    throw new Error(`${op}: ${name} is not a CPU storage (allocated by another backend?)`);
  }
  if (s.freed) throw new Error(`${op}: ${name} was freed`);
  return s;
}

function checked(op: string, name: string, s: Storage, dtype: DType, expected?: number, expr?: string): CpuStorage {
  const c = live(op, name, s);
  if (c.dtype !== dtype) throw new Error(`${op}: ${name} must be ${dtype}, got ${c.dtype}`);
  if (expected !== undefined && c.length !== expected) {
    throw new Error(`${op}: ${name} has ${c.length} elements, expected ${expr ?? ''}${expr ? ' = ' : ''}${expected}`);
  }
  return c;
}

/** The Float32Array of an f32 storage, optionally of an exact length (`expr` describes it in the error). */
export function f32(op: string, name: string, s: Storage, expected?: number, expr?: string): Float32Array {
  return checked(op, name, s, 'f32', expected, expr).data as Float32Array;
}

/** The Int32Array of an i32 storage, optionally of an exact length. */
export function i32(op: string, name: string, s: Storage, expected?: number, expr?: string): Int32Array {
  return checked(op, name, s, 'i32', expected, expr).data as Int32Array;
}

/** Asserts that a size argument is an integer >= min. */
export function dim(op: string, name: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${op}: ${name} must be an integer >= ${min}, got ${v}`);
}

/** Asserts that two storages are distinct where the op reads one while writing the other. */
export function distinct(op: string, outName: string, out: Storage, inName: string, x: Storage): void {
  if (out === x) throw new Error(`${op}: ${outName} must not be the same storage as ${inName}`);
}
