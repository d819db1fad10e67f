// The fast CPU backend: the reference CPU backend (cpu.ts) with its heavy primitives on every core.
// - matmul: a WebAssembly SIMD micro-kernel (cpu/wasm_gemm.ts) on worker threads (cpu/gemm_threads.ts). It
//   accumulates in f32 (the reference in f64), within the bound the contract suite checks for every
//   non-reference backend; results do not depend on the thread count.
// - sddmm, spmm, spmmT, adam: WebAssembly SIMD kernels (cpu/wasm_kernels.ts) over tensors in the storage heap
//   (cpu/wasm_heap.ts), with the reference's exact arithmetic, split over threads by output slice (cpu/par.ts).
// - unary, binary, per-row topk (and the above when an operand lives outside the heap): the reference's own
//   loops (cpu/par_kernels.ts) split the same way. Either way results are bitwise the reference's.
// - topk of one long row (BatchTopK): the sampled one-pass select (cpu/sample_select.ts), else the radix
//   select with its two passes split over the threads; exact, the reference's indices.
// - matmul with one row (b_dec's gradient): the spmm kernel over all columns (no packing).
// Storage is backed by SharedArrayBuffers (the heap's memory is one) so the workers read and write it in place.
// Every other primitive is the reference's.
import { availableParallelism } from 'node:os';
import type { AdamParams, BinaryOp, Broadcast, DType, MatmulEpilogue, Storage, UnaryOp } from './backend.js';
import { strides } from './cpu/elementwise.js';
import { CpuBackend, CpuStorage } from './cpu/reference.js';
import { GemmThreads } from './cpu/gemm_threads.js';
import { ParallelPool } from './cpu/par.js';
import { checkSelection } from './cpu/sparse.js';
import { aboveCount, findBucket, finishSelect } from './cpu/select.js';
import { sampledSelect } from './cpu/sample_select.js';
import { adamRange } from './cpu/par_kernels.js';
import { SharedPool } from './cpu/shared_pool.js';
import { WasmHeap } from './cpu/wasm_heap.js';
import { heapKernels, wasmSparseShape, type HeapKernels } from './cpu/wasm_kernels.js';

/** Columns per group in the WebAssembly spmmT (accumulator rows sharing each read of a g row). */
const SPMMT_GROUP = 8;
/** Below this many multiply-adds (or elements for Adam) a primitive stays on the calling thread. */
const PAR_MIN_WORK = 1 << 20;
/** Freed storage kept for reuse (cpu/shared_pool.ts), at most this many bytes. */
const POOL_MAX_BYTES = 2 * 2 ** 30;

export class FastCpuBackend extends CpuBackend {
  /** Which CPU path this is (the Backend name stays 'cpu': same storage, same other primitives). */
  readonly variant = 'cpu-fast';
  private gemm: GemmThreads | null = null;
  private par: ParallelPool | null = null;

  /**
   * @param threads threads to use (default: the machine's available parallelism).
   * @param heapPages the storage heap's maximum in 64 KiB pages (default 4 GiB; smaller in specs of the fallback).
   * @param gemmMaxBytes the matmul kernel memory per column block (default 2 GiB; smaller in specs of the blocking).
   */
  constructor(
    readonly threads = availableParallelism(),
    heapPages?: number,
    private readonly gemmMaxBytes?: number,
  ) {
    super();
    this.heap = new WasmHeap(heapPages);
  }

  /** Storage lives in the heap (so the WebAssembly kernels use it in place); what does not fit, in the pool. */
  private readonly heap: WasmHeap;
  private readonly shared = new SharedPool(POOL_MAX_BYTES);
  private kernels: HeapKernels | null = null;
  /**
   * Below this many multiply-adds (or elements) a primitive stays on the calling thread. Internal: the
   * differential checks (bench/differential.ts) lower it to 0 so every threaded path runs at small sizes.
   */
  parMinWork = PAR_MIN_WORK;
  /** Bytes held by live storages, the most ever, and the most of live + pooled (for memory reports). */
  readonly mem = { live: 0, peakLive: 0, peakHeld: 0 };

  private track(delta: number): void {
    this.mem.live += delta;
    this.mem.peakLive = Math.max(this.mem.peakLive, this.mem.live);
    this.mem.peakHeld = Math.max(this.mem.peakHeld, this.mem.live + this.shared.freeBytes + this.heap.freeBytes);
  }

