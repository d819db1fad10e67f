// Input normalisation, applied on the device before the SAE and undone on its output, so every metric is
// in the original activation space.
//   none:      x
//   layernorm: per token (x - mean_d(x)) / (std_d(x) + 1e-5), as the BatchTopK paper's code and SAELens's
//              layer_norm (std is torch's default, the unbiased std over d: divide by d - 1); x_hat is mapped
//              back as x_hat * std_d(x) + mean_d(x), without the eps, exactly as SAELens undoes it.
//   scalar:    one factor s = sqrt(d) / E||x|| (estimated once, on the first batch) so that E||s x|| = sqrt(d),
//              as SAELens's expected_average_only_in; folded into the weights on export.
import * as o from '../ops.js';
import { scalar, type Tensor } from '../tensor.js';
import type { NormalizeMode } from './config.js';

export const LAYERNORM_EPS = 1e-5;

export interface Normalized {
  x: Tensor;
  /** Map a reconstruction in normalised space back to the original space. */
  undo(xhat: Tensor): Tensor;
}

export function normalizeInput(x: Tensor, mode: NormalizeMode, scale: number): Normalized {
  if (mode === 'none') return { x, undo: (y) => y };
  if (mode === 'scalar') {
    const s = scalar(x.backend, scale);
    return { x: o.mul(x, s), undo: (y) => o.div(y, s) };
  }
  const d = x.cols;
  const mu = o.reshape(o.mulScalar(o.sumAxis(x, 1), 1 / d), [x.rows, 1]);
  const xc = o.sub(x, mu);
  const std = o.reshape(o.sqrt(o.mulScalar(o.sumAxis(o.square(xc), 1), 1 / Math.max(d - 1, 1))), [x.rows, 1]);
  // In: divide by std + eps; out: multiply by std alone, as SAELens's run_time_activation_ln_out does, so an
  // exported 'layer_norm' SAE reconstructs exactly what ours does.
  return { x: o.div(xc, o.addScalar(std, LAYERNORM_EPS)), undo: (y) => o.add(o.mul(y, std), mu) };
}

/** The scalar-mode factor sqrt(d) / mean ||x|| of a host batch [n, d] (float64). */
export function scalarNormFactor(batch: Float32Array, d: number): number {
  const n = batch.length / d;
  let total = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += batch[r * d + c]! ** 2;
    total += Math.sqrt(s);
  }
  const meanNorm = total / n;
  if (!(meanNorm > 0)) throw new Error('scalar normalisation: the first batch has zero mean norm');
  return Math.sqrt(d) / meanNorm;
}
