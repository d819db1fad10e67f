// The gradient table: one entry per recorded op, mapping the output gradient g to the gradients of the
// inputs (null where an input gets none). Rules run under noGrad, so they record nothing themselves.
// Broadcast inputs get the gradient summed back to their own shape (unbroadcast).
import * as o from '../ops.js';
import { sddmm, spmm, spmmT, sumByCol, type Selection, gatherAt } from '../sparse.js';
import { Tensor, full, zeros } from '../tensor.js';
import type { TapeNode } from './tape.js';

type Rule = (g: Tensor, n: TapeNode) => (Tensor | null)[];

/** Sum g (shaped like the op output) back down to `like`'s shape, undoing a broadcast. */
export function unbroadcast(g: Tensor, like: Tensor): Tensor {
  if (g.size === like.size) return g.rank === like.rank ? g : o.reshape(g, like.shape);
  if (like.size === 1) return o.reshape(o.sum(g), like.shape);
  // row vector [C] / [1,C] over [R,C]: sum the rows; column [R,1]: sum the columns.
  if (like.cols === g.cols && like.rows === 1) return o.reshape(o.sumAxis(g, 0), like.shape);
  return o.reshape(o.sumAxis(g, 1), like.shape);
}

const sel = (n: TapeNode): Selection => n.attrs.sel as Selection;
const [a0, a1] = [(n: TapeNode) => n.inputs[0]!, (n: TapeNode) => n.inputs[1]!];
/** Whether input j of the node takes a gradient (a rule may skip computing one that is dropped anyway). */
const need = (n: TapeNode, j: number): boolean => n.inputs[j]!.requiresGrad;

/** rect((x - theta)/eps) * g summed over rows, times -scale/eps: the STE gradient of theta. */
function thetaGrad(g: Tensor, x: Tensor, theta: Tensor, eps: number, scale: Tensor | null): Tensor {
  const dist = o.abs(o.sub(x, theta));
  const inWindow = o.gt(full(g.backend, [], eps / 2), dist); // |x - theta| < eps/2
  let t = o.mul(inWindow, g);
  if (scale) t = o.mul(t, scale);
  return o.mulScalar(o.sumAxis(t, 0), -1 / eps);
}

export const rules: Record<string, Rule> = {
  // The elementwise rules skip an input that takes no gradient (data, masks): x - b_dec, xhat - x, v * step.
  add: (g, n) => [need(n, 0) ? unbroadcast(g, a0(n)) : null, need(n, 1) ? unbroadcast(g, a1(n)) : null],
  sub: (g, n) => [need(n, 0) ? unbroadcast(g, a0(n)) : null, need(n, 1) ? unbroadcast(o.neg(g), a1(n)) : null],
  mul: (g, n) => [need(n, 0) ? unbroadcast(o.mul(g, a1(n)), a0(n)) : null, need(n, 1) ? unbroadcast(o.mul(g, a0(n)), a1(n)) : null],
  div: (g, n) => [
    unbroadcast(o.div(g, a1(n)), a0(n)),
    unbroadcast(o.neg(o.div(o.mul(g, n.out), a1(n))), a1(n)), // d(a/b)/db = -(a/b)/b
  ],
  // NOTE: ties go to the first operand, so the two gradients sum to g.
  max: (g, n) => {
    const m = o.ge(a0(n), a1(n));
    return [unbroadcast(o.mul(g, m), a0(n)), unbroadcast(o.sub(g, o.mul(g, m)), a1(n))];
  },
  min: (g, n) => {
    const m = o.ge(a1(n), a0(n));
    return [unbroadcast(o.mul(g, m), a0(n)), unbroadcast(o.sub(g, o.mul(g, m)), a1(n))];
  },
  neg: (g) => [o.neg(g)],
  exp: (g, n) => [o.mul(g, n.out)],
  log: (g, n) => [o.div(g, a0(n))],
  sqrt: (g, n) => [o.div(o.mulScalar(g, 0.5), n.out)],
  // NOTE: |x|'(0) = 0, like step(x) - step(-x).
  abs: (g, n) => [o.mul(g, o.sub(o.step(a0(n)), o.step(o.neg(a0(n)))))],
  square: (g, n) => [o.mul(g, o.mulScalar(a0(n), 2))],
  recip: (g, n) => [o.neg(o.mul(g, o.square(n.out)))],
  // NOTE: relu'(0) = 0, so the mask is step(x) = (x > 0), not (x >= 0).
  relu: (g, n) => [o.mul(g, o.step(a0(n)))],
  sum: (g, n) => [o.expand(g, a0(n).shape)],
  sumAxis: (g, n) => {
    const x = a0(n);
    // axis 0 gives [C]: spread as a row; axis 1 gives [R]: spread as a column [R,1].
    return [o.expand(n.attrs.axis === 0 ? g : o.reshape(g, [x.rows, 1]), x.shape)];
  },
  reshape: (g, n) => [o.reshape(g, a0(n).shape)],
  matmul: (g, n) => {
    const { transA, transB } = n.attrs as { transA: boolean; transB: boolean };
    const [a, b] = [a0(n), a1(n)];
    // out = opA(a) opB(b): d opA(a) = g opB(b)^T, d opB(b) = opA(a)^T g, then undo the storage transposes.
    const da = transA ? o.matmul(b, g, transB, true) : o.matmul(g, b, false, !transB);
    const db = transB ? o.matmul(g, a, true, transA) : o.matmul(a, g, !transA, false);
    return [da, db];
  },
  sddmm: (g, n) => [spmm(g, sel(n), a1(n)), spmmT(g, sel(n), a0(n))],
  sddmmCentered: (g, n) => {
    const [b, w, xc] = [a0(n), a1(n), n.attrs.xc as Tensor];
    const colSums = o.reshape(sumByCol(g, sel(n)), [1, w.rows]);
    return [o.reshape(o.neg(o.matmul(colSums, w)), b.shape), spmmT(g, sel(n), xc)];
  },
  spmm: (g, n) => [sddmm(g, a1(n), sel(n)), spmmT(a0(n), sel(n), g)],
  spmmT: (g, n) => [sddmm(a1(n), g, sel(n)), spmm(a0(n), sel(n), g)],
  gatherAt: (g, n) => {
    const x = a0(n);
    const dx = zeros(x.backend, x.shape);
    x.backend.scatterAdd(dx.storage, g.storage, sel(n).idx.storage);
    return [dx];
  },
  densify: (g, n) => [gatherAt(g, sel(n))],
  jumprelu: (g, n) => {
    const [x, theta] = [a0(n), a1(n)];
    const dx = o.mul(g, o.gt(x, theta));
    return [dx, thetaGrad(g, x, theta, n.attrs.eps as number, theta)];
  },
  heaviside: (g, n) => [null, thetaGrad(g, a0(n), a1(n), n.attrs.eps as number, null)],
};