  /**
   * The storages carved from the heap, by storage: never by their buffer object, which V8 replaces at moments
   * of its choosing (see cpu/wasm_heap.ts). A heap storage taken for a pool one was given to the pool whole
   * (the heap's memory handed out again, zero-filled, under live tensors) and never released.
   */
  private readonly heapStorages = new WeakSet<CpuStorage>();

  /** True when the storage lives in this backend's heap (the WebAssembly kernels can use it in place). */
  inHeapStorage(st: Storage): boolean {
    return st instanceof CpuStorage && this.heapStorages.has(st);
  }

  /** The storages taken from the shared pool (cpu/shared_pool.ts): only these go back to it. */
  private readonly poolStorages = new WeakSet<CpuStorage>();

  /**
   * A storage dropped without free() gives its memory back when it is collected (as a plain buffer would have
   * been): a heap piece to the heap, a pool piece to the pool (an arena piece must, or its whole arena stays
   * pinned): a forgotten tensor must not pin memory for the process's life. read() returns copies, so nothing
   * can still see the memory by then.
   */
  private readonly orphans = new FinalizationRegistry<{ off: number; bytes: number; pool: SharedArrayBuffer | null }>(({ off, bytes, pool }) => {
    this.track(-bytes);
    if (pool) this.shared.give(pool);
    else this.heap.release(off, bytes);
  });

  override alloc(length: number, dtype: DType, contents: 'zero' | 'unset' = 'zero'): Storage {
    this.args.alloc(length, dtype);
    const inHeap = this.heap.alloc(length * 4, contents === 'zero');
    const piece = inHeap ?? this.shared.take(length * 4);
    const st = new CpuStorage(length, dtype, true, piece);
    this.track(length * 4);
    (inHeap ? this.heapStorages : this.poolStorages).add(st);
    this.orphans.register(st, { off: piece.offset, bytes: length * 4, pool: inHeap ? null : piece.buf }, st);
    return st;
  }

  override free(st: Storage): void {
    const live = st instanceof CpuStorage && !st.freed ? st : null;
    const data = live?.data;
    super.free(st);
    if (!live || !data) return;
    if (this.heapStorages.delete(live)) {
      this.track(-data.byteLength);
      this.orphans.unregister(live);
      this.heap.release(data.byteOffset, data.byteLength);
    } else if (this.poolStorages.delete(live)) {
      this.track(-data.byteLength);
      this.orphans.unregister(live);
      this.shared.give(data.buffer as SharedArrayBuffer);
    }
    // else another backend's storage: released above, its memory is not ours to reuse.
  }

  /** Byte offsets of the arrays in the heap when they all live there, else null. */
  private heapOffsets(...arrays: CpuStorage[]): number[] | null {
    if (!arrays.every((s) => this.heapStorages.has(s))) return null;
    this.kernels ??= heapKernels(this.heap.memory);
    return arrays.map((s) => s.data.byteOffset);
  }

  /** heapOffsets, when also d suits the sparse kernels. */
  private inHeap(d: number, ...arrays: CpuStorage[]): number[] | null {
    return wasmSparseShape(d) ? this.heapOffsets(...arrays) : null;
  }

  /** Scratch in the heap for the duration of fn (freed after, also on error); null when it does not fit. */
  private scratch<R>(bytes: number, fn: (off: number, buf: SharedArrayBuffer) => R): R | null {
    const piece = this.heap.alloc(bytes);
    if (!piece) return null;
    try {
      return fn(piece.offset, piece.buf);
    } finally {
      this.heap.release(piece.offset, bytes);
    }
  }

  override matmul(out: Storage, a: Storage, b: Storage, m: number, k: number, n: number, transA: boolean, transB: boolean, epi?: MatmulEpilogue): void {
    const [o, av, bv] = this.args.matmul(out, a, b, m, k, n);
    const [bias, relu] = this.args.matmulEpilogue(out, a, b, m, n, epi);
    if (m === 1 && !epi && !transA && !transB && this.gemv(o, av, bv, k, n)) return;
    this.gemm ??= new GemmThreads(Math.max(1, this.threads), this.gemmMaxBytes);
    const f = (s: CpuStorage | null) => (s ? (s.data as Float32Array) : null);
    // The epilogue is fused into the threads' copy of the product out of the kernel's memory.
    this.gemm.matmul(f(o)!, f(av)!, f(bv)!, m, k, n, transA, transB, f(bias), f(relu));
  }

