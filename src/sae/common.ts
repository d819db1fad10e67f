// What every SAE forward shares: centring, the dense encoder pre-activations, decoding, and the
// reconstruction loss. Losses are element means over [B,D] (as the BatchTopK paper's code), so the
// AuxK and sparsity terms are on the same scale for every batch size and width.
import { gradEnabled } from '../autodiff/tape.js';
import * as o from '../ops.js';
import type { Tensor } from '../tensor.js';
import type { SaeConfig } from './config.js';
import type { SaeParams } from './params.js';

export interface TrainOut {
  /** Total loss (scalar, differentiable). */
  loss: Tensor;
  /** Reconstruction MSE, element mean (scalar); for Matryoshka, of the full width (the last prefix). */
  mse: Tensor;
  /** Matryoshka: each prefix's reconstruction MSE (element mean, unweighted), narrowest first. */
  prefixMse?: Tensor[];
  /** AuxK loss before the alpha weight (scalar), or null when not applicable / no dead latent. */
  aux: Tensor | null;
  /** Sparsity penalty before its coefficient (L1 for relu, L0 for jumprelu), or null. */
  sparsity: Tensor | null;
  /** Mean number of positive latents per sample (scalar, no gradient). */
  l0: Tensor;
  /** [M] count of samples in which each latent was positive (no gradient). */
  fired: Tensor;
  /** The smallest positive selected activation of the batch (topk/batchtopk), or null. */
  minSelected: Tensor | null;
  /** Reconstruction [B,D] in the (normalised) input space. */
  xhat: Tensor;
}

/** Forward options shared by the architectures. */
export interface ForwardCtx {
  cfg: SaeConfig;
  /**
   * [M] 1 for dead latents, 0 otherwise, and an upper bound of how many there are (AuxK): the exact count, or
   * dSae when the count stays on the device (auxk.ts gates the loss there). 0 or a null mask: no AuxK.
   */
  dead: Tensor | null;
  deadCount: number;
  /** Decode through the dense [B,M] product instead of the sparse path (the reference it is checked against). */
  dense?: boolean;
}

/** x - b_dec: [B,D]. */
export const center = (x: Tensor, p: SaeParams): Tensor => o.sub(x, p.b_dec);

/** Dense pre-activations (x - b_dec) W_enc^T + b_enc: [B,M]. */
export function preActs(xc: Tensor, p: SaeParams): Tensor {
  const product = o.matmul(xc, p.W_enc, false, true);
  const pre = o.add(product, p.b_enc);
  // Without a tape nothing refers to the product: free its [B,M] now rather than at the end of the step.
  if (!gradEnabled()) product.free();
  return pre;
}

/** Under noGrad: the pre-activations and their ReLU ([B,M] each) in one fused backend call. */
export function preActsRelu(xc: Tensor, p: SaeParams): { pre: Tensor; post: Tensor } {
  return o.linearRelu(xc, p.W_enc, p.b_enc);
}

/** Dense decode f W_dec + b_dec: [B,D]. */
export function decodeDense(f: Tensor, p: SaeParams): Tensor {
  return o.add(o.matmul(f, p.W_dec), p.b_dec);
}

/** Element-mean squared error. */
export function mse(xhat: Tensor, x: Tensor): Tensor {
  return o.mean(o.square(o.sub(xhat, x)));
}

/** Mean count of positive entries per row of f [B,M], and per-column positive counts [M] (no gradient). */
export function activity(f: Tensor): { l0: Tensor; fired: Tensor } {
  const on = o.step(f);
  return { l0: o.mulScalar(o.sum(on), 1 / f.rows), fired: o.sumAxis(on, 0) };
}
