// The AuxK loss (Gao et al. 2024, used by the BatchTopK paper): the top-kAux dead latents (by
// pre-activation) reconstruct the detached residual x - x_hat, decoded WITHOUT b_dec (it is already in
// x_hat, so adding it again would double count it, as sparsify #132 did). Its gradient reaches the
// encoder through the values recomputed at the selected entries.
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import { gatherCols, sddmmCentered, spmm, topkRows } from '../sparse.js';
import { scalar, type Tensor } from '../tensor.js';
import type { ForwardCtx } from './common.js';
import type { SaeParams } from './params.js';

/** Stands in for -inf on non-dead latents (kernels may assume no infinities). */
const MASKED = -3.0e38;

/**
 * AuxK loss (element mean, before alpha) for centred input xc = x - b_dec [B,D] (computed without gradient:
 * b_dec's gradient comes through sddmmCentered), dense pre-activations pre [B,M] (any gradient ignored),
 * residual = x - x_hat [B,D]. Null when ctx says no latent can be dead.
 *
 * ctx.deadCount bounds the dead latents from above: the exact count, or dSae when only the device knows it
 * (the Trainer never reads it back). Each row selects min(kAux, dSae, deadCount) latents; picks beyond the
 * dead ones carry the value 0 (the dead mask), so they add exact zeros to the reconstruction and to every
 * gradient, and the result equals the exact-count selection's bit for bit (spec/train/auxk_gate.spec.ts).
 * The loss is multiplied by the gate min(1, sum(dead)), computed on the device: exactly 0 with no dead latent
 * (where the zero-valued picks would otherwise leave mean(residual^2)), exactly 1 otherwise.
 */
export function auxkLoss(xc: Tensor, pre: Tensor, residual: Tensor, p: SaeParams, ctx: ForwardCtx): Tensor | null {
  const { dead, deadCount, cfg } = ctx;
  if (!dead || deadCount === 0) return null;
  const kAux = Math.min(cfg.kAux, cfg.dSae, deadCount);
  const sel = noGrad(() => {
    // pre where dead, MASKED elsewhere: pre*dead + (dead-1)*3e38 is exact (pre*0 = 0, pre*1 = pre).
    const masked = o.add(o.mul(pre, dead), o.mulScalar(o.addScalar(dead, -1), -MASKED));
    return topkRows(masked, kAux);
  });
  // A row may still pick a live latent when its dead pre-activations tie at the mask value; the dead
  // mask zeroes such picks.
  const vals = o.mul(o.relu(o.add(sddmmCentered(xc, p.b_dec, p.W_enc, sel), gatherCols(p.b_enc, sel))), gatherCols(dead, sel));
  const recon = spmm(vals, sel, p.W_dec);
  const gate = noGrad(() => o.minimum(o.sum(dead), scalar(dead.backend, 1)));
  return o.mul(o.mean(o.square(o.sub(recon, o.detach(residual)))), gate);
}
