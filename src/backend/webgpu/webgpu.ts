// The WebGPU backend: argument checks (same messages as the CPU backend), then kernels recorded through
// the shared GpuContext. Dense primitives live in elementwise/reduce/matmul/indexing.ts, selection and
// sparse products in select.ts / sparse.ts.
/// <reference types="@webgpu/types" />
import type { AdamParams, Backend, BinaryOp, Broadcast, DType, HostArray, ReduceOp, Storage, UnaryOp } from '../backend.js';
import { BINARY_OPS, UNARY_OPS } from '../backend.js';
import { WebGpuContext } from './context.js';
import { acquireDevice, type AcquiredDevice, type WebGpuOptions } from './device.js';
import { adamGpu, binaryGpu, fillGpu, unaryGpu } from './elementwise.js';
import { gatherGpu, scatterAddGpu } from './indexing.js';
import { matmulGpu } from './matmul.js';
import { Recorder } from './recorder.js';
import { reduceGpu } from './reduce.js';
import { topkGpu } from './select.js';
import { sddmmGpu, spmmGpu, spmmTGpu } from './sparse.js';
import { dim, distinct, f32, GpuTensor, i32, live } from './storage.js';
import { tuningFor, type GpuTuning } from './tuning.js';

export type { WebGpuOptions } from './device.js';

const BROADCASTS: readonly Broadcast[] = ['full', 'row', 'col', 'scalar'];

