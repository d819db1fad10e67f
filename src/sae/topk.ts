// TopK SAE (Gao et al. 2024): each sample keeps its k largest post-ReLU latents.
import { topkRows } from '../sparse.js';
import type { Tensor } from '../tensor.js';
import type { ForwardCtx, TrainOut } from './common.js';
import type { SaeParams } from './params.js';
import { selectiveForward } from './selective.js';

export function topkForward(x: Tensor, p: SaeParams, ctx: ForwardCtx): TrainOut {
  return selectiveForward(x, p, ctx, (post) => topkRows(post, ctx.cfg.k));
}
