// The batch-top-k encoding of a whole batch with no gradient: the selection BatchTopK trains with (ReLU,
// then the rows*k largest entries of the batch), as the paper's code also evaluates. Used to calibrate the
// inference threshold theta (the cut of each batch) and to report batch-top-k metrics beside the
// batch-independent inference metrics.
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import { densify, gatherAt, topkBatch } from '../sparse.js';
import type { Tensor } from '../tensor.js';
import { center, decodeDense, preActsRelu } from './common.js';
import type { SaeParams } from './params.js';

/** Stands in for +inf when taking the minimum over positive entries only. */
const BIG = 3.0e38;

export interface BatchEncoding {
  /** [B,M] the selected post-ReLU values, zero elsewhere. */
  f: Tensor;
  /** Scalar: the smallest positive selected value (theta_b, the batch's cut); >= 1e38 when none is positive. */
  minSelected: Tensor;
}

/** Batch top-k of x [B,D] (normalised space) keeping min(B*k, B*M) entries. */
export function encodeBatchTopK(x: Tensor, p: SaeParams, k: number): BatchEncoding {
  return noGrad(() => {
    const { pre, post } = preActsRelu(center(x, p), p);
    pre.free(); // only the ReLU is read
    const sel = topkBatch(post, Math.min(Math.round(x.rows * k), post.size));
    const chosen = gatherAt(post, sel);
    const minSelected = o.reduceAll('min', o.add(chosen, o.mulScalar(o.addScalar(o.step(chosen), -1), -BIG)));
    return { f: densify(chosen, sel), minSelected };
  });
}

export function reconstructBatchTopK(x: Tensor, p: SaeParams, k: number): { f: Tensor; xhat: Tensor } {
  const { f } = encodeBatchTopK(x, p, k);
  return { f, xhat: noGrad(() => decodeDense(f, p)) };
}