function operandLength(mode: Broadcast, rows: number, cols: number): [number, string] {
  switch (mode) {
    case 'full': return [rows * cols, 'rows*cols'];
    case 'row': return [cols, 'cols'];
    case 'col': return [rows, 'rows'];
    case 'scalar': return [1, 'scalar'];
    default: throw new Error(`binary: unknown broadcast mode '${String(mode)}'`);
  }
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
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
    dim('alloc', 'length', length);
    if (dtype !== 'f32' && dtype !== 'i32') throw new Error(`alloc: dtype must be 'f32' or 'i32', got '${String(dtype)}'`);
    const rec = this.ctx.recorder;
    rec.check();
    const buffer = rec.acquire(length * 4, `batchtopk-${dtype}[${length}]`);
    // A reused buffer holds old data; a new one is zero already.
    if (!rec.pool.takeFresh(buffer) && length > 0) this.ctx.clear(buffer, 0, Math.ceil((length * 4) / 16) * 16);
    return new GpuTensor(length, dtype, buffer);
  }

  write(dst: Storage, data: HostArray): void {
    const d = live('write', 'dst', dst);
    const ok = d.dtype === 'f32' ? data instanceof Float32Array : data instanceof Int32Array;
    if (!ok) throw new Error(`write: dst is ${d.dtype} but data is a ${data.constructor.name}`);
    if (data.length !== d.length) throw new Error(`write: data has ${data.length} elements, expected dst.length = ${d.length}`);
    if (d.length > 0) this.ctx.recorder.write(d.buffer, 0, data);
  }

  async read(src: Storage): Promise<HostArray> {
    const s = live('read', 'src', src);
    const bytes = await this.ctx.readBytes(s.buffer, 0, s.bytes);
    return s.dtype === 'f32' ? new Float32Array(bytes) : new Int32Array(bytes);
  }

  free(s: Storage): void {
    const t = live('free', 'storage', s);
    t.freed = true;
    this.ctx.release(t.buffer);
  }

  fill(out: Storage, value: number): void {
    const o = live('fill', 'out', out);
    if (o.dtype === 'i32' && !(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31)) {
      throw new Error(`fill: value ${value} is not an i32`);
    }
    const bits = o.dtype === 'i32' ? value | 0 : new Int32Array(new Float32Array([value]).buffer)[0]!;
    fillGpu(this.ctx, o, bits);
  }

  copy(out: Storage, src: Storage): void {
    const o = live('copy', 'out', out);
    const s = live('copy', 'src', src);
    if (o.dtype !== s.dtype) throw new Error(`copy: out is ${o.dtype} but src is ${s.dtype}`);
    if (o.length !== s.length) throw new Error(`copy: out has ${o.length} elements, expected src.length = ${s.length}`);
    if (o !== s) this.ctx.copy(s.buffer, 0, o.buffer, 0, s.bytes);
  }

  // ---- elementwise ----

  unary(op: UnaryOp, out: Storage, x: Storage): void {
    if (!UNARY_OPS.includes(op)) throw new Error(`unary: unknown op '${String(op)}'`);
    const o = f32(`unary(${op})`, 'out', out);
    unaryGpu(this.ctx, op, o, f32(`unary(${op})`, 'x', x, o.length, 'out.length'));
  }

  binary(op: BinaryOp, out: Storage, a: Storage, aMode: Broadcast, b: Storage, bMode: Broadcast, rows: number, cols: number): void {
    const name = `binary(${op})`;
    if (!BINARY_OPS.includes(op)) throw new Error(`binary: unknown op '${String(op)}'`);
    for (const m of [aMode, bMode]) {
      if (!BROADCASTS.includes(m)) throw new Error(`binary: unknown broadcast mode '${String(m)}'`);
    }
    dim(name, 'rows', rows);
    dim(name, 'cols', cols);
    const o = f32(name, 'out', out, rows * cols, 'rows*cols');
    const [aLen, aExpr] = operandLength(aMode, rows, cols);
    const [bLen, bExpr] = operandLength(bMode, rows, cols);
    const av = f32(name, `a (${aMode})`, a, aLen, aExpr);
    const bv = f32(name, `b (${bMode})`, b, bLen, bExpr);
    binaryGpu(this.ctx, op, o, av, aMode, bv, bMode, rows, cols);
  }

  // ---- reductions ----

  reduce(op: ReduceOp, out: Storage, x: Storage, rows: number, cols: number, axis: 0 | 1): void {
    const name = `reduce(${op})`;
    if (op !== 'sum' && op !== 'max' && op !== 'min') throw new Error(`reduce: unknown op '${String(op)}'`);
    dim(name, 'rows', rows, 1);
    dim(name, 'cols', cols, 1);
    if (axis !== 0 && axis !== 1) throw new Error(`${name}: axis must be 0 or 1, got ${String(axis)}`);
    distinct(name, 'out', out, 'x', x);
    const xv = f32(name, 'x', x, rows * cols, 'rows*cols');
    const o = axis === 0 ? f32(name, 'out', out, cols, 'cols') : f32(name, 'out', out, rows, 'rows');
    reduceGpu(this.ctx, this.tuning, op, o, xv, rows, cols, axis);
  }

  // ---- linear algebra ----

  matmul(out: Storage, a: Storage, b: Storage, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
    dim('matmul', 'm', m);
    dim('matmul', 'k', k);
    dim('matmul', 'n', n);
    distinct('matmul', 'out', out, 'a', a);
    distinct('matmul', 'out', out, 'b', b);
    const o = f32('matmul', 'out', out, m * n, 'm*n');
    const av = f32('matmul', 'a', a, m * k, 'm*k');
    const bv = f32('matmul', 'b', b, k * n, 'k*n');
    matmulGpu(this.ctx, this.tuning.matmul, o, av, bv, m, k, n, transA, transB);
  }

  // ---- selection ----

  topk(outIdx: Storage, x: Storage, rows: number, cols: number, k: number): void {
    dim('topk', 'rows', rows);
    dim('topk', 'cols', cols, 1);
    dim('topk', 'k', k, 1);
    if (k > cols) throw new Error(`topk: k (${k}) must be <= cols (${cols})`);
    if (rows * cols >= 2 ** 31) throw new Error(`topk: rows*cols = ${rows * cols} does not fit i32 flat indices`);
    const o = i32('topk', 'outIdx', outIdx, rows * k, 'rows*k');
    const xv = f32('topk', 'x', x, rows * cols, 'rows*cols');
    this.ctx.recorder.check();
    topkGpu(this.ctx, o, xv, rows, cols, k);
  }

  // ---- indexing ----

  gather(out: Storage, x: Storage, idx: Storage): void {
    distinct('gather', 'out', out, 'x', x);
    const iv = i32('gather', 'idx', idx);
    gatherGpu(this.ctx, f32('gather', 'out', out, iv.length, 'idx.length'), f32('gather', 'x', x), iv);
  }

  scatterAdd(out: Storage, src: Storage, idx: Storage): void {
    distinct('scatterAdd', 'out', out, 'src', src);
    const iv = i32('scatterAdd', 'idx', idx);
    scatterAddGpu(this.ctx, this.tuning, f32('scatterAdd', 'out', out), f32('scatterAdd', 'src', src, iv.length, 'idx.length'), iv);
  }

  // ---- sparse products over a selection ----

  sddmm(out: Storage, a: Storage, w: Storage, idx: Storage, m: number, d: number): void {
    dim('sddmm', 'm', m, 1);
    dim('sddmm', 'd', d, 1);
    const iv = i32('sddmm', 'idx', idx);
    const o = f32('sddmm', 'out', out, iv.length, 'idx.length');
    const av = f32('sddmm', 'a', a);
    if (av.length % d !== 0) throw new Error(`sddmm: a has ${av.length} elements, not a multiple of d = ${d}`);
    const wv = f32('sddmm', 'w', w, m * d, 'm*d');
    distinct('sddmm', 'out', out, 'a', a);
    distinct('sddmm', 'out', out, 'w', w);
    this.ctx.recorder.check();
    sddmmGpu(this.ctx, o, av, wv, iv, m, d);
  }

  spmm(out: Storage, vals: Storage, idx: Storage, m: number, w: Storage, batch: number, d: number): void {
    dim('spmm', 'm', m, 1);
    dim('spmm', 'batch', batch);
    dim('spmm', 'd', d, 1);
    const iv = i32('spmm', 'idx', idx);
    const vv = f32('spmm', 'vals', vals, iv.length, 'idx.length');
    const wv = f32('spmm', 'w', w, m * d, 'm*d');
    const o = f32('spmm', 'out', out, batch * d, 'batch*d');
    distinct('spmm', 'out', out, 'w', w);
    distinct('spmm', 'out', out, 'vals', vals);
    this.ctx.recorder.check();
    spmmGpu(this.ctx, o, vv, iv, m, wv, batch, d);
  }

  spmmT(out: Storage, vals: Storage, idx: Storage, m: number, g: Storage, d: number): void {
    dim('spmmT', 'm', m, 1);
    dim('spmmT', 'd', d, 1);
    const iv = i32('spmmT', 'idx', idx);
    const vv = f32('spmmT', 'vals', vals, iv.length, 'idx.length');
    const gv = f32('spmmT', 'g', g);
    if (gv.length % d !== 0) throw new Error(`spmmT: g has ${gv.length} elements, not a multiple of d = ${d}`);
    const o = f32('spmmT', 'out', out, m * d, 'm*d');
    distinct('spmmT', 'out', out, 'g', g);
    distinct('spmmT', 'out', out, 'vals', vals);
    this.ctx.recorder.check();
    spmmTGpu(this.ctx, o, vv, iv, m, gv, d);
  }

  // ---- optimiser ----

  adam(p: Storage, m: Storage, v: Storage, g: Storage, h: AdamParams): void {
    const pv = f32('adam', 'p', p);
    const n = pv.length;
    const mv = f32('adam', 'm', m, n, 'p.length');
    const vv = f32('adam', 'v', v, n, 'p.length');
    const gv = f32('adam', 'g', g, n, 'p.length');
    const all: [string, Storage][] = [['p', p], ['m', m], ['v', v], ['g', g]];
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) distinct('adam', all[i]![0], all[i]![1], all[j]![0], all[j]![1]);
    }
    adamGpu(this.ctx, pv, mv, vv, gv, h);
  }

  sync(): Promise<void> {
    return this.ctx.recorder.sync();
  }

  dispose(): void {
    if (this.owner) this.ctx.recorder.destroy();
  }
}

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