  /**
   * out [1,n] = a [1,k] . b [k,n] as the spmm kernel over the selection of all k columns of one row (an f64
   * sum over p per output, as the reference's): packing b for the blocked kernel would cost more than the
   * product (measured 174 ms for [1,24576].[24576,768], the b_dec gradient). False when it does not apply.
   */
  private gemv(o: CpuStorage, a: CpuStorage, b: CpuStorage, k: number, n: number): boolean {
    const ptr = this.inHeap(n, o, a, b);
    if (!ptr || k === 0) return false;
    const [po, pa, pb] = ptr as [number, number, number];
    const accOff = Math.ceil(k / 2) * 8;
    return !!this.scratch(accOff + n * 8, (off, buf) => {
      const idx = new Int32Array(buf, off, k);
      for (let p = 0; p < k; p++) idx[p] = p;
      this.kernels!.spmm(po, pa, off, k, pb, n * 4, 0, 1, 0, k, off + accOff);
      return true;
    });
  }

  /** The pool when the work is worth splitting and every array is shared, else null (run the reference). */
  private pool(work: number, ...arrays: CpuStorage[]): ParallelPool | null {
    if (this.threads < 2 || work < this.parMinWork) return null;
    if (!arrays.every((s) => s.data.buffer instanceof SharedArrayBuffer)) return null;
    this.par ??= new ParallelPool(this.threads, this.heap.memory);
    return this.par;
  }

  override sddmm(out: Storage, a: Storage, w: Storage, idx: Storage, m: number, d: number): void {
    const [o, av, wv, iv] = this.args.sddmm(out, a, w, idx, m, d);
    const ix = iv.data as Int32Array;
    const p = this.pool(ix.length * d, o, av, wv, iv);
    const ptr = this.inHeap(d, o, av, wv, iv);
    if (!p && !ptr) return super.sddmm(out, a, w, idx, m, d);
    checkSelection('sddmm', ix, (av.length / d) * m, 'B*m');
    const T = p ? this.threads : 1;
    const cut = (t: number) => Math.round((ix.length * t) / T);
    if (ptr) {
      const [po, pa, pw, pi] = ptr as [number, number, number, number];
      const args = (t: number) => [po, pa, pw, pi, m, d * 4, cut(t), cut(t + 1)];
      if (p) p.runWasm('sddmm', args);
      else this.kernels!.sddmm(...(args(0) as Parameters<HeapKernels['sddmm']>));
      return;
    }
    p!.run('sddmmRange', (t) => [o.data, av.data, wv.data, ix, m, d, cut(t), cut(t + 1)]);
  }

  override spmm(out: Storage, vals: Storage, idx: Storage, m: number, w: Storage, batch: number, d: number): void {
    const [o, vv, iv, wv] = this.args.spmm(out, vals, idx, m, w, batch, d);
    const ix = iv.data as Int32Array;
    const p = this.pool(ix.length * d, o, vv, iv, wv);
    const ptr = this.inHeap(d, o, vv, iv, wv);
    if (!p && !ptr) return super.spmm(out, vals, idx, m, w, batch, d);
    checkSelection('spmm', ix, batch * m, 'batch*m');
    const T = p ? this.threads : 1;
    const row = (t: number) => Math.round((batch * t) / T);
    // One f64 accumulator row per thread.
    const done = ptr
      ? this.scratch(T * d * 8, (acc) => {
          const [po, pv, pi, pw] = ptr as [number, number, number, number];
          const args = (t: number) => [po, pv, pi, m, pw, d * 4, row(t), row(t + 1), lowerBound(ix, row(t) * m), ix.length, acc + t * d * 8];
          if (p) p.runWasm('spmm', args);
          else this.kernels!.spmm(...(args(0) as Parameters<HeapKernels['spmm']>));
          return true;
        })
      : null;
    if (done) return;
    if (!p) return super.spmm(out, vals, idx, m, w, batch, d);
    p.run('spmmRange', (t) => [o.data, vv.data, ix, m, wv.data, d, row(t), row(t + 1), lowerBound(ix, row(t) * m)]);
  }

