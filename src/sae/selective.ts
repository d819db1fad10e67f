// The shared training forward of TopK and BatchTopK SAEs: a dense no-gradient encoder pass chooses the
// entries, the selected values are recomputed at those entries (so gradients of W_enc and b_enc touch
// only selected entries), and the decoder is a sparse gather-sum of decoder rows.
// ReLU comes before the selection (as the paper's code): zero or negative entries never outrank a
// positive one, and a selected entry whose value is 0 contributes nothing.
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import { densify, gatherAt, gatherCols, sddmmCentered, spmm, sumByCol, type Selection } from '../sparse.js';
import type { Tensor } from '../tensor.js';
import { auxkLoss } from './auxk.js';
import { center, decodeDense, mse, preActsRelu, type ForwardCtx, type TrainOut } from './common.js';
import type { SaeParams } from './params.js';

/** Stands in for +inf when taking the minimum over positive entries only. */
const BIG = 3.0e38;

/** How the selected values become a reconstruction and its loss term (Matryoshka sums nested prefixes). */
export type SelectiveDecode = (
  vals: Tensor,
  sel: Selection,
  x: Tensor,
  p: SaeParams,
  ctx: ForwardCtx,
) => { xhat: Tensor; mse: Tensor; rec: Tensor; prefixMse?: Tensor[] };

/** One reconstruction: the sparse gather-sum of decoder rows plus b_dec (or the dense reference). */
export const plainDecode: SelectiveDecode = (vals, sel, x, p, ctx) => {
  const xhat = ctx.dense ? decodeDense(densify(vals, sel), p) : o.add(spmm(vals, sel, p.W_dec), p.b_dec);
  const rec = mse(xhat, x);
  return { xhat, mse: rec, rec };
};

export function selectiveForward(
  x: Tensor,
  p: SaeParams,
  ctx: ForwardCtx,
  select: (post: Tensor) => Selection,
  decode: SelectiveDecode = plainDecode,
): TrainOut & { sel: Selection } {
  // x - b_dec off the tape: b_dec's encoder-side gradient comes from sddmmCentered without a [B,D] product.
  const xc = noGrad(() => center(x, p));
  const { pre, post, sel, minSelected, chosen } = noGrad(() => {
    const { pre, post } = preActsRelu(xc, p);
    const sel = select(post);
    // The cut: the smallest positive selected activation (BIG when none is positive).
    const chosen = gatherAt(post, sel);
    const minSelected = o.reduceAll('min', o.add(chosen, o.mulScalar(o.addScalar(o.step(chosen), -1), -BIG)));
    return { pre, post, sel, minSelected, chosen };
  });
  post.free();
  // The recomputed values round differently from the dense pass that chose them: an entry chosen at 0
  // (fewer positives than the selection size) must stay 0, so the kept-nonzero count is exact.
  const vals = o.mul(o.relu(o.add(sddmmCentered(xc, p.b_dec, p.W_enc, sel), gatherCols(p.b_enc, sel))), o.step(chosen)); // [K]
  const { xhat, mse: full, rec, prefixMse } = decode(vals, sel, x, p, ctx);
  // The residual only when some latent is dead (auxkLoss is null otherwise): no [B,D] pass for nothing.
  const aux = ctx.dead && ctx.deadCount > 0 ? auxkLoss(xc, pre, o.sub(x, xhat), p, ctx) : null;
  pre.free(); // [B,M], no gradient: nothing reads it after the AuxK selection (frees memory for the update)
  const loss = aux ? o.add(rec, o.mulScalar(aux, ctx.cfg.auxAlpha)) : rec;
  const { l0, fired } = noGrad(() => {
    const on = o.step(vals);
    return { l0: o.mulScalar(o.sum(on), 1 / x.rows), fired: sumByCol(on, sel) };
  });
  return { loss, mse: full, aux, sparsity: null, l0, fired, minSelected, xhat, sel, ...(prefixMse ? { prefixMse } : {}) };
}
