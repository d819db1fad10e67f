// BatchTopK SAE (Bussmann et al. 2024): the batch of n samples keeps its n*k largest post-ReLU latents,
// so samples get a variable number of latents while the mean stays k. At inference a global threshold
// theta replaces the batch selection (see threshold.ts and inference.ts).
import { topkBatch } from '../sparse.js';
import type { Tensor } from '../tensor.js';
import type { ForwardCtx, TrainOut } from './common.js';
import type { SaeParams } from './params.js';
import { selectiveForward } from './selective.js';

export function batchtopkForward(x: Tensor, p: SaeParams, ctx: ForwardCtx): TrainOut {
  return selectiveForward(x, p, ctx, (post) => topkBatch(post, Math.min(x.rows * ctx.cfg.k, post.size)));
}
