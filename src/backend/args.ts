// Argument checks for every backend primitive, shared by the CPU and WebGPU backends so that a misuse
// fails the same way, with the same message, on both. Each check is O(1) per argument (handle, dtype,
// length, size arguments); element values are never inspected. A check returns the backend's own storage
// handles, in argument order, ready for the kernels.
import type { AdamParams, BinaryOp, Broadcast, DType, HostArray, MatmulEpilogue, ReduceOp, Storage, UnaryOp } from './backend.js';
import { BINARY_OPS, UNARY_OPS } from './backend.js';

/** A backend's storage handle: a Storage that knows whether it was freed. */
export interface Handle extends Storage {
  freed: boolean;
}

const BROADCASTS: readonly Broadcast[] = ['full', 'row', 'col', 'scalar'];
const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'max', 'min'];

/** Asserts that a size argument is an integer >= min. */
export function dim(op: string, name: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${op}: ${name} must be an integer >= ${min}, got ${v}`);
}

/** Asserts that two storages are distinct where the op reads one while writing the other. */
export function distinct(op: string, outName: string, out: Storage, inName: string, x: Storage): void {
  if (out === x) throw new Error(`${op}: ${outName} must not be the same storage as ${inName}`);
}

/** Elements a binary operand must have for its broadcast mode over [rows, cols], and how to say it. */
export function operandLength(mode: Broadcast, rows: number, cols: number): [number, string] {
  switch (mode) {
    case 'full':
      return [rows * cols, 'rows*cols'];
    case 'row':
      return [cols, 'cols'];
    case 'col':
      return [rows, 'rows'];
    case 'scalar':
      return [1, 'scalar'];
    default:
      throw new Error(`binary: unknown broadcast mode '${String(mode)}'`);
  }
}

export class ArgChecks<S extends Handle> {
  /**
   * @param isOwn whether a storage belongs to this backend
   * @param kind the backend's name in messages ("CPU", "WebGPU")
   */
  constructor(
    private readonly isOwn: (s: Storage) => s is S,
    private readonly kind: string,
  ) {}

  /** The live handle behind `s`, or a clear error naming the op and the argument. */
  live(op: string, name: string, s: Storage): S {
    if (!this.isOwn(s)) throw new Error(`${op}: ${name} is not a ${this.kind} storage (allocated by another backend?)`);
    if (s.freed) throw new Error(`${op}: ${name} was freed`);
    return s;
  }

  /** A live handle of a dtype, optionally of an exact length (`expr` describes it in the error). */
  typed(op: string, name: string, s: Storage, dtype: DType, expected?: number, expr?: string): S {
    const h = this.live(op, name, s);
    if (h.dtype !== dtype) throw new Error(`${op}: ${name} must be ${dtype}, got ${h.dtype}`);
    if (expected !== undefined && h.length !== expected) {
      throw new Error(`${op}: ${name} has ${h.length} elements, expected ${expr ?? ''}${expr ? ' = ' : ''}${expected}`);
    }
    return h;
  }

  f32(op: string, name: string, s: Storage, expected?: number, expr?: string): S {
    return this.typed(op, name, s, 'f32', expected, expr);
  }

  i32(op: string, name: string, s: Storage, expected?: number, expr?: string): S {
    return this.typed(op, name, s, 'i32', expected, expr);
  }

  alloc(length: number, dtype: DType): void {
    dim('alloc', 'length', length);
    if (dtype !== 'f32' && dtype !== 'i32') throw new Error(`alloc: dtype must be 'f32' or 'i32', got '${String(dtype)}'`);
  }

  write(dst: Storage, data: HostArray): S {
    const d = this.live('write', 'dst', dst);
    const ok = d.dtype === 'f32' ? data instanceof Float32Array : data instanceof Int32Array;
    if (!ok) throw new Error(`write: dst is ${d.dtype} but data is ${data.constructor.name}`);
    if (data.length !== d.length) throw new Error(`write: data has ${data.length} elements, expected dst.length = ${d.length}`);
    return d;
  }

  fill(out: Storage, value: number): S {
    const o = this.live('fill', 'out', out);
    if (o.dtype === 'i32' && !(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31)) {
      throw new Error(`fill: value ${value} is not an i32`);
    }
    return o;
  }

  copy(out: Storage, src: Storage): [S, S] {
    const o = this.live('copy', 'out', out);
    const s = this.live('copy', 'src', src);
    if (o.dtype !== s.dtype) throw new Error(`copy: out is ${o.dtype} but src is ${s.dtype}`);
    if (o.length !== s.length) throw new Error(`copy: out has ${o.length} elements, expected src.length = ${s.length}`);
    return [o, s];
  }

  unary(op: UnaryOp, out: Storage, x: Storage): [S, S] {
    if (!UNARY_OPS.includes(op)) throw new Error(`unary: unknown op '${String(op)}'`);
    const o = this.f32(`unary(${op})`, 'out', out);
    return [o, this.f32(`unary(${op})`, 'x', x, o.length, 'out.length')];
  }

  binary(op: BinaryOp, out: Storage, a: Storage, aMode: Broadcast, b: Storage, bMode: Broadcast, rows: number, cols: number): [S, S, S] {
    const name = `binary(${op})`;
    if (!BINARY_OPS.includes(op)) throw new Error(`binary: unknown op '${String(op)}'`);
    for (const m of [aMode, bMode]) if (!BROADCASTS.includes(m)) throw new Error(`binary: unknown broadcast mode '${String(m)}'`);
    dim(name, 'rows', rows);
    dim(name, 'cols', cols);
    const o = this.f32(name, 'out', out, rows * cols, 'rows*cols');
    const [aLen, aExpr] = operandLength(aMode, rows, cols);
    const [bLen, bExpr] = operandLength(bMode, rows, cols);
    return [o, this.f32(name, `a (${aMode})`, a, aLen, aExpr), this.f32(name, `b (${bMode})`, b, bLen, bExpr)];
  }

  reduce(op: ReduceOp, out: Storage, x: Storage, rows: number, cols: number, axis: 0 | 1): [S, S] {
    const name = `reduce(${op})`;
    if (!REDUCE_OPS.includes(op)) throw new Error(`reduce: unknown op '${String(op)}'`);
    dim(name, 'rows', rows, 1);
    dim(name, 'cols', cols, 1);
    if (axis !== 0 && axis !== 1) throw new Error(`${name}: axis must be 0 or 1, got ${String(axis)}`);
    distinct(name, 'out', out, 'x', x);
    const xv = this.f32(name, 'x', x, rows * cols, 'rows*cols');
    const o = axis === 0 ? this.f32(name, 'out', out, cols, 'cols') : this.f32(name, 'out', out, rows, 'rows');
    return [o, xv];
  }

  matmul(out: Storage, a: Storage, b: Storage, m: number, k: number, n: number): [S, S, S] {
    dim('matmul', 'm', m);
    dim('matmul', 'k', k);
    dim('matmul', 'n', n);
    distinct('matmul', 'out', out, 'a', a);
    distinct('matmul', 'out', out, 'b', b);
    return [this.f32('matmul', 'out', out, m * n, 'm*n'), this.f32('matmul', 'a', a, m * k, 'm*k'), this.f32('matmul', 'b', b, k * n, 'k*n')];
  }

  /** The epilogue's operands (after matmul's own checks): bias [n] and relu [m,n], each distinct from the rest. */
  matmulEpilogue(out: Storage, a: Storage, b: Storage, m: number, n: number, epi: MatmulEpilogue | undefined): [S | null, S | null] {
    if (!epi) return [null, null];
    const bias = epi.bias ? this.f32('matmul', 'epi.bias', epi.bias, n, 'n') : null;
    if (epi.bias) distinct('matmul', 'out', out, 'epi.bias', epi.bias);
    if (!epi.relu) return [bias, null];
    for (const [name, s] of [['out', out], ['a', a], ['b', b], ['epi.bias', epi.bias]] as const) if (s) distinct('matmul', 'epi.relu', epi.relu, name, s);
    return [bias, this.f32('matmul', 'epi.relu', epi.relu, m * n, 'm*n')];
  }

  topk(outIdx: Storage, x: Storage, rows: number, cols: number, k: number): [S, S] {
    dim('topk', 'rows', rows);
    dim('topk', 'cols', cols, 1);
    dim('topk', 'k', k, 1);
    if (k > cols) throw new Error(`topk: k (${k}) must be <= cols (${cols})`);
    if (rows * cols >= 2 ** 31) throw new Error(`topk: rows*cols = ${rows * cols} does not fit i32 flat indices`);
    return [this.i32('topk', 'outIdx', outIdx, rows * k, 'rows*k'), this.f32('topk', 'x', x, rows * cols, 'rows*cols')];
  }

  gather(out: Storage, x: Storage, idx: Storage): [S, S, S] {
    distinct('gather', 'out', out, 'x', x);
    const iv = this.i32('gather', 'idx', idx);
    return [this.f32('gather', 'out', out, iv.length, 'idx.length'), this.f32('gather', 'x', x), iv];
  }

  scatterAdd(out: Storage, src: Storage, idx: Storage): [S, S, S] {
    distinct('scatterAdd', 'out', out, 'src', src);
    const iv = this.i32('scatterAdd', 'idx', idx);
    return [this.f32('scatterAdd', 'out', out), this.f32('scatterAdd', 'src', src, iv.length, 'idx.length'), iv];
  }

  /** [out, a, w, idx] */
  sddmm(out: Storage, a: Storage, w: Storage, idx: Storage, m: number, d: number): [S, S, S, S] {
    dim('sddmm', 'm', m, 1);
    dim('sddmm', 'd', d, 1);
    const iv = this.i32('sddmm', 'idx', idx);
    const o = this.f32('sddmm', 'out', out, iv.length, 'idx.length');
    const av = this.f32('sddmm', 'a', a);
    if (av.length % d !== 0) throw new Error(`sddmm: a has ${av.length} elements, not a multiple of d = ${d}`);
    const wv = this.f32('sddmm', 'w', w, m * d, 'm*d');
    distinct('sddmm', 'out', out, 'a', a);
    distinct('sddmm', 'out', out, 'w', w);
    return [o, av, wv, iv];
  }

  /** [out, vals, idx, w] */
  spmm(out: Storage, vals: Storage, idx: Storage, m: number, w: Storage, batch: number, d: number): [S, S, S, S] {
    dim('spmm', 'm', m, 1);
    dim('spmm', 'batch', batch);
    dim('spmm', 'd', d, 1);
    const iv = this.i32('spmm', 'idx', idx);
    const vv = this.f32('spmm', 'vals', vals, iv.length, 'idx.length');
    const wv = this.f32('spmm', 'w', w, m * d, 'm*d');
    const o = this.f32('spmm', 'out', out, batch * d, 'batch*d');
    distinct('spmm', 'out', out, 'w', w);
    distinct('spmm', 'out', out, 'vals', vals);
    return [o, vv, iv, wv];
  }

  /** [out, vals, idx, g] */
  spmmT(out: Storage, vals: Storage, idx: Storage, m: number, g: Storage, d: number): [S, S, S, S] {
    dim('spmmT', 'm', m, 1);
    dim('spmmT', 'd', d, 1);
    const iv = this.i32('spmmT', 'idx', idx);
    const vv = this.f32('spmmT', 'vals', vals, iv.length, 'idx.length');
    const gv = this.f32('spmmT', 'g', g);
    if (gv.length % d !== 0) throw new Error(`spmmT: g has ${gv.length} elements, not a multiple of d = ${d}`);
    const o = this.f32('spmmT', 'out', out, m * d, 'm*d');
    distinct('spmmT', 'out', out, 'g', g);
    distinct('spmmT', 'out', out, 'vals', vals);
    return [o, vv, iv, gv];
  }

  /** [p, m, v, g]: four distinct f32 storages of one length. */
  adam(p: Storage, m: Storage, v: Storage, g: Storage, _h: AdamParams): [S, S, S, S] {
    const pv = this.f32('adam', 'p', p);
    const n = pv.length;
    const all: [string, Storage][] = [['p', p], ['m', m], ['v', v], ['g', g]];
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) distinct('adam', all[i]![0], all[i]![1], all[j]![0], all[j]![1]);
    }
    return [pv, this.f32('adam', 'm', m, n, 'p.length'), this.f32('adam', 'v', v, n, 'p.length'), this.f32('adam', 'g', g, n, 'p.length')];
  }
}
