// The CPU reference backend: every primitive of backend.ts as plain loops over typed arrays, synchronous,
// single-threaded and deterministic. The WebGPU kernels are checked against it, so it favours exactness
// (f64 accumulation wherever a sum is formed, exact top-k tie rule) while staying fast enough to train small SAEs.
// The loops live in cpu/*.ts; this file validates arguments through the checks shared with the WebGPU
// backend (args.ts: O(1) checks of handles, dtypes, lengths, sizes) and dispatches.
import type {
  AdamParams,
  Backend,
  BinaryOp,
  Broadcast,
  DType,
  HostArray,
  MatmulEpilogue,
  ReduceOp,
  Storage,
  UnaryOp,
} from '../backend.js';
import { binaryF32, strides, unaryF32 } from './elementwise.js';
import { MatmulScratch, matmulF32 } from './matmul.js';
import { reduceF32 } from './reduce.js';
import { SelectScratch } from './select.js';
import { topkRows } from './row_select.js';
import { sampledSelect } from './sample_select.js';
import { gatherF32, scatterAddF32, sddmmF32, spmmF32, spmmTF32 } from './sparse.js';
import { adamRange } from './par_kernels.js';
import { ArgChecks } from '../args.js';
import { CpuStorage } from './storage.js';
import { cpuModelOps } from './model.js';
import type { ModelOps } from '../model_ops.js';

export { CpuStorage } from './storage.js';

// The language-model primitives (cpu/model.ts) are installed on the prototype after the class.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface CpuBackend extends ModelOps {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  private readonly mm = new MatmulScratch();
  protected readonly sel = new SelectScratch();
  protected readonly args = new ArgChecks((s): s is CpuStorage => s instanceof CpuStorage, 'CPU');
  private rowAcc = new Float64Array(0);

  // ---- memory ----

  alloc(length: number, dtype: DType): Storage {
    this.args.alloc(length, dtype);
    return new CpuStorage(length, dtype);
  }

  write(dst: Storage, data: HostArray): void {
    this.args.write(dst, data).data.set(data);
  }

  read(src: Storage): Promise<HostArray> {
    return Promise.resolve(this.args.live('read', 'src', src).data.slice());
  }

  free(s: Storage): void {
    this.args.live('free', 'storage', s).release();
  }

  fill(out: Storage, value: number): void {
    this.args.fill(out, value).data.fill(value);
  }

  copy(out: Storage, src: Storage): void {
    const [o, s] = this.args.copy(out, src);
    o.data.set(s.data);
  }

  // ---- elementwise ----

  unary(op: UnaryOp, out: Storage, x: Storage): void {
    const [o, xv] = this.args.unary(op, out, x);
    unaryF32(op, f(o), f(xv));
  }

  binary(op: BinaryOp, out: Storage, a: Storage, aMode: Broadcast, b: Storage, bMode: Broadcast, rows: number, cols: number): void {
    const [o, av, bv] = this.args.binary(op, out, a, aMode, b, bMode, rows, cols);
    binaryF32(op, f(o), f(av), strides(aMode, cols), f(bv), strides(bMode, cols), rows, cols);
  }

  // ---- reductions ----

  reduce(op: ReduceOp, out: Storage, x: Storage, rows: number, cols: number, axis: 0 | 1): void {
    const [o, xv] = this.args.reduce(op, out, x, rows, cols, axis);
    reduceF32(op, f(o), f(xv), rows, cols, axis);
  }

  // ---- linear algebra ----

  matmul(out: Storage, a: Storage, b: Storage, m: number, k: number, n: number, transA: boolean, transB: boolean, epi?: MatmulEpilogue): void {
    const [o, av, bv] = this.args.matmul(out, a, b, m, k, n);
    const [bias, relu] = this.args.matmulEpilogue(out, a, b, m, n, epi);
    matmulF32(f(o), f(av), f(bv), m, k, n, transA, transB, this.mm);
    // The reference epilogue is the separate primitives' own loops, which fused paths must match.
    if (bias) binaryF32('add', f(o), f(o), strides('full', n), f(bias), strides('row', n), m, n);
    if (relu) unaryF32('relu', f(relu), f(o));
  }

  // ---- selection ----

  topk(outIdx: Storage, x: Storage, rows: number, cols: number, k: number): void {
    const [o, xv] = this.args.topk(outIdx, x, rows, cols, k);
    // BatchTopK's one long row: one pass bracketed by a sample where it can (exact either way).
    if (rows === 1 && sampledSelect(o.data as Int32Array, 0, xv.bits(), 0, cols, k, this.sel)) return;
    topkRows(o.data as Int32Array, xv.bits(), rows, cols, k, this.sel);
  }

  // ---- indexing ----

  gather(out: Storage, x: Storage, idx: Storage): void {
    const [o, xv, iv] = this.args.gather(out, x, idx);
    gatherF32(f(o), f(xv), ix(iv));
  }

  scatterAdd(out: Storage, src: Storage, idx: Storage): void {
    const [o, sv, iv] = this.args.scatterAdd(out, src, idx);
    scatterAddF32(f(o), f(sv), ix(iv));
  }

  // ---- sparse products over a selection ----

  sddmm(out: Storage, a: Storage, w: Storage, idx: Storage, m: number, d: number): void {
    const [o, av, wv, iv] = this.args.sddmm(out, a, w, idx, m, d);
    sddmmF32(f(o), f(av), f(wv), ix(iv), m, d);
  }

  spmm(out: Storage, vals: Storage, idx: Storage, m: number, w: Storage, batch: number, d: number): void {
    const [o, vv, iv, wv] = this.args.spmm(out, vals, idx, m, w, batch, d);
    spmmF32(f(o), f(vv), ix(iv), m, f(wv), batch, d, this.acc(d));
  }

  spmmT(out: Storage, vals: Storage, idx: Storage, m: number, g: Storage, d: number): void {
    const [o, vv, iv, gv] = this.args.spmmT(out, vals, idx, m, g, d);
    spmmTF32(f(o), f(vv), ix(iv), m, f(gv), d, this.acc(d));
  }

  // ---- optimiser ----

  /**
   * Adam in f64 per element: m and v are updated from the stored f32 values and rounded to f32, and the step
   * uses those rounded m, v (what a later step will read), so the result depends only on stored state.
   */
  adam(p: Storage, m: Storage, v: Storage, g: Storage, h: AdamParams): void {
    const [pv, mv, vv, gv] = this.args.adam(p, m, v, g, h).map(f) as [Float32Array, Float32Array, Float32Array, Float32Array];
    adamRange(pv, mv, vv, gv, h.lr, h.beta1, h.beta2, h.eps, h.bc1, h.bc2, 0, pv.length);
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

Object.assign(CpuBackend.prototype, cpuModelOps);

const f = (s: CpuStorage): Float32Array => s.data as Float32Array;
const ix = (s: CpuStorage): Int32Array => s.data as Int32Array;
