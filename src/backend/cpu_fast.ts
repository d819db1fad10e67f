// The fast CPU backend: the reference CPU backend (cpu.ts) with its heavy primitives on every core.
// - matmul: a WebAssembly SIMD micro-kernel (cpu/wasm_gemm.ts) on worker threads (cpu/gemm_threads.ts). It
//   accumulates in f32 (the reference in f64), within the bound the contract suite checks for every
//   non-reference backend; results do not depend on the thread count.
// - sddmm, spmm, spmmT, adam, unary, binary, per-row topk: the reference's own loops (cpu/par_kernels.ts) split over threads by output
//   slice (cpu/par.ts), so their results are bitwise the reference's.
// Storage is backed by SharedArrayBuffers so the workers read and write it in place.
// Every other primitive is the reference's.
import { availableParallelism } from 'node:os';
import type { AdamParams, BinaryOp, Broadcast, DType, Storage, UnaryOp } from './backend.js';
import { strides } from './cpu/elementwise.js';
import { CpuBackend, CpuStorage } from './cpu.js';
import { GemmThreads } from './cpu/gemm_threads.js';
import { ParallelPool } from './cpu/par.js';
import { checkSelection } from './cpu/sparse.js';
import { SharedPool } from './cpu/shared_pool.js';

/** Below this many multiply-adds (or elements for Adam) a primitive stays on the calling thread. */
const PAR_MIN_WORK = 1 << 20;
/** Freed storage kept for reuse (cpu/shared_pool.ts), at most this many bytes. */
const POOL_MAX_BYTES = 2 * 2 ** 30;

export class FastCpuBackend extends CpuBackend {
  /** Which CPU path this is (the Backend name stays 'cpu': same storage, same other primitives). */
  readonly variant = 'cpu-fast';
  private gemm: GemmThreads | null = null;
  private par: ParallelPool | null = null;

  /** @param threads threads to use (default: the machine's available parallelism). */
  constructor(readonly threads = availableParallelism()) {
    super();
  }

  private readonly shared = new SharedPool(POOL_MAX_BYTES);
  /** Bytes held by live storages, the most ever, and the most of live + pooled (for memory reports). */
  readonly mem = { live: 0, peakLive: 0, peakHeld: 0 };

  private track(delta: number): void {
    this.mem.live += delta;
    this.mem.peakLive = Math.max(this.mem.peakLive, this.mem.live);
    this.mem.peakHeld = Math.max(this.mem.peakHeld, this.mem.live + this.shared.freeBytes);
  }

  override alloc(length: number, dtype: DType): Storage {
    this.args.alloc(length, dtype);
    const piece = this.shared.take(length * 4);
    this.track(length * 4);
    return new CpuStorage(length, dtype, true, piece);
  }

  override free(st: Storage): void {
    const live = st instanceof CpuStorage && !st.freed ? st.data : null;
    super.free(st);
    if (!live) return;
    this.track(-live.byteLength);
    if (live.buffer instanceof SharedArrayBuffer) this.shared.give(live.buffer);
  }

  override matmul(out: Storage, a: Storage, b: Storage, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
    const [o, av, bv] = this.args.matmul(out, a, b, m, k, n);
    this.gemm ??= new GemmThreads(Math.max(1, this.threads));
    this.gemm.matmul(o.data as Float32Array, av.data as Float32Array, bv.data as Float32Array, m, k, n, transA, transB);
  }

  /** The pool when the work is worth splitting and every array is shared, else null (run the reference). */
  private pool(work: number, ...arrays: CpuStorage[]): ParallelPool | null {
    if (this.threads < 2 || work < PAR_MIN_WORK) return null;
    if (!arrays.every((s) => s.data.buffer instanceof SharedArrayBuffer)) return null;
    this.par ??= new ParallelPool(this.threads);
    return this.par;
  }

  override sddmm(out: Storage, a: Storage, w: Storage, idx: Storage, m: number, d: number): void {
    const [o, av, wv, iv] = this.args.sddmm(out, a, w, idx, m, d);
    const ix = iv.data as Int32Array;
    const p = this.pool(ix.length * d, o, av, wv, iv);
    if (!p) return super.sddmm(out, a, w, idx, m, d);
    checkSelection('sddmm', ix, (av.length / d) * m, 'B*m');
    const T = this.threads;
    const cut = (t: number) => Math.round((ix.length * t) / T);
    p.run('sddmmRange', (t) => [o.data, av.data, wv.data, ix, m, d, cut(t), cut(t + 1)]);
  }

