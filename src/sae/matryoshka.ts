// Matryoshka BatchTopK SAE (Bussmann, Nabeshima, Karvonen, Nanda 2025, "Learning Multi-Level Features with
// Matryoshka Sparse Autoencoders"; the BatchTopK form of saprmarks/dictionary_learning and SAELens #567).
// One dictionary whose nested prefixes (latents < w_1 < w_2 < ... < w_n = m) must each reconstruct the input
// on their own, so general features settle in the early latents and are not absorbed into the specific ones
// that come later. Selection, AuxK, the inference threshold theta and the export are BatchTopK's: one batch
// top-k over the whole dictionary, AuxK on the residual of the full width, theta calibrated on the final
// weights, saved as SAELens jumprelu. Only the reconstruction loss differs:
//   loss = sum_i weight_i * mse(b_dec + sum over selected entries with latent < w_i of v W_dec[latent], x)
// (SAELens sums every level's mse with weight 1; dictionary_learning averages them with weights 1/n, a
// constant factor Adam mostly ignores but which shifts the AuxK balance; our default is SAELens's).
//
// The sparse path: a prefix is the selection's entries with latent < w_i. The backend contract has no
// integer ops or sub-views of a selection, so each group of latents [w_{i-1}, w_i) is the same selection with
// the values of other groups zeroed (a [K] mask gathered from a per-latent indicator); its decoder gather-sum
// is one spmm, and prefix i's reconstruction is b_dec plus the running sum of the group contributions, so no
// [B,M] product is formed, forward or backward. The cost is n spmm (and n sddmm + spmmT in the backward)
// over K entries instead of one: bench/RESULTS.md, "Matryoshka", states it against plain BatchTopK.
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import { densify, gatherCols, spmm, topkBatch, type Selection } from '../sparse.js';
import { fromArray, type Tensor } from '../tensor.js';
import { decodeDense, mse, type ForwardCtx, type TrainOut } from './common.js';
import type { SaeConfig } from './config.js';
import type { SaeParams } from './params.js';
import { selectiveForward, type SelectiveDecode } from './selective.js';

/** Each prefix's loss weight: the configured ones, or 1 for every prefix. */
export function prefixWeights(cfg: Pick<SaeConfig, 'matryoshkaWidths' | 'matryoshkaWeights'>): number[] {
  return cfg.matryoshkaWeights.length ? [...cfg.matryoshkaWeights] : cfg.matryoshkaWidths.map(() => 1);
}

/** [M] 1 for latents in [lo, hi), 0 elsewhere. */
function indicator(like: Tensor, m: number, lo: number, hi: number): Tensor {
  const v = new Float32Array(m);
  v.fill(1, lo, hi);
  return fromArray(like.backend, v, [m]);
}

/**
 * The nested reconstructions of a Matryoshka SAE from the selected values: every prefix's element-mean
 * mse, the weighted sum that is the loss term, and the full-width reconstruction (for AuxK and metrics).
 * With ctx.dense, each prefix is decoded literally as a dense product of the latents below its width (the
 * reference the sparse path is checked against).
 */
export const matryoshkaDecode: SelectiveDecode = (vals, sel, x, p, ctx) => {
  const widths = ctx.cfg.matryoshkaWidths;
  if (widths.length === 0) throw new Error('matryoshka: no matryoshkaWidths in the SAE config (build it with makeSaeConfig)');
  const weights = prefixWeights(ctx.cfg);
  const m = sel.cols;
  const prefixMse: Tensor[] = [];
  let rec: Tensor | null = null;
  let acc: Tensor | null = null; // b_dec + the group contributions so far
  let lo = 0;
  for (let i = 0; i < widths.length; i++) {
    const hi = widths[i]!;
    let xhat: Tensor;
    if (ctx.dense) {
      const mask = noGrad(() => gatherCols(indicator(vals, m, 0, hi), sel));
      xhat = decodeDense(densify(o.mul(vals, mask), sel), p);
    } else {
      const mask = noGrad(() => gatherCols(indicator(vals, m, lo, hi), sel));
      const part = spmm(o.mul(vals, mask), sel, p.W_dec);
      xhat = acc ? o.add(acc, part) : o.add(part, p.b_dec);
      acc = xhat;
    }
    // A prefix of weight 0 is reported, not trained on: keep it off the tape.
    const w = weights[i]!;
    const err = w > 0 ? mse(xhat, x) : noGrad(() => mse(xhat, x));
    prefixMse.push(err);
    if (w > 0) {
      const term = w === 1 ? err : o.mulScalar(err, w);
      rec = rec ? o.add(rec, term) : term;
    }
    lo = hi;
    if (i === widths.length - 1) return { xhat, mse: err, rec: rec!, prefixMse };
  }
  throw new Error('matryoshka: unreachable');
};

export function matryoshkaForward(x: Tensor, p: SaeParams, ctx: ForwardCtx): TrainOut & { sel: Selection } {
  return selectiveForward(x, p, ctx, (post) => topkBatch(post, Math.min(x.rows * ctx.cfg.k, post.size)), matryoshkaDecode);
}

/**
 * Inference-time prefix reconstructions of dense latents f [B,M]: b_dec + f[:, < w_i] W_dec[< w_i] for every
 * width, narrowest first (normalised space; no gradient). For eval's per-prefix nmse.
 */
export function prefixReconstructions(f: Tensor, p: SaeParams, widths: readonly number[]): Tensor[] {
  return noGrad(() => {
    const m = f.cols;
    const out: Tensor[] = [];
    let acc: Tensor | null = null;
    let lo = 0;
    for (const hi of widths) {
      if (hi > m) throw new Error(`matryoshka: width ${hi} exceeds the ${m} latents`);
      const part = o.matmul(o.mul(f, indicator(f, m, lo, hi)), p.W_dec);
      acc = acc ? o.add(acc, part) : o.add(part, p.b_dec);
      out.push(acc);
      lo = hi;
    }
    return out;
  });
}
