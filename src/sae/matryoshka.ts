// Matryoshka BatchTopK SAE (Bussmann, Nabeshima, Karvonen, Nanda 2025, "Learning Multi-Level Features with
// Matryoshka Sparse Autoencoders"; the BatchTopK form of saprmarks/dictionary_learning and SAELens #567).
// One dictionary whose nested prefixes (latents < w_1 < w_2 < ... < w_n = m) must each reconstruct the input
// on their own, so general features settle in the early latents and are not absorbed into the specific ones
// that come later. Selection, AuxK, the inference threshold theta and the export are BatchTopK's: one batch
// top-k over the whole dictionary, AuxK on the residual of the full width, theta calibrated on the final
// weights, saved as SAELens jumprelu. Only the reconstruction loss differs:
//   loss = sum_i weight_i * mse(b_dec + sum over selected entries with latent < w_i of v W_dec[latent], x)
// SAELens sums every level's mse with weight 1; dictionary_learning averages them (weights 1/n; the overall
// scale only moves AuxK's balance, and measured no effect). Both leave the full width 1/n of the loss, which
// costs it 13-15% nmse against plain BatchTopK at equal steps on stories260K. Our default weighs each prefix by
// its share of the dictionary, w_i / m (config.ts defaultMatryoshkaWeights): the full width weighs 1 as plain
// BatchTopK's loss does, and the nested halvings add 7/8 more on the early latents (bench/RESULTS.md).
//
// The sparse path: a prefix is the selection's entries with latent < w_i, i.e. the union of the latent groups
// [w_{j-1}, w_j) for j <= i; prefix i's reconstruction is b_dec plus the running sum of the groups' decoder
// gather-sums, so no [B,M] product is formed, forward or backward. Two ways to get each group's entries:
//   - matryoshkaForward (synchronous, the tape-only path every spec can call): the group is the whole
//     selection with the other groups' values masked to 0; n spmm (and n sddmm + spmmT backward) over all K.
//   - selectGrouped + matryoshkaForwardGrouped (what the Trainer runs): the selection's indices are read to the
//     host once and split by latent into one strictly ascending sub-selection per group (entries keep their
//     row-major order), so every entry is recomputed, decoded and back-propagated once, as in plain BatchTopK.
//     The backend contract has no integer ops to split them on the device; the read is K i32 (512 KB at
//     B 4096, k 32), one sync per step.
// bench/RESULTS.md, "Matryoshka", states both against plain BatchTopK.
import type { Backend } from '../backend/backend.js';
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import { densify, gatherAt, gatherCols, sddmmCentered, spmm, sumByCol, topkBatch, type Selection } from '../sparse.js';
import { fromArray, full, tidy, type Tensor } from '../tensor.js';
import { auxkLoss } from './auxk.js';
import { center, decodeDense, mse, preActsRelu, type ForwardCtx, type TrainOut } from './common.js';
import { defaultMatryoshkaWeights, type SaeConfig } from './config.js';
import type { SaeParams } from './params.js';
import { selectiveForward, type SelectiveDecode } from './selective.js';

/** Each prefix's loss weight: the configured ones, or the defaults (w_i / m, config.ts defaultMatryoshkaWeights). */
export function prefixWeights(cfg: Pick<SaeConfig, 'matryoshkaWidths' | 'matryoshkaWeights'>): number[] {
  return cfg.matryoshkaWeights.length ? [...cfg.matryoshkaWeights] : defaultMatryoshkaWeights(cfg.matryoshkaWidths);
}

/**
 * The group indicators made so far, per backend: made once and kept, because on a device every new one is an
 * upload, and a write submits the work recorded before it (4 uploads and submits a step at 4 groups).
 */
const indicators = new WeakMap<Backend, Map<string, Tensor>>();

