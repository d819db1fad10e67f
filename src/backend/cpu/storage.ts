// CPU storage: host memory behind a storage handle (argument checks are in ../args.ts, shared with WebGPU).
import type { DType, Storage } from '../backend.js';

/** Host memory behind a CPU storage handle. `free` drops the array so the memory can be collected. */
export class CpuStorage implements Storage {
  data: Float32Array | Int32Array;
  freed = false;
  private bitsView: Int32Array | null = null;

  /**
   * @param shared back the data by a SharedArrayBuffer (the fast CPU backend's worker threads read it).
   * @param piece zeroed memory (length * 4 bytes at offset) to use instead of allocating.
   */
  constructor(
    readonly length: number,
    readonly dtype: DType,
    shared = false,
    piece?: { buf: ArrayBuffer | SharedArrayBuffer; offset: number },
  ) {
    const buf = piece?.buf ?? (shared ? new SharedArrayBuffer(length * 4) : new ArrayBuffer(length * 4));
    const offset = piece?.offset ?? 0;
    this.data = dtype === 'f32' ? new Float32Array(buf, offset, length) : new Int32Array(buf, offset, length);
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
