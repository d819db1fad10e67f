// JumpReLU SAE (Rajamanoharan et al. 2024): f = pre * (pre > theta) with a learned per-latent threshold,
// trained through the rectangle-kernel straight-through estimator (ste.ts) with an L0 penalty
// lambda * mean over samples of sum_j H(pre_j - theta_j). The step is applied to the pre-activations
// (not to f, the bug noted in dictionary_learning #55).
import * as o from '../ops.js';
import { heaviside, jumprelu } from '../ste.js';
import type { Tensor } from '../tensor.js';
import { activity, center, decodeDense, mse, preActs, type ForwardCtx, type TrainOut } from './common.js';
import type { SaeParams } from './params.js';

export function jumpreluForward(x: Tensor, p: SaeParams, ctx: ForwardCtx): TrainOut {
  if (!p.theta) throw new Error('jumprelu: parameters have no theta');
  const eps = ctx.cfg.bandwidth;
  const pre = preActs(center(x, p), p);
  // ReLU first (as the paper's code; SAELens computes relu(pre) * (pre > threshold)): even if a threshold
  // is driven below 0, negative pre-activations never pass.
  const f = jumprelu(o.relu(pre), p.theta, eps);
  const xhat = decodeDense(f, p);
  const rec = mse(xhat, x);
  const l0Penalty = o.mulScalar(o.sum(heaviside(pre, p.theta, eps)), 1 / x.rows);
  const loss = o.add(rec, o.mulScalar(l0Penalty, ctx.cfg.l0Coeff));
  return { loss, mse: rec, aux: null, sparsity: l0Penalty, ...activity(f), minSelected: null, xhat };
}
