// The WebGPU context shared by every WebGPU kernel module: device, limits, pipeline cache, recording and
// readback. Kernel modules (elementwise, matmul, selection, sparse) only ever see this interface.
/// <reference types="@webgpu/types" />
import type { Storage } from '../backend.js';
import type { GpuBinding, KernelCall, Recorder, Workgroups } from './recorder.js';

export type { GpuBinding };

/**
 * Storage on the GPU: one GPUBuffer, possibly larger than one binding. The buffer comes from a pool, so its
 * size is a size class >= length * 4 (a multiple of 16): bind `{ buffer, offset, size }` windows (see
 * chunk.ts) rather than relying on arrayLength() of a whole-buffer binding.
 */
export interface GpuStorage extends Storage {
  readonly buffer: GPUBuffer;
}

export interface GpuContext {
  readonly device: GPUDevice;
  /** The limits actually granted to the device. */
  readonly limits: GPUSupportedLimits;
  /** Largest byte size one storage binding may have (device limit, or lowered for tests to force chunking). */
  readonly maxBindingBytes: number;
  /**
   * Record one compute dispatch of `kernels/<kernel>.wgsl`, entry point `main`, pipeline cached by
   * kernel name + JSON of `constants` (WGSL `override` values). `bindings[i]` goes to @group(0) @binding(i);
   * when `params` is non-null its bytes (a Uniform struct, 16-byte padded by the context) go to a fresh
   * uniform slot bound at @binding(bindings.length): every dispatch gets its own slot, so two dispatches
   * in one command buffer never see each other's params. `workgroups` = [x, y, z], each <= 65535.
   * Dispatches execute in recording order; work is batched and submitted on flush()/read.
   */
  dispatch(...call: [...KernelCall, workgroups: Workgroups]): void;
  /**
   * As dispatch, with the workgroup counts read on the device from three u32 at `offset` of `args` (a buffer
   * from indirectScratch), written there by an earlier kernel.
   */
  dispatchIndirect(...call: [...KernelCall, args: GPUBuffer, offset: number]): void;
  /** A pooled buffer of >= bytes for indirect arguments (STORAGE|INDIRECT|COPY_DST); release() returns it. */
  indirectScratch(bytes: number): GPUBuffer;
  /** Split `n` workgroups into an [x, y] grid with x, y <= 65535 (kernels compute id = wg.x + wg.y * nx). */
  grid(n: number): [number, number];
  /** A temporary storage buffer of >= bytes (STORAGE|COPY_SRC|COPY_DST), pooled; contents not guaranteed zero. */
  scratch(bytes: number): GPUBuffer;
  /** Return a scratch buffer to the pool (safe even if recorded work still uses it: reuse is queue-ordered). */
  release(buf: GPUBuffer): void;
  /** Record a buffer clear (zero) of a range. */
  clear(buf: GPUBuffer, offset?: number, size?: number): void;
  /** Record a buffer-to-buffer copy. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void;
  /** Submit everything recorded so far. */
  flush(): void;
  /** Submit, then read `size` bytes of `buf` from `offset` back to the host. */
  readBytes(buf: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer>;
}

/**
 * The GpuContext implementation: a view of one shared Recorder with its own binding limit, so a spec can
 * force windowed processing on the shared device (`withBindingLimit`) without a second device.
 */
export class WebGpuContext implements GpuContext {
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  readonly maxBindingBytes: number;

  constructor(
    readonly recorder: Recorder,
    maxBindingBytes?: number,
  ) {
    this.device = recorder.device;
    this.limits = recorder.limits;
    const deviceMax = this.limits.maxStorageBufferBindingSize;
    const align = Math.max(16, this.limits.minStorageBufferOffsetAlignment);
    const want = Math.min(deviceMax, maxBindingBytes ?? deviceMax);
    if (want < Math.max(4096, 4 * align)) {
      throw new Error(`WebGPU: maxBindingBytes ${want} is below the minimum ${Math.max(4096, 4 * align)}`);
    }
    this.maxBindingBytes = Math.floor(want / align) * align;
  }

  /** The same device and recording state, with a lower binding limit (forces windowing in specs). */
  withBindingLimit(bytes: number): WebGpuContext {
    return new WebGpuContext(this.recorder, bytes);
  }

  // Recording is the recorder's: the context hands dispatches straight on.
  readonly dispatch: GpuContext['dispatch'] = (...call) => this.recorder.dispatch(...call);
  readonly dispatchIndirect: GpuContext['dispatchIndirect'] = (...call) => this.recorder.dispatchIndirect(...call);

  indirectScratch(bytes: number): GPUBuffer {
    return this.recorder.acquireIndirect(bytes);
  }

  grid(n: number): [number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (n <= max) return [n, 1];
    const y = Math.ceil(n / max);
    if (y > max) throw new Error(`WebGPU: ${n} workgroups exceed a ${max} x ${max} grid`);
    return [Math.ceil(n / y), y];
  }

  scratch(bytes: number): GPUBuffer {
    return this.recorder.acquire(bytes, 'batchtopk-scratch');
  }

  release(buf: GPUBuffer): void {
    this.recorder.release(buf);
  }

  clear(buf: GPUBuffer, offset?: number, size?: number): void {
    this.recorder.clear(buf, offset, size);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.recorder.copy(src, srcOffset, dst, dstOffset, size);
  }

  flush(): void {
    this.recorder.flush();
  }

  readBytes(buf: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    return this.recorder.readBytes(buf, offset, size);
  }
}