  override spmmT(out: Storage, vals: Storage, idx: Storage, m: number, g: Storage, d: number): void {
    const [o, vv, iv, gv] = this.args.spmmT(out, vals, idx, m, g, d);
    const ix = iv.data as Int32Array;
    if (d === 1) return this.columnSums(o.data as Float32Array, vv.data as Float32Array, ix, m, gv.data as Float32Array);
    const p = this.pool(ix.length * d, o, vv, iv, gv);
    const ptr = this.inHeap(d, o, vv, iv, gv);
    if (!p && !ptr) return super.spmmT(out, vals, idx, m, g, d);
    checkSelection('spmmT', ix, (gv.length / d) * m, 'B*m');
    const nnz = ix.length;
    const T = p ? this.threads : 1;
    // Group the entries stably (as the reference) by column for the JavaScript kernel, by groups of
    // SPMMT_GROUP columns for the WebAssembly one (each group's g row reads serve all its columns): start
    // [groups+1] and order [nnz], in the heap for the kernel (then the accumulator rows), else in shared arrays.
    const run = (buf: SharedArrayBuffer | null, wasm: boolean): boolean => {
      const G = wasm ? SPMMT_GROUP : 1;
      const groups = Math.ceil(m / G);
      const bytes = Math.ceil(((groups + 1 + Math.max(1, nnz)) * 4) / 8) * 8;
      const accBytes = T * G * d * 8;
      const go = (b: SharedArrayBuffer, off: number) => {
        const start = new Int32Array(b, off, groups + 1);
        const order = new Int32Array(b, off + (groups + 1) * 4, Math.max(1, nnz));
        start.fill(0);
        for (let i = 0; i < nnz; i++) start[(((ix[i]! % m) / G) | 0) + 1]!++;
        for (let j = 0; j < groups; j++) start[j + 1]! += start[j]!;
        const pos = start.slice(0, groups);
        for (let i = 0; i < nnz; i++) order[pos[((ix[i]! % m) / G) | 0]!++] = i;
        // Split the groups so that each thread gets about the same entries + columns (each column costs a row fill).
        const cut = (t: number) => {
          if (t === 0) return 0;
          if (t === T) return groups;
          const goal = ((nnz + m) * t) / T;
          let lo = 0,
            hi = groups;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (start[mid]! + mid * G < goal) lo = mid + 1;
            else hi = mid;
          }
          return lo;
        };
        if (!wasm) return p!.run('spmmTRange', (t) => [o.data, vv.data, ix, m, gv.data, d, start, order, cut(t), cut(t + 1)]);
        const [po, pv, pi, pg] = ptr as [number, number, number, number];
        const args = (t: number) => [po, pv, pi, m, pg, d * 4, off, off + (groups + 1) * 4, cut(t), cut(t + 1), off + bytes + t * G * d * 8, G];
        if (p) p.runWasm('spmmT', args);
        else this.kernels!.spmmT(...(args(0) as Parameters<HeapKernels['spmmT']>));
      };
      if (!wasm) {
        go(buf ?? new SharedArrayBuffer(bytes), 0);
        return true;
      }
      return !!this.scratch(bytes + accBytes, (off, b) => (go(b, off), true));
    };
    if (ptr && run(null, true)) return;
    if (!p) return super.spmmT(out, vals, idx, m, g, d);
    run(null, false);
  }

  /**
   * spmmT with d = 1 (per-column sums, e.g. sumByCol): one pass in entry order into f64 sums per column. Each
   * column still adds its entries in ascending entry order from 0, so the bits are the reference's, without
   * its grouping sort (which costs more than the sums here: 2.1M AuxK entries).
   */
  private columnSums(o: Float32Array, vals: Float32Array, ix: Int32Array, m: number, g: Float32Array): void {
    checkSelection('spmmT', ix, g.length * m, 'B*m');
    const acc = new Float64Array(m);
    for (let i = 0; i < ix.length; i++) {
      const f = ix[i]!;
      const r = Math.floor(f / m);
      acc[f - r * m]! += vals[i]! * g[r]!;
    }
    for (let c = 0; c < m; c++) o[c] = acc[c]!;
  }

  override topk(outIdx: Storage, x: Storage, rows: number, cols: number, k: number): void {
    const [o, xv] = this.args.topk(outIdx, x, rows, cols, k);
    if (rows === 1 && k < cols) {
      if (sampledSelect(o.data as Int32Array, 0, xv.bits(), 0, cols, k, this.sel)) return;
      const p = this.pool(cols, o, xv);
      if (p) return this.batchTopk(p, o.data as Int32Array, xv.bits(), cols, k);
    }
    const p = rows >= this.threads ? this.pool(rows * cols, o, xv) : null;
    if (!p) return super.topk(outIdx, x, rows, cols, k);
    const T = this.threads;
    const row = (t: number) => Math.round((rows * t) / T);
    p.run('topkRowsRange', (t) => [o.data, xv.bits(), cols, k, row(t), row(t + 1)]);
  }

  /**
   * One long row (BatchTopK): the reference's radix select (cpu/select.ts) with its two full passes split over
   * the threads. Each thread histograms its slice; the merged histogram gives the cut bucket; each thread then
   * writes its slice's indices above the bucket and its candidates at offsets from the per-thread counts, so
   * the concatenation is what the one-thread split writes; the small rest is the reference's finishSelect.
   */
  private batchTopk(p: ParallelPool, out: Int32Array, bits: Int32Array, n: number, k: number): void {
    const T = this.threads;
    const cut = (t: number) => Math.round((n * t) / T);
    const hists = new Int32Array(new SharedArrayBuffer(T * 4096 * 4));
    const hist = (t: number) => hists.subarray(t * 4096, (t + 1) * 4096);
    p.run('histTopRange', (t) => [hist(t), bits, cut(t), cut(t + 1)]);
    const merged = new Int32Array(2048);
    for (let t = 0; t < T; t++) for (let b = 0; b < 2048; b++) merged[b]! += hists[t * 4096 + b]! + hists[t * 4096 + 2048 + b]!;
    const b1 = findBucket(merged, 2047, k, 0);
    const above = aboveCount;
    const nCand = merged[b1]!;
    const outAt = [0],
      candAt = [0];
    for (let t = 0; t < T; t++) {
      const h = hist(t);
      let up = 0;
      for (let b = b1 + 1; b < 2048; b++) up += h[b]! + h[b + 2048]!;
      outAt.push(outAt[t]! + up);
      candAt.push(candAt[t]! + h[b1]! + h[b1 + 2048]!);
    }
    const idx = new Int32Array(new SharedArrayBuffer(Math.max(1, nCand) * 4));
    const keys = new Int32Array(new SharedArrayBuffer(Math.max(1, nCand) * 4));
    const lo = (b1 - 1024) * 2097152;
    p.run('splitRange', (t) => [out, outAt[t], idx.subarray(candAt[t]), keys.subarray(candAt[t]), bits, cut(t), cut(t + 1), lo, lo + 2097152]);
    finishSelect(out, 0, k, above, idx, keys, nCand, k - above, b1 - 1024, new Int32Array(128));
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
    const n = pv.length;
    const pool = this.pool(n, pv, mv, vv, gv);
    const ptr = this.heapOffsets(pv, mv, vv, gv);
    if (ptr) {
      // The SIMD kernel takes pairs of elements: even cuts, and an odd last element in JavaScript.
      const T = pool ? this.threads : 1;
      const even = n - (n % 2);
      const cut = (t: number) => (t === T ? even : 2 * Math.round(((even / 2) * t) / T));
      const [pp, pm, pvv, pg] = ptr as [number, number, number, number];
      const args = (t: number) => [pp, pm, pvv, pg, cut(t), cut(t + 1), h.lr, h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, h.eps, h.bc1, h.bc2];
      if (pool) pool.runWasm('adam', args);
      else this.kernels!.adam(...(args(0) as Parameters<HeapKernels['adam']>));
      if (even < n) adamRange(pv.data as Float32Array, mv.data as Float32Array, vv.data as Float32Array, gv.data as Float32Array, h.lr, h.beta1, h.beta2, h.eps, h.bc1, h.bc2, even, n);
      return;
    }
    if (!pool) return super.adam(p, m, v, g, h);
    const T = this.threads;
    const cut = (t: number) => Math.round((pv.length * t) / T);
    pool.run('adamRange', (t) => [pv.data, mv.data, vv.data, gv.data, h.lr, h.beta1, h.beta2, h.eps, h.bc1, h.bc2, cut(t), cut(t + 1)]);
  }

  override dispose(): void {
    this.shared.clear();
    this.kernels = null;
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
