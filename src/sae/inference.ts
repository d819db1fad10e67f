// Inference encoding, free of any batch dependency: batchtopk is JumpReLU with the global threshold theta,
// keeping pre >= theta (theta is the average smallest KEPT value, so >= reproduces a batch selection
// exactly when theta equals its cut; SAELens's rule is pre > threshold, so the export writes the largest
// f32 below theta, which is the same rule for f32 activations), topk keeps its fixed k per sample,
// jumprelu uses its learned thresholds (relu(pre) * (pre > theta), as SAELens), relu is plain. Returns dense latents [B,M] and the reconstruction [B,D] (normalised space).
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import { densify, gatherAt, topkRows } from '../sparse.js';
import { scalar, type Tensor } from '../tensor.js';
import { center, decodeDense, preActs } from './common.js';
import { thresholds } from './jumprelu.js';
import type { SaeConfig } from './config.js';
import type { SaeParams } from './params.js';

export function encodeInference(x: Tensor, p: SaeParams, cfg: SaeConfig, theta: number): Tensor {
  return noGrad(() => {
    const pre = preActs(center(x, p), p);
    switch (cfg.arch) {
      case 'batchtopk':
      case 'matryoshka': {
        if (!(theta > 0)) throw new Error(`inference: ${cfg.arch} needs a positive threshold, got ${theta}`);
        return o.mul(pre, o.ge(pre, scalar(x.backend, theta)));
      }
      case 'topk': {
        const post = o.relu(pre);
        const sel = topkRows(post, cfg.k);
        return densify(gatherAt(post, sel), sel);
      }
      case 'jumprelu':
        return o.mul(o.relu(pre), o.gt(pre, thresholds(p)));
      case 'relu':
        return o.relu(pre);
    }
  });
}

export function reconstructInference(x: Tensor, p: SaeParams, cfg: SaeConfig, theta: number): { f: Tensor; xhat: Tensor } {
  const f = encodeInference(x, p, cfg, theta);
  return { f, xhat: noGrad(() => decodeDense(f, p)) };
}
