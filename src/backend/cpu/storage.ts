// CPU storage: host memory behind a storage handle (argument checks are in ../args.ts, shared with WebGPU).
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
