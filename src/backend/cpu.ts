// The CPU reference backend: every primitive of backend.ts as plain loops over typed arrays, synchronous,
// single-threaded and deterministic. The WebGPU kernels are checked against it, so it favours exactness
// (f64 accumulation wherever a sum is formed, exact top-k tie rule) while staying fast enough to train small SAEs.
// The loops live in cpu/*.ts; this file validates arguments (O(1) checks: handles, dtypes, lengths, sizes)
// and dispatches.
import type {
  AdamParams,
  Backend,
  BinaryOp,
  Broadcast,
  DType,
  HostArray,
  ReduceOp,
  Storage,
  UnaryOp,
} from './backend.js';
import { binaryF32, operandLength, strides, unaryF32 } from './cpu/elementwise.js';
import { MatmulScratch, matmulF32 } from './cpu/matmul.js';
import { reduceF32 } from './cpu/reduce.js';
import { SelectScratch, topkRows } from './cpu/select.js';
import { gatherF32, scatterAddF32, sddmmF32, spmmF32, spmmTF32 } from './cpu/sparse.js';
import { CpuStorage, dim, distinct, f32, i32, live } from './cpu/storage.js';

export { CpuStorage } from './cpu/storage.js';

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  private readonly mm = new MatmulScratch();
  private readonly sel = new SelectScratch();
  private rowAcc = new Float64Array(0);

  // ---- memory ----

  alloc(length: number, dtype: DType): Storage {
    dim('alloc', 'length', length);
    if (dtype !== 'f32' && dtype !== 'i32') {
      throw new Error(`alloc: dtype must be 'f32' or 'i32', got '${String(dtype)}'`);
    }
    return new CpuStorage(length, dtype);
  }

  write(dst: Storage, data: HostArray): void {
    const d = live('write', 'dst', dst);
    const ok = d.dtype === 'f32' ? data instanceof Float32Array : data instanceof Int32Array;
    if (!ok) throw new Error(`write: dst is ${d.dtype} but data is ${data.constructor.name}`);
    if (data.length !== d.length) {
      throw new Error(`write: data has ${data.length} elements, expected dst.length = ${d.length}`);
    }
    d.data.set(data);
  }

  read(src: Storage): Promise<HostArray> {
    return Promise.resolve(live('read', 'src', src).data.slice());
  }

  free(s: Storage): void {
    live('free', 'storage', s).release();
  }

  fill(out: Storage, value: number): void {
    const o = live('fill', 'out', out);
    if (o.dtype === 'i32' && !(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31)) {
      throw new Error(`fill: value ${value} is not an i32`);
    }
    o.data.fill(value);
  }

  copy(out: Storage, src: Storage): void {
    const o = live('copy', 'out', out);
    const s = live('copy', 'src', src);
    if (o.dtype !== s.dtype) throw new Error(`copy: out is ${o.dtype} but src is ${s.dtype}`);
    if (o.length !== s.length) throw new Error(`copy: out has ${o.length} elements, expected src.length = ${s.length}`);
    o.data.set(s.data);
  }

  // ---- elementwise ----

  unary(op: UnaryOp, out: Storage, x: Storage): void {
    const o = f32(`unary(${op})`, 'out', out);
    unaryF32(op, o, f32(`unary(${op})`, 'x', x, o.length, 'out.length'));
  }

  binary(
    op: BinaryOp,
    out: Storage,
    a: Storage,
    aMode: Broadcast,
    b: Storage,
    bMode: Broadcast,
    rows: number,
    cols: number,
  ): void {
    const name = `binary(${op})`;
    dim(name, 'rows', rows);
    dim(name, 'cols', cols);
    const o = f32(name, 'out', out, rows * cols, 'rows*cols');
    const [aLen, aExpr] = operandLength(aMode, rows, cols);
    const [bLen, bExpr] = operandLength(bMode, rows, cols);
    const av = f32(name, `a (${aMode})`, a, aLen, aExpr);
    const bv = f32(name, `b (${bMode})`, b, bLen, bExpr);
    binaryF32(op, o, av, strides(aMode, cols), bv, strides(bMode, cols), rows, cols);
  }

  // ---- reductions ----

  reduce(op: ReduceOp, out: Storage, x: Storage, rows: number, cols: number, axis: 0 | 1): void {
    const name = `reduce(${op})`;
    dim(name, 'rows', rows, 1);
    dim(name, 'cols', cols, 1);
    if (axis !== 0 && axis !== 1) throw new Error(`${name}: axis must be 0 or 1, got ${String(axis)}`);
    const xv = f32(name, 'x', x, rows * cols, 'rows*cols');
    const o = axis === 0 ? f32(name, 'out', out, cols, 'cols') : f32(name, 'out', out, rows, 'rows');
    reduceF32(op, o, xv, rows, cols, axis);
  }

  // ---- linear algebra ----

  matmul(
    out: Storage,
    a: Storage,
    b: Storage,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
  ): void {
    dim('matmul', 'm', m);
    dim('matmul', 'k', k);
    dim('matmul', 'n', n);
    distinct('matmul', 'out', out, 'a', a);
    distinct('matmul', 'out', out, 'b', b);
    const o = f32('matmul', 'out', out, m * n, 'm*n');
    const av = f32('matmul', 'a', a, m * k, 'm*k');
    const bv = f32('matmul', 'b', b, k * n, 'k*n');
    matmulF32(o, av, bv, m, k, n, transA, transB, this.mm);
  }

  // ---- selection ----

  topk(outIdx: Storage, x: Storage, rows: number, cols: number, k: number): void {
    dim('topk', 'rows', rows);
    dim('topk', 'cols', cols, 1);
    dim('topk', 'k', k, 1);
    if (k > cols) throw new Error(`topk: k (${k}) must be <= cols (${cols})`);
    if (rows * cols >= 2 ** 31) throw new Error(`topk: rows*cols = ${rows * cols} does not fit i32 flat indices`);
    const o = i32('topk', 'outIdx', outIdx, rows * k, 'rows*k');
    f32('topk', 'x', x, rows * cols, 'rows*cols');
    topkRows(o, live('topk', 'x', x).bits(), rows, cols, k, this.sel);
  }

  // ---- indexing ----

  gather(out: Storage, x: Storage, idx: Storage): void {
    distinct('gather', 'out', out, 'x', x);
    const iv = i32('gather', 'idx', idx);
    gatherF32(f32('gather', 'out', out, iv.length, 'idx.length'), f32('gather', 'x', x), iv);
  }

  scatterAdd(out: Storage, src: Storage, idx: Storage): void {
    distinct('scatterAdd', 'out', out, 'src', src);
    const iv = i32('scatterAdd', 'idx', idx);
    scatterAddF32(f32('scatterAdd', 'out', out), f32('scatterAdd', 'src', src, iv.length, 'idx.length'), iv);
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
    sddmmF32(o, av, wv, iv, m, d);
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
    spmmF32(o, vv, iv, m, wv, batch, d, this.acc(d));
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
    spmmTF32(o, vv, iv, m, gv, d, this.acc(d));
  }

  // ---- optimiser ----

  /**
   * Adam in f64 per element: m and v are updated from the stored f32 values and rounded to f32, and the step
   * uses those rounded m, v (what a later step will read), so the result depends only on stored state.
   */
  adam(p: Storage, m: Storage, v: Storage, g: Storage, h: AdamParams): void {
    const pv = f32('adam', 'p', p);
    const n = pv.length;
    const mv = f32('adam', 'm', m, n, 'p.length');
    const vv = f32('adam', 'v', v, n, 'p.length');
    const gv = f32('adam', 'g', g, n, 'p.length');
    const { lr, beta1: b1, beta2: b2, eps, bc1, bc2 } = h;
    for (let i = 0; i < n; i++) {
      const gi = gv[i]!;
      const mi = Math.fround(b1 * mv[i]! + (1 - b1) * gi);
      const vi = Math.fround(b2 * vv[i]! + (1 - b2) * gi * gi);
      mv[i] = mi;
      vv[i] = vi;
      pv[i] = pv[i]! - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    }
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {}

  /** A reusable f64 row accumulator of >= d entries. */
  private acc(d: number): Float64Array {
    if (this.rowAcc.length < d) this.rowAcc = new Float64Array(d);
    return this.rowAcc;
  }
}
