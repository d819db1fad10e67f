// ReLU SAE (Bricken et al. 2023): f = relu(pre) with an L1 penalty lambda * mean over samples of sum_j f_j.
// Decoder rows are kept at unit norm, so the L1 term cannot be shrunk by rescaling the decoder.
import * as o from '../ops.js';
import type { Tensor } from '../tensor.js';
import { activity, center, decodeDense, mse, preActs, type ForwardCtx, type TrainOut } from './common.js';
import type { SaeParams } from './params.js';

export function reluForward(x: Tensor, p: SaeParams, ctx: ForwardCtx): TrainOut {
  const f = o.relu(preActs(center(x, p), p));
  const xhat = decodeDense(f, p);
  const rec = mse(xhat, x);
  const l1 = o.mulScalar(o.sum(f), 1 / x.rows);
  const loss = o.add(rec, o.mulScalar(l1, ctx.cfg.l1Coeff));
  return { loss, mse: rec, aux: null, sparsity: l1, ...activity(f), minSelected: null, xhat };
}