/** [M] 1 for latents in [lo, hi), 0 elsewhere (kept: the caller must not free it). */
function indicator(like: Tensor, m: number, lo: number, hi: number): Tensor {
  let made = indicators.get(like.backend);
  if (!made) indicators.set(like.backend, (made = new Map()));
  const key = `${m}:${lo}:${hi}`;
  let t = made.get(key);
  if (!t) {
    const v = new Float32Array(m);
    v.fill(1, lo, hi);
    t = fromArray(like.backend, v, [m]).keep();
    made.set(key, t);
  }
  return t;
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

/** Stands in for +inf when taking the minimum over positive entries only. */
const BIG = 3.0e38;

/** A Matryoshka step's batch selection, split by latent group; every tensor is kept until free(). */
export interface GroupedSelection {
  /** x - b_dec [B,D] and the dense pre-activations [B,M] (for AuxK), no gradient. */
  xc: Tensor;
  pre: Tensor;
  /** The smallest positive selected activation (scalar). */
  minSelected: Tensor;
  /** Per latent group [w_{i-1}, w_i): its entries (ascending flat indices) and their selected values, or null when none. */
  groups: ({ sel: Selection; chosen: Tensor } | null)[];
  free(): void;
}

/**
 * The batch top-k selection of x [B,D] (normalised space) over the whole dictionary, as BatchTopK's, and its
 * split into one sub-selection per latent group (one read of the K indices).
 */
export async function selectGrouped(x: Tensor, p: SaeParams, cfg: SaeConfig): Promise<GroupedSelection> {
  const widths = cfg.matryoshkaWidths;
  if (widths.length === 0) throw new Error('matryoshka: no matryoshkaWidths in the SAE config (build it with makeSaeConfig)');
  const kept: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => (kept.push(t.keep()), t);
  const { xc, pre, post, sel, minSelected } = noGrad(() =>
    tidy(() => {
      const xc = center(x, p);
      const { pre, post } = preActsRelu(xc, p);
      const sel = topkBatch(post, Math.min(x.rows * cfg.k, post.size));
      const chosen = gatherAt(post, sel);
      const minSelected = o.reduceAll('min', o.add(chosen, o.mulScalar(o.addScalar(o.step(chosen), -1), -BIG)));
      return { xc: keep(xc), pre: keep(pre), post: keep(post), sel: { ...sel, idx: keep(sel.idx) }, minSelected: keep(minSelected) };
    }),
  );
  const free = () => kept.forEach((t) => t.free());
  try {
    const idx = (await sel.idx.read()) as Int32Array;
    const m = sel.cols;
    const groupOf = new Int32Array(m);
    widths.forEach((hi, g) => groupOf.fill(g, g ? widths[g - 1]! : 0, hi));
    const counts = new Int32Array(widths.length);
    for (let i = 0; i < idx.length; i++) counts[groupOf[idx[i]! % m]!]!++;
    const parts = Array.from(counts, (n) => new Int32Array(n));
    const fill = new Int32Array(widths.length);
    for (let i = 0; i < idx.length; i++) {
      const g = groupOf[idx[i]! % m]!;
      parts[g]![fill[g]!++] = idx[i]!;
    }
    const groups = noGrad(() =>
      parts.map((part) => {
        if (part.length === 0) return null;
        const gsel: Selection = { idx: keep(fromArray(x.backend, part, [part.length], 'i32')), rows: sel.rows, cols: m };
        return { sel: gsel, chosen: keep(gatherAt(post, gsel)) };
      }),
    );
    post.free(); // [B,M]: only the groups' values were needed
    return { xc, pre, minSelected, groups, free };
  } catch (err) {
    free();
    throw err;
  }
}

/**
 * The taped Matryoshka forward over a grouped selection: each group's values recomputed at its own entries
 * (gradients reach W_enc, b_enc and b_dec there), each prefix's reconstruction the running sum of the groups'
 * decoder gather-sums plus b_dec, the loss the weighted sum of the prefixes' mse plus alpha AuxK on the full
 * width's residual. Equal to matryoshkaForward up to summation order (spec/sae/matryoshka.spec.ts).
 */
export function matryoshkaForwardGrouped(x: Tensor, p: SaeParams, ctx: ForwardCtx, gs: GroupedSelection): TrainOut {
  const { cfg } = ctx;
  const weights = prefixWeights(cfg);
  const prefixMse: Tensor[] = [];
  let rec: Tensor | null = null;
  let acc: Tensor | null = null;
  let l0: Tensor | null = null;
  let fired: Tensor | null = null;
  for (const [i, group] of gs.groups.entries()) {
    if (group) {
      const { sel, chosen } = group;
      // An entry chosen at 0 (fewer positives than the selection size) stays 0, as in selective.ts.
      const vals = o.mul(o.relu(o.add(sddmmCentered(gs.xc, p.b_dec, p.W_enc, sel), gatherCols(p.b_enc, sel))), o.step(chosen));
      const part = spmm(vals, sel, p.W_dec);
      acc = acc ? o.add(acc, part) : o.add(part, p.b_dec);
      const act = noGrad(() => {
        const on = o.step(vals);
        return { n: o.sum(on), f: sumByCol(on, sel) };
      });
      l0 = l0 ? o.add(l0, act.n) : act.n;
      fired = fired ? o.add(fired, act.f) : act.f;
    } else acc ??= o.add(full(x.backend, x.shape, 0), p.b_dec);
    const xhat = acc;
    const w = weights[i]!;
    const err = w > 0 ? mse(xhat, x) : noGrad(() => mse(xhat, x));
    prefixMse.push(err);
    if (w > 0) rec = rec ? o.add(rec, w === 1 ? err : o.mulScalar(err, w)) : w === 1 ? err : o.mulScalar(err, w);
  }
  const xhat = acc!;
  const aux = ctx.dead && ctx.deadCount > 0 ? auxkLoss(gs.xc, gs.pre, o.sub(x, xhat), p, ctx) : null;
  const loss = aux ? o.add(rec!, o.mulScalar(aux, cfg.auxAlpha)) : rec!;
  const noneFired = () => full(x.backend, [cfg.dSae], 0);
  return {
    loss,
    mse: prefixMse[prefixMse.length - 1]!,
    prefixMse,
    aux,
    sparsity: null,
    l0: noGrad(() => o.mulScalar(l0 ?? full(x.backend, [], 0), 1 / x.rows)),
    fired: fired ?? noneFired(),
    minSelected: gs.minSelected,
    xhat,
  };
}
