// A buffer pool keyed by (usage, size class). Creating and destroying GPU buffers is slow in Dawn, and a
// training step allocates the same shapes every time, so released buffers are kept for reuse.
// Size classes: powers of two up to 64 KiB, then quarter steps (at most 25% waste per buffer).
// Reuse is safe without waiting for the GPU because all later work on a reused buffer is recorded or
// queued after the work that used it before; destruction of surplus buffers is deferred to trim(), which
// the context calls right after a submit, so no destroyed buffer is ever referenced by unsubmitted commands.
/// <reference types="@webgpu/types" />

export const BUFFER_USAGE = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
} as const;

export const STORAGE_USAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;
/** Indirect dispatch arguments written by a kernel (dispatchWorkgroupsIndirect). */
export const INDIRECT_USAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.INDIRECT | BUFFER_USAGE.COPY_DST;
export const READBACK_USAGE = BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST;

/** Round a request up to its size class (a multiple of 16 bytes, at least 256). */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 16) * 16);
  if (b <= 65536) return 2 ** Math.ceil(Math.log2(b));
  const step = 2 ** (Math.floor(Math.log2(b)) - 2);
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  created: number;
  reused: number;
  destroyed: number;
  freeBytes: number;
  liveBytes: number;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly owned = new WeakSet<GPUBuffer>();
  /** Newly created buffers not yet handed out: their contents are zero, a reused buffer's are not. */
  private readonly fresh = new WeakSet<GPUBuffer>();
  readonly stats: PoolStats = { created: 0, reused: 0, destroyed: 0, freeBytes: 0, liveBytes: 0 };

  /**
   * @param maxFreeBytes surplus free bytes above this are destroyed at the next trim().
   * @param maxBufferBytes the device's maxBufferSize (a size class never exceeds it).
   */
  constructor(
    private readonly device: GPUDevice,
    private readonly maxFreeBytes: number,
    private readonly maxBufferBytes: number,
  ) {}

  acquire(bytes: number, usage: number, label = 'batchtopk'): GPUBuffer {
    const exact = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (exact > this.maxBufferBytes) {
      throw new Error(`WebGPU: buffer of ${bytes} bytes exceeds the device's maxBufferSize ${this.maxBufferBytes}`);
    }
    const size = Math.min(sizeClass(bytes), Math.floor(this.maxBufferBytes / 16) * 16);
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    const hit = list?.pop();
    if (hit) {
      this.stats.reused++;
      this.stats.freeBytes -= size;
      this.stats.liveBytes += size;
      return hit;
    }
    const buf = this.device.createBuffer({ size, usage, label });
    this.owned.add(buf);
    this.fresh.add(buf);
    this.stats.created++;
    this.stats.liveBytes += size;
    return buf;
  }

  /** True once for a newly created buffer (its contents are zero), false for a reused one. */
  takeFresh(buf: GPUBuffer): boolean {
    return this.fresh.delete(buf);
  }

  release(buf: GPUBuffer): void {
    if (!this.owned.has(buf)) throw new Error('WebGPU: release of a buffer the pool does not own');
    this.fresh.delete(buf);
    const key = `${buf.usage}:${buf.size}`;
    const list = this.free.get(key) ?? [];
    if (list.includes(buf)) throw new Error('WebGPU: buffer released twice');
    list.push(buf);
    this.free.set(key, list);
    this.stats.freeBytes += buf.size;
    this.stats.liveBytes -= buf.size;
  }

  /** Destroy free buffers (largest first) until the free bytes fit the budget. Call only right after a submit. */
  trim(): void {
    if (this.stats.freeBytes <= this.maxFreeBytes) return;
    const lists = [...this.free.values()].sort((a, b) => (b[0]?.size ?? 0) - (a[0]?.size ?? 0));
    for (const list of lists) {
      while (list.length > 0 && this.stats.freeBytes > this.maxFreeBytes) {
        const buf = list.pop()!;
        this.stats.freeBytes -= buf.size;
        this.stats.destroyed++;
        this.owned.delete(buf);
        buf.destroy();
      }
    }
  }

  /** Destroy every free buffer (device teardown). */
  clear(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.freeBytes = 0;
  }
}
