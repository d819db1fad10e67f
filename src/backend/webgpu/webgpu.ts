// The WebGPU backend: argument checks (same messages as the CPU backend), then kernels recorded through
// the shared GpuContext. Dense primitives live in elementwise/reduce/matmul/indexing.ts, selection and
// sparse products in select.ts / sparse.ts.
/// <reference types="@webgpu/types" />
import type { AdamParams, Backend, BackendCounters, DeviceProfiling, BinaryOp, Broadcast, DType, HostArray, MatmulEpilogue, ReduceOp, Storage, UnaryOp } from '../backend.js';
import { ArgChecks } from '../args.js';
import { WebGpuContext } from './context.js';
import { acquireDevice, type AcquiredDevice, type WebGpuOptions } from './device.js';
import { adamGpu, binaryGpu, fillGpu, unaryGpu } from './elementwise.js';
import { gatherGpu, scatterAddGpu } from './indexing.js';
import { matmulGpu } from './matmul.js';
import { Recorder } from './recorder.js';
import { reduceGpu } from './reduce.js';
import { topkGpu } from './select.js';
import { sddmmGpu, spmmGpu, spmmTGpu } from './sparse.js';
import { GpuTensor } from './storage.js';
import { tuningFor, type GpuTuning } from './tuning.js';
import { webgpuModelOps } from './model.js';
import type { ModelOps } from '../model_ops.js';

export type { WebGpuOptions } from './device.js';

