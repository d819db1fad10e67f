// Eager tensor ops: each checks shapes, runs one or more backend primitives, and records a tape node
// (the gradient of every recorded op is one entry in autodiff/rules.ts).
// Shapes in comments use B = batch, D = input dim, M = latents, K = selected entries.
import type { BinaryOp, ReduceOp, UnaryOp } from './backend/backend.js';
import { gradEnabled, record } from './autodiff/tape.js';
import { broadcast } from './shape.js';
import { Tensor, full, sizeOf, type Shape } from './tensor.js';

/** An op's output: every op here writes all of it with one primitive, so it need not be zeroed first. */
function alloc(like: Tensor, shape: Shape, dtype: 'f32' | 'i32' = 'f32'): Tensor {
  return new Tensor(like.backend, like.backend.alloc(sizeOf(shape), dtype, 'unset'), shape);
}

function checkSame(op: string, ...ts: Tensor[]): void {
  const first = ts[0]!;
  for (const t of ts) {
    t.assertLive(op);
    if (t.backend !== first.backend) throw new Error(`${op}: tensors live on different backends (${first.backend.name}, ${t.backend.name})`);
  }
}

function checkF32(op: string, t: Tensor): void {
  if (t.dtype !== 'f32') throw new Error(`${op}: expected an f32 tensor, got ${t.dtype}[${t.shape}]`);
}

// ---- elementwise ----

export function binary(op: BinaryOp, a: Tensor, b: Tensor, recordAs: string | null = op): Tensor {
  checkSame(op, a, b);
  checkF32(op, a);
  checkF32(op, b);
  const p = broadcast(op, a.shape, b.shape);
  const out = alloc(a, p.out);
  a.backend.binary(op, out.storage, a.storage, p.a, b.storage, p.b, p.rows, p.cols);
  return recordAs ? record(recordAs, [a, b], out) : out;
}

export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary('div', a, b);
export const maximum = (a: Tensor, b: Tensor): Tensor => binary('max', a, b);
export const minimum = (a: Tensor, b: Tensor): Tensor => binary('min', a, b);
/** 1 where a > b else 0; not differentiable (no tape node). */
export const gt = (a: Tensor, b: Tensor): Tensor => binary('gt', a, b, null);
/** 1 where a >= b else 0; not differentiable. */
export const ge = (a: Tensor, b: Tensor): Tensor => binary('ge', a, b, null);

/** a op s for a host number s (a one-element tensor is made for it). */
export function binaryScalar(op: BinaryOp, a: Tensor, s: number): Tensor {
  const c = full(a.backend, [], s);
  const out = binary(op, a, c);
  if (!out.requiresGrad) c.free();
  return out;
}
export const addScalar = (a: Tensor, s: number): Tensor => binaryScalar('add', a, s);
export const mulScalar = (a: Tensor, s: number): Tensor => binaryScalar('mul', a, s);

