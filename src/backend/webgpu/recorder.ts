// The shared recording state behind every GpuContext view: one command encoder that collects dispatches,
// clears and copies until a flush (on read, sync, write, a full uniform arena, or every MAX_DISPATCHES),
// per-dispatch uniform slots, the buffer pool, and error surfacing.
// Errors (shader compile errors, validation errors, device loss) arrive asynchronously; they are stored
// and thrown by the next call that can throw (dispatch, write, read, sync), then cleared so a test that
// provokes one can keep using the shared device. Throwing also discards the unsubmitted batch (its
// encoder may be invalid): work recorded in the same batch as a failing command is lost with it.
/// <reference types="@webgpu/types" />
import { BufferPool, BUFFER_USAGE, INDIRECT_USAGE, READBACK_USAGE, STORAGE_USAGE } from './pool.js';
import { PipelineCache } from './pipelines.js';

/**
 * A kernel call: `kernels/<kernel>.wgsl` with its override constants, its storage bindings (@binding(i)) and
 * the bytes of its uniform parameters (or null). A dispatch adds its workgroup counts [x, y?, z?].
 */
export type KernelCall = [kernel: string, constants: Record<string, number>, bindings: GpuBinding[], params: ArrayBuffer | ArrayBufferView | null];
export type Workgroups = [number, number?, number?];

/** A dispatch's parameter bytes, copied: callers may reuse their array before recorded work runs. */
export function copyParams(params: ArrayBuffer | ArrayBufferView | null): ArrayBuffer | null {
  if (params === null) return null;
  return ArrayBuffer.isView(params) ? new Uint8Array(params.buffer, params.byteOffset, params.byteLength).slice().buffer : params.slice(0);
}

/** A binding: a whole buffer or a byte window of it (offset a multiple of minStorageBufferOffsetAlignment). */
export type GpuBinding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

const MAP_MODE_READ = 0x1;
/** Dispatches per submit: large enough to amortise submit cost, small enough to keep the GPU fed. */
const MAX_DISPATCHES = 256;
const UNIFORM_ARENA_BYTES = 256 * 1024;

import type { CapturedCommand } from '../backend.js';

export type { CapturedCommand } from '../backend.js';

interface Indirect {
  args: GPUBuffer;
  offset: number;
}

export class Recorder {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly limits: GPUSupportedLimits;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatches = 0;
  private readonly uniformBuf: GPUBuffer;
  private readonly arena = new Uint8Array(UNIFORM_ARENA_BYTES);
  private arenaUsed = 0;
  private readonly uniformAlign: number;
  private error: Error | null = null;
  /** A follow-on error ("invalid due to a previous error") whose cause has not been seen (yet). */
  private cascade: Error | null = null;
  private causesSeen = 0;
  private lastKernel = '(none)';
  private destroyed = false;
  /** Counters for specs and benchmarks (physical: every submit, the profiler's timing submits included). */
  readonly stats = { submits: 0, dispatches: 0 };
  /**
   * The work's own activity (Backend.counters): submits counted per batch of work, so a profiler that
   * replays each kernel in its own submission (flush(true)) leaves them as the plain run has them.
   */
  readonly counters = { dispatches: 0, submits: 0, readbacks: 0, readbackBytes: 0, uploadBytes: 0 };
  /** Work recorded since the last counted submit, and dispatches in it. */
  private batchOpen = false;
  private batchDispatches = 0;
  /** readLater copies waiting for their batch to be submitted. */
  private laterReads: { staging: GPUBuffer; span: number; skip: number; size: number; resolve: (b: ArrayBuffer) => void; reject: (e: Error) => void }[] = [];
  /** Profiling with timestamp-query: the next compute pass writes its begin/end times here. */
  passTimestamps: GPUComputePassTimestampWrites | null = null;
  /**
   * Profiling (backend/profile.ts): while set, dispatches, clears, copies and scratch releases are captured
   * here, in order, instead of being recorded, so the profiler can run them one at a time with a sync after each.
   */
  capture: CapturedCommand[] | null = null;