  override spmm(out: Storage, vals: Storage, idx: Storage, m: number, w: Storage, batch: number, d: number): void {
    const [o, vv, iv, wv] = this.args.spmm(out, vals, idx, m, w, batch, d);
    const ix = iv.data as Int32Array;
    const p = this.pool(ix.length * d, o, vv, iv, wv);
    if (!p) return super.spmm(out, vals, idx, m, w, batch, d);
    checkSelection('spmm', ix, batch * m, 'batch*m');
    const T = this.threads;
    const row = (t: number) => Math.round((batch * t) / T);
    p.run('spmmRange', (t) => [o.data, vv.data, ix, m, wv.data, d, row(t), row(t + 1), lowerBound(ix, row(t) * m)]);
  }

  override spmmT(out: Storage, vals: Storage, idx: Storage, m: number, g: Storage, d: number): void {
    const [o, vv, iv, gv] = this.args.spmmT(out, vals, idx, m, g, d);
    const ix = iv.data as Int32Array;
    const p = this.pool(ix.length * d, o, vv, iv, gv);
    if (!p) return super.spmmT(out, vals, idx, m, g, d);
    checkSelection('spmmT', ix, (gv.length / d) * m, 'B*m');
    // Group the entries by column, stably (as the reference), in shared arrays.
    const nnz = ix.length;
    const start = new Int32Array(new SharedArrayBuffer((m + 1) * 4));
    for (let i = 0; i < nnz; i++) start[(ix[i]! % m) + 1]!++;
    for (let c = 0; c < m; c++) start[c + 1]! += start[c]!;
    const order = new Int32Array(new SharedArrayBuffer(Math.max(1, nnz) * 4));
    const pos = start.slice(0, m);
    for (let i = 0; i < nnz; i++) order[pos[ix[i]! % m]!++] = i;
    // Split the columns so that each thread gets about the same entries + columns (each column costs a row fill).
    const T = this.threads;
    const col = (t: number) => {
      if (t === 0) return 0;
      if (t === T) return m;
      const goal = ((nnz + m) * t) / T;
      let lo = 0,
        hi = m;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (start[mid]! + mid < goal) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    p.run('spmmTRange', (t) => [o.data, vv.data, ix, m, gv.data, d, start, order, col(t), col(t + 1)]);
  }

  override topk(outIdx: Storage, x: Storage, rows: number, cols: number, k: number): void {
    const [o, xv] = this.args.topk(outIdx, x, rows, cols, k);
    const p = rows >= this.threads ? this.pool(rows * cols, o, xv) : null;
    if (!p) return super.topk(outIdx, x, rows, cols, k);
    const T = this.threads;
    const row = (t: number) => Math.round((rows * t) / T);
    p.run('topkRowsRange', (t) => [o.data, xv.bits(), cols, k, row(t), row(t + 1)]);
  }

  override unary(op: UnaryOp, out: Storage, x: Storage): void {
    const [o, xv] = this.args.unary(op, out, x);
    const p = this.pool(o.length, o, xv);
    if (!p) return super.unary(op, out, x);
    const T = this.threads;
    const cut = (t: number) => Math.round((o.length * t) / T);
    p.run('unaryRange', (t) => [op, o.data, xv.data, cut(t), cut(t + 1)]);
  }

  override binary(op: BinaryOp, out: Storage, a: Storage, aMode: Broadcast, b: Storage, bMode: Broadcast, rows: number, cols: number): void {
    const [o, av, bv] = this.args.binary(op, out, a, aMode, b, bMode, rows, cols);
    // Aliasing (out = an operand) is allowed: each thread reads and writes only its own rows.
    const p = rows >= this.threads ? this.pool(rows * cols, o, av, bv) : null;
    if (!p) return super.binary(op, out, a, aMode, b, bMode, rows, cols);
    const T = this.threads;
    const row = (t: number) => Math.round((rows * t) / T);
    p.run('binaryRange', (t) => [op, o.data, av.data, strides(aMode, cols), bv.data, strides(bMode, cols), cols, row(t), row(t + 1)]);
  }

  override adam(p: Storage, m: Storage, v: Storage, g: Storage, h: AdamParams): void {
    const [pv, mv, vv, gv] = this.args.adam(p, m, v, g, h);
    const pool = this.pool(pv.length, pv, mv, vv, gv);
    if (!pool) return super.adam(p, m, v, g, h);
    const T = this.threads;
    const cut = (t: number) => Math.round((pv.length * t) / T);
    pool.run('adamRange', (t) => [pv.data, mv.data, vv.data, gv.data, h.lr, h.beta1, h.beta2, h.eps, h.bc1, h.bc2, cut(t), cut(t + 1)]);
  }

  override dispose(): void {
    this.shared.clear();
    this.gemm?.dispose();
    this.par?.dispose();
    this.gemm = null;
    this.par = null;
    super.dispose();
  }
}

/** First i with idx[i] >= v (idx ascending). */
function lowerBound(idx: Int32Array, v: number): number {
  let lo = 0,
    hi = idx.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (idx[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