export function unary(op: UnaryOp, x: Tensor, differentiable = op !== 'step'): Tensor {
  checkSame(op, x);
  checkF32(op, x);
  const out = alloc(x, x.shape);
  x.backend.unary(op, out.storage, x.storage);
  return differentiable ? record(op, [x], out) : out;
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const recip = (x: Tensor): Tensor => unary('recip', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** 1 where x > 0 else 0; not differentiable. */
export const step = (x: Tensor): Tensor => unary('step', x);

// ---- reductions ----

/** Sum (or max/min) over all elements -> scalar. Only sum is differentiable. */
export function reduceAll(op: ReduceOp, x: Tensor): Tensor {
  checkSame(op, x);
  checkF32(op, x);
  const out = alloc(x, []);
  x.backend.reduce(op, out.storage, x.storage, 1, x.size, 1);
  return op === 'sum' ? record('sum', [x], out) : out;
}

/**
 * Reduce a matrix [R,C] along an axis: 0 -> [C], 1 -> [R] (a vector [n] reduces like [1,n]).
 * Only sum is differentiable.
 */
export function reduceAxis(op: ReduceOp, x: Tensor, axis: 0 | 1): Tensor {
  checkSame(op, x);
  checkF32(op, x);
  const out = alloc(x, axis === 0 ? [x.cols] : [x.rows]);
  x.backend.reduce(op, out.storage, x.storage, x.rows, x.cols, axis);
  return op === 'sum' ? record('sumAxis', [x], out, { axis }) : out;
}

export const sum = (x: Tensor): Tensor => reduceAll('sum', x);
export const sumAxis = (x: Tensor, axis: 0 | 1): Tensor => reduceAxis('sum', x, axis);
export const mean = (x: Tensor): Tensor => mulScalar(sum(x), 1 / x.size);

// ---- shape ----

/** Same storage, new shape (same element count). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  x.assertLive('reshape');
  if (sizeOf(shape) !== x.size) throw new Error(`reshape: [${x.shape}] (${x.size} elements) cannot become [${shape}]`);
  const out = new Tensor(x.backend, x.storage, shape);
  return record('reshape', [x], out);
}

/** The same values, cut from the tape (no gradient flows through). */
export function detach(x: Tensor): Tensor {
  x.assertLive('detach');
  return new Tensor(x.backend, x.storage, x.shape);
}

/** Expand g over `shape`, where g lies over it with broadcast mode derived from the shapes. */
export function expand(g: Tensor, shape: Shape): Tensor {
  const p = broadcast('expand', shape, g.shape);
  if (p.b === 'full') return g;
  const out = alloc(g, shape);
  // max(g, g) = g: the binary primitive is the one that knows how to broadcast.
  g.backend.binary('max', out.storage, g.storage, p.b, g.storage, p.b, p.rows, p.cols);
  return out;
}

// ---- linear algebra ----

/**
 * a [m,k] . b[n,k]^T + bias [n] and its relu, as one backend call (the backend may fuse the bias and relu
 * into the product's output pass): { pre, post } with post = relu(pre). No gradient: only under noGrad
 * (the encoder pass that chooses a TopK/BatchTopK selection, whose gradients flow through recomputed values).
 */
export function linearRelu(a: Tensor, b: Tensor, bias: Tensor): { pre: Tensor; post: Tensor } {
  if (gradEnabled()) throw new Error('linearRelu: has no gradient; call it under noGrad');
  checkSame('linearRelu', a, b);
  checkSame('linearRelu', a, bias);
  for (const t of [a, b, bias]) checkF32('linearRelu', t);
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`linearRelu: needs matrices, got [${a.shape}] and [${b.shape}]`);
  const [m, k] = [a.shape[0]!, a.shape[1]!];
  const [n, k2] = [b.shape[0]!, b.shape[1]!];
  if (k !== k2) throw new Error(`linearRelu: inner dimensions differ: [${a.shape}] . [${b.shape}]ᵀ (${k} vs ${k2})`);
  if (bias.size !== n) throw new Error(`linearRelu: bias has ${bias.size} elements for ${n} outputs`);
  const pre = alloc(a, [m, n]);
  const post = alloc(a, [m, n]);
  a.backend.matmul(pre.storage, a.storage, b.storage, m, k, n, false, true, { bias: bias.storage, relu: post.storage });
  return { pre, post };
}

/** opA(a) [m,k] . opB(b) [k,n] -> [m,n]; a is [k,m] when transA, b is [n,k] when transB. */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  checkSame('matmul', a, b);
  checkF32('matmul', a);
  checkF32('matmul', b);
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`matmul: needs matrices, got [${a.shape}] and [${b.shape}]`);
  const [m, k] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [k2, n] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (k !== k2) {
    throw new Error(`matmul: inner dimensions differ: [${a.shape}]${transA ? 'ᵀ' : ''} . [${b.shape}]${transB ? 'ᵀ' : ''} (${k} vs ${k2})`);
  }
  const out = alloc(a, [m, n]);
  a.backend.matmul(out.storage, a.storage, b.storage, m, k, n, transA, transB);
  return record('matmul', [a, b], out, { transA, transB });
}
