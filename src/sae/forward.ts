// Dispatch of the training forward by architecture.
import type { Tensor } from '../tensor.js';
import { batchtopkForward } from './batchtopk.js';
import type { ForwardCtx, TrainOut } from './common.js';
import { jumpreluForward } from './jumprelu.js';
import { matryoshkaForward } from './matryoshka.js';
import type { SaeParams } from './params.js';
import { reluForward } from './relu.js';
import { topkForward } from './topk.js';

export function trainForward(x: Tensor, p: SaeParams, ctx: ForwardCtx): TrainOut {
  switch (ctx.cfg.arch) {
    case 'batchtopk':
      return batchtopkForward(x, p, ctx);
    case 'topk':
      return topkForward(x, p, ctx);
    case 'jumprelu':
      return jumpreluForward(x, p, ctx);
    case 'relu':
      return reluForward(x, p, ctx);
    case 'matryoshka':
      return matryoshkaForward(x, p, ctx);
  }
}