  constructor(readonly device: GPUDevice) {
    this.limits = device.limits;
    this.uniformAlign = device.limits.minUniformBufferOffsetAlignment;
    const maxFree = Math.min(2 ** 30, device.limits.maxBufferSize * 2);
    this.pool = new BufferPool(device, maxFree, device.limits.maxBufferSize);
    this.pipelines = new PipelineCache(device);
    this.uniformBuf = device.createBuffer({
      size: UNIFORM_ARENA_BYTES,
      usage: BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST,
      label: 'batchtopk-uniforms',
    });
    device.addEventListener('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error.message;
      const err = new Error(`WebGPU device error (last kernel dispatched: ${this.lastKernel}): ${msg}`);
      if (/invalid due to a previous error/.test(msg)) this.followOn(err);
      else this.fail(err);
    });
    void device.lost.then((info) => {
      if (!this.destroyed) this.fail(new Error(`WebGPU device lost (${info.reason}): ${info.message}`));
    });
  }

  private fail(err: Error): void {
    this.causesSeen++;
    this.error ??= err;
  }

  /**
   * Dawn reports every use of an invalid object again. Those follow-on errors are dropped once a cause has
   * been reported (their cause was or will be thrown), and kept only in case the cause never shows up.
   */
  private followOn(err: Error): void {
    if (this.causesSeen === 0) this.cascade ??= err;
  }

  /** Throw (and clear) a pending asynchronous error. */
  check(): void {
    if (this.destroyed) throw new Error('WebGPU: backend used after dispose()');
    const e = this.error;
    if (e) {
      this.error = null;
      this.cascade = null;
      this.causesSeen = 0;
      this.discard();
      throw e;
    }
  }

  /** Drop unsubmitted work: after an error its encoder may be invalid, which would sink later work with it. */
  private discard(): void {
    this.pass = null;
    this.encoder = null;
    this.arenaUsed = 0;
    this.dispatches = 0;
  }

  /** Wait for pending compile checks, then throw any pending error (a cause before a follow-on). */
  async settle(): Promise<void> {
    const compileError = await this.pipelines.settle();
    if (compileError) this.fail(new Error(compileError));
    this.check();
    const c = this.cascade;
    if (c) {
      this.cascade = null;
      this.discard();
      throw c;
    }
  }

  private enc(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'batchtopk' });
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      const ts = this.passTimestamps;
      this.pass = this.enc().beginComputePass(ts ? { label: 'batchtopk', timestampWrites: ts } : { label: 'batchtopk' });
    }
    return this.pass;
  }

  /** Work was recorded (a dispatch counts towards the batch limit). */
  private noteWork(dispatch: boolean): void {
    this.batchOpen = true;
    if (!dispatch) return;
    this.counters.dispatches++;
    if (++this.batchDispatches >= MAX_DISPATCHES) this.endBatch();
  }

  private endBatch(): void {
    if (!this.batchOpen) return;
    this.counters.submits++;
    this.batchOpen = false;
    this.batchDispatches = 0;
  }

  /** Record resolving a timestamp query set into `dst` (QUERY_RESOLVE usage) and copying it to `staging`. */
  resolveTimestamps(querySet: GPUQuerySet, count: number, dst: GPUBuffer, staging: GPUBuffer): void {
    this.endPass();
    this.enc().resolveQuerySet(querySet, 0, count, dst, 0);
    this.enc().copyBufferToBuffer(dst, 0, staging, 0, count * 8);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** The resource for one storage binding; a bare buffer is bound whole up to the device's binding limit. */
  private resource(b: GpuBinding): GPUBufferBinding {
    if ('offset' in b) return { buffer: b.buffer, offset: b.offset, size: b.size };
    return { buffer: b, offset: 0, size: Math.min(b.size, this.limits.maxStorageBufferBindingSize) };
  }

  dispatch(...[kernel, constants, bindings, params, workgroups]: [...KernelCall, Workgroups]): void {
    this.check();
    const [x, y = 1, z = 1] = workgroups;
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension;
    for (const w of [x, y, z]) {
      if (!Number.isInteger(w) || w < 0 || w > maxDim) {
        throw new Error(`WebGPU kernel '${kernel}': bad workgroup count ${JSON.stringify(workgroups)}`);
      }
    }
    if (x === 0 || y === 0 || z === 0) return;
    this.recordOrCapture(kernel, constants, bindings, params, [x, y, z], null);
  }

  /**
   * A dispatch whose workgroup counts a kernel wrote earlier in the queue: three u32 at `offset` (a multiple
   * of 4) of `args`, a buffer from acquireIndirect. Lets a device-side decision (e.g. a select's fallback
   * that is not needed) cost no workgroups, without a readback.
   */
  dispatchIndirect(...[kernel, constants, bindings, params, args, offset]: [...KernelCall, args: GPUBuffer, offset: number]): void {
    this.check();
    if (offset % 4 !== 0 || offset + 12 > args.size) throw new Error(`WebGPU kernel '${kernel}': bad indirect offset ${offset}`);
    this.recordOrCapture(kernel, constants, bindings, params, [0, 0, 0], { args, offset });
  }

  private recordOrCapture(
    kernel: string,
    constants: Record<string, number>,
    bindings: GpuBinding[],
    params: ArrayBuffer | ArrayBufferView | null,
    [x, y, z]: [number, number, number],
    indirect: Indirect | null,
  ): void {
    if (this.capture) {
      // Copy the parameters: callers may reuse their array before the command runs.
      const copy = copyParams(params);
      this.capture.push({ kernel, run: () => this.record(kernel, constants, bindings, copy, x, y, z, indirect) });
      return;
    }
    this.record(kernel, constants, bindings, params, x, y, z, indirect);
  }

  private record(
    kernel: string,
    constants: Record<string, number>,
    bindings: GpuBinding[],
    params: ArrayBuffer | ArrayBufferView | null,
    x: number,
    y: number,
    z: number,
    indirect: Indirect | null = null,
  ): void {
    const p = this.pipelines.get(kernel, constants);
    const expected = bindings.length + (params ? 1 : 0);
    if (p.kinds.length !== expected) {
      throw new Error(`WebGPU kernel '${kernel}': declares ${p.kinds.length} bindings, dispatch gave ${expected}`);
    }
    const entries: GPUBindGroupEntry[] = bindings.map((b, i) => ({ binding: i, resource: this.resource(b) }));
    if (params) {
      const bytes =
        params instanceof ArrayBuffer ? new Uint8Array(params) : new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
      const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
      if (this.arenaUsed + size > UNIFORM_ARENA_BYTES) this.flush();
      const offset = this.arenaUsed;
      this.arena.fill(0, offset, offset + size);
      this.arena.set(bytes, offset);
      this.arenaUsed = Math.ceil((offset + size) / this.uniformAlign) * this.uniformAlign;
      entries.push({ binding: bindings.length, resource: { buffer: this.uniformBuf, offset, size } });
    }
    const group = this.device.createBindGroup({ layout: p.layout, entries, label: kernel });
    const pass = this.computePass();
    this.noteWork(true);
    pass.setPipeline(p.pipeline);
    pass.setBindGroup(0, group);
    if (indirect) pass.dispatchWorkgroupsIndirect(indirect.args, indirect.offset);
    else pass.dispatchWorkgroups(x, y, z);
    this.lastKernel = kernel;
    this.stats.dispatches++;
    if (++this.dispatches >= MAX_DISPATCHES) this.flush();
  }

  clear(buf: GPUBuffer, offset = 0, size?: number): void {
    this.check();
    if (this.capture) {
      this.capture.push({ kernel: 'clearBuffer', run: () => this.clear(buf, offset, size) });
      return;
    }
    this.endPass();
    this.noteWork(false);
    this.enc().clearBuffer(buf, offset, size ?? buf.size - offset);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.check();
    if (size === 0) return;
    if (this.capture) {
      this.capture.push({ kernel: 'copyBuffer', run: () => this.copy(src, srcOffset, dst, dstOffset, size) });
      return;
    }
    this.endPass();
    this.noteWork(false);
    this.enc().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** True when commands are recorded but not submitted. */
  get dirty(): boolean {
    return this.encoder !== null;
  }

  /** Submit what is recorded. `timing`: a profiler's per-kernel submit, not counted as one of the work's. */
  flush(timing = false): void {
    if (!timing) this.endBatch();
    if (!this.encoder) return;
    this.endPass();
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.uniformBuf, 0, this.arena, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    this.stats.submits++;
    this.encoder = null;
    this.arenaUsed = 0;
    this.dispatches = 0;
    this.pool.trim();
    // readLater copies are in what was just submitted: map them now (resolved by Dawn's event polling).
    const later = this.laterReads;
    this.laterReads = [];
    for (const r of later) {
      r.staging.mapAsync(MAP_MODE_READ, 0, r.span).then(
        () => {
          const out = r.staging.getMappedRange(0, r.span).slice(r.skip, r.skip + r.size);
          r.staging.unmap();
          this.pool.release(r.staging);
          r.resolve(out);
        },
        (err: Error) => r.reject(new Error(`WebGPU readLater failed: ${err.message}`)),
      );
    }
  }

  /** Copy host bytes into a buffer, after everything recorded so far (queue writes jump ahead of the encoder). */
  write(buf: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.check();
    this.flush();
    this.counters.uploadBytes += data.byteLength;
    this.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** A copy of the bytes as recorded so far, mapped after the next submit (no flush, no host wait). */
  readLater(buf: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    this.check();
    if (size === 0) return Promise.resolve(new ArrayBuffer(0));
    const start = Math.floor(offset / 4) * 4;
    const span = Math.ceil((offset + size) / 4) * 4 - start;
    const staging = this.pool.acquire(span, READBACK_USAGE, 'batchtopk-readlater');
    this.endPass();
    this.noteWork(false);
    this.enc().copyBufferToBuffer(buf, start, staging, 0, span);
    this.counters.readbackBytes += size;
    return new Promise((resolve, reject) => this.laterReads.push({ staging, span, skip: offset - start, size, resolve, reject }));
  }

  async readBytes(buf: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    this.check();
    this.counters.readbacks++;
    this.counters.readbackBytes += size;
    if (size === 0) {
      await this.settle();
      return new ArrayBuffer(0);
    }
    const start = Math.floor(offset / 4) * 4;
    const span = Math.ceil((offset + size) / 4) * 4 - start;
    const staging = this.pool.acquire(span, READBACK_USAGE, 'batchtopk-readback');
    this.endPass();
    this.noteWork(false);
    this.enc().copyBufferToBuffer(buf, start, staging, 0, span);
    this.flush();
    try {
      await staging.mapAsync(MAP_MODE_READ, 0, span);
    } catch (err) {
      await this.settle();
      throw new Error(`WebGPU readback failed: ${(err as Error).message}`);
    }
    const out = staging.getMappedRange(0, span).slice(offset - start, offset - start + size);
    staging.unmap();
    this.pool.release(staging);
    await this.settle();
    return out;
  }

  async sync(): Promise<void> {
    this.check();
    this.counters.readbacks++;
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.settle();
  }

  /** Return a scratch buffer to the pool (after the captured commands that use it, while capturing). */
  release(buf: GPUBuffer): void {
    if (this.capture) this.capture.push({ kernel: '', run: () => this.pool.release(buf) });
    else this.pool.release(buf);
  }

  /** A pooled buffer for indirect dispatch arguments (STORAGE | INDIRECT | COPY_DST); release() returns it. */
  acquireIndirect(bytes: number): GPUBuffer {
    return this.pool.acquire(bytes, INDIRECT_USAGE, 'batchtopk-indirect');
  }

  /** A pooled storage buffer (STORAGE | COPY_SRC | COPY_DST). */
  acquire(bytes: number, label?: string): GPUBuffer {
    return this.pool.acquire(bytes, STORAGE_USAGE, label);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = null;
    this.pass = null;
    this.device.destroy();
  }
}