// The language-model primitives (model.ts) are installed on the prototype after the class.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebGpuBackend extends ModelOps {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  private readonly args = new ArgChecks((s): s is GpuTensor => s instanceof GpuTensor, 'WebGPU');
  /** Kernel choices for this adapter (tuning.ts); benchmarks may change them. */
  tuning: GpuTuning;

  /**
   * @param ctx the context (a view: several backends may share one device and recorder).
   * @param owner the acquired device when this backend owns it (dispose destroys it), else null.
   */
  constructor(
    readonly ctx: WebGpuContext,
    readonly owner: AcquiredDevice | null,
    tuning?: GpuTuning,
  ) {
    this.tuning = tuning ?? tuningFor(owner?.adapter.info);
  }

  /**
   * A view of this backend on the same device with a lower storage-binding limit, so that specs can force
   * windowed processing at small sizes. Its dispose() does nothing; the owning backend releases the device.
   */
  withBindingLimit(bytes: number): WebGpuBackend {
    return new WebGpuBackend(this.ctx.withBindingLimit(bytes), null, this.tuning);
  }

  // ---- memory ----

  alloc(length: number, dtype: DType): Storage {
    this.args.alloc(length, dtype);
    const rec = this.ctx.recorder;
    rec.check();
    const buffer = rec.acquire(length * 4, `batchtopk-${dtype}[${length}]`);
    // A reused buffer holds old data; a new one is zero already.
    if (!rec.pool.takeFresh(buffer) && length > 0) this.ctx.clear(buffer, 0, Math.ceil((length * 4) / 16) * 16);
    return new GpuTensor(length, dtype, buffer);
  }

  write(dst: Storage, data: HostArray): void {
    const d = this.args.write(dst, data);
    if (d.length > 0) this.ctx.recorder.write(d.buffer, 0, data);
  }

  async read(src: Storage): Promise<HostArray> {
    const s = this.args.live('read', 'src', src);
    const bytes = await this.ctx.readBytes(s.buffer, 0, s.bytes);
    return s.dtype === 'f32' ? new Float32Array(bytes) : new Int32Array(bytes);
  }

  async readLater(src: Storage): Promise<HostArray> {
    const s = this.args.live('readLater', 'src', src);
    const bytes = await this.ctx.recorder.readLater(s.buffer, 0, s.bytes);
    return s.dtype === 'f32' ? new Float32Array(bytes) : new Int32Array(bytes);
  }

  /** Activity totals of the device this backend records on (shared by its withBindingLimit views). */
  counters(): BackendCounters {
    const c = this.ctx.recorder.counters;
    const ts = this.ctx.device.features.has('timestamp-query');
    return { ...c, kernelTiming: ts ? 'timestamp-query' : 'synced-wall' };
  }

  /** Profiler hooks (backend.ts DeviceProfiling), with device timing where the adapter has timestamp-query. */
  profiling(): DeviceProfiling {
    const rec = this.ctx.recorder;
    const device = this.ctx.device;
    const hooks: DeviceProfiling = {
      capture: (into) => {
        rec.capture = into;
      },
      submitForTiming: () => rec.flush(true),
      idle: () => device.queue.onSubmittedWorkDone(),
      check: () => rec.check(),
    };
    if (device.features.has('timestamp-query')) {
      // Lavapipe has timestamp-query (spec/backend/profile checks this path there); GL ES has none.
      const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
      const resolved = device.createBuffer({ size: 16, usage: 0x200 /* QUERY_RESOLVE */ | 0x4 /* COPY_SRC */ });
      const staging = device.createBuffer({ size: 16, usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */ });
      hooks.timeOnDevice = async (run) => {
        rec.flush(true);
        rec.passTimestamps = { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 };
        try {
          run();
        } finally {
          rec.passTimestamps = null;
        }
        rec.resolveTimestamps(querySet, 2, resolved, staging);
        rec.flush(true);
        await staging.mapAsync(0x1);
        const t = new BigUint64Array(staging.getMappedRange().slice(0));
        staging.unmap();
        return Number(t[1]! - t[0]!) / 1e6;
      };
    }
    return hooks;
  }

  free(s: Storage): void {
    const t = this.args.live('free', 'storage', s);
    t.freed = true;
    this.ctx.release(t.buffer);
  }

  fill(out: Storage, value: number): void {
    const o = this.args.fill(out, value);
    const bits = o.dtype === 'i32' ? value | 0 : new Int32Array(new Float32Array([value]).buffer)[0]!;
    fillGpu(this.ctx, o, bits);
  }

  copy(out: Storage, src: Storage): void {
    const [o, s] = this.args.copy(out, src);
    if (o !== s) this.ctx.copy(s.buffer, 0, o.buffer, 0, s.bytes);
  }

  // ---- elementwise ----

  unary(op: UnaryOp, out: Storage, x: Storage): void {
    const [o, xv] = this.args.unary(op, out, x);
    unaryGpu(this.ctx, op, o, xv);
  }

  binary(op: BinaryOp, out: Storage, a: Storage, aMode: Broadcast, b: Storage, bMode: Broadcast, rows: number, cols: number): void {
    const [o, av, bv] = this.args.binary(op, out, a, aMode, b, bMode, rows, cols);
    binaryGpu(this.ctx, op, o, av, aMode, bv, bMode, rows, cols);
  }

  // ---- reductions ----

  reduce(op: ReduceOp, out: Storage, x: Storage, rows: number, cols: number, axis: 0 | 1): void {
    const [o, xv] = this.args.reduce(op, out, x, rows, cols, axis);
    reduceGpu(this.ctx, this.tuning, op, o, xv, rows, cols, axis);
  }

  // ---- linear algebra ----

  matmul(out: Storage, a: Storage, b: Storage, m: number, k: number, n: number, transA: boolean, transB: boolean, epi?: MatmulEpilogue): void {
    const [o, av, bv] = this.args.matmul(out, a, b, m, k, n);
    const [bias, relu] = this.args.matmulEpilogue(out, a, b, m, n, epi);
    if (k > 0) {
      // Bias and relu fused into the product's store (lib/matmul_io.wgsl): one pass writes both outputs.
      matmulGpu(this.ctx, this.tuning.matmul, o, av, bv, m, k, n, transA, transB, { bias: bias ?? null, relu: relu ?? null });
      return;
    }
    // K = 0: the product is a clear; the epilogue runs as the separate kernels it is defined by.
    matmulGpu(this.ctx, this.tuning.matmul, o, av, bv, m, k, n, transA, transB);
    if (bias) binaryGpu(this.ctx, 'add', o, o, 'full', bias, 'row', m, n);
    if (relu) unaryGpu(this.ctx, 'relu', relu, o);
  }

  // ---- selection ----

  topk(outIdx: Storage, x: Storage, rows: number, cols: number, k: number): void {
    const [o, xv] = this.args.topk(outIdx, x, rows, cols, k);
    this.ctx.recorder.check();
    topkGpu(this.ctx, this.tuning, o, xv, rows, cols, k);
  }

  // ---- indexing ----

  gather(out: Storage, x: Storage, idx: Storage): void {
    const [o, xv, iv] = this.args.gather(out, x, idx);
    gatherGpu(this.ctx, o, xv, iv);
  }

  scatterAdd(out: Storage, src: Storage, idx: Storage): void {
    const [o, sv, iv] = this.args.scatterAdd(out, src, idx);
    scatterAddGpu(this.ctx, this.tuning, o, sv, iv);
  }

  // ---- sparse products over a selection ----

  sddmm(out: Storage, a: Storage, w: Storage, idx: Storage, m: number, d: number): void {
    const [o, av, wv, iv] = this.args.sddmm(out, a, w, idx, m, d);
    this.ctx.recorder.check();
    sddmmGpu(this.ctx, o, av, wv, iv, m, d);
  }

  spmm(out: Storage, vals: Storage, idx: Storage, m: number, w: Storage, batch: number, d: number): void {
    const [o, vv, iv, wv] = this.args.spmm(out, vals, idx, m, w, batch, d);
    this.ctx.recorder.check();
    spmmGpu(this.ctx, o, vv, iv, m, wv, batch, d);
  }

  spmmT(out: Storage, vals: Storage, idx: Storage, m: number, g: Storage, d: number): void {
    const [o, vv, iv, gv] = this.args.spmmT(out, vals, idx, m, g, d);
    this.ctx.recorder.check();
    spmmTGpu(this.ctx, o, vv, iv, m, gv, d);
  }

  // ---- optimiser ----

  adam(p: Storage, m: Storage, v: Storage, g: Storage, h: AdamParams): void {
    const [pv, mv, vv, gv] = this.args.adam(p, m, v, g, h);
    adamGpu(this.ctx, pv, mv, vv, gv, h);
  }

  sync(): Promise<void> {
    return this.ctx.recorder.sync();
  }

  dispose(): void {
    if (this.owner) this.ctx.recorder.destroy();
  }
}

Object.assign(WebGpuBackend.prototype, webgpuModelOps);

/** Acquire a device (see device.ts for the order tried) and wrap it in a backend that owns it. */
export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<Backend> {
  const acquired = await acquireDevice(opts);
  const ctx = new WebGpuContext(new Recorder(acquired.device), opts.maxBindingBytes);
  return new WebGpuBackend(ctx, acquired);
}

/** The view of `backend` with a lower binding limit (see WebGpuBackend.withBindingLimit). */
export function withBindingLimit(backend: Backend, bytes: number): WebGpuBackend {
  if (!(backend instanceof WebGpuBackend)) throw new Error('withBindingLimit: not a WebGPU backend');
  return backend.withBindingLimit(bytes);
}
