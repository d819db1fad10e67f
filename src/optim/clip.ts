// Global-norm gradient clipping (as torch.nn.utils.clip_grad_norm_): every gradient is scaled by
// min(1, maxNorm / (norm + 1e-6)), norm = sqrt(sum of all squared gradient entries). Computed on the
// device with no readback; returns the pre-clipping norm as a scalar tensor.
import * as o from '../ops.js';
import { noGrad } from '../autodiff/tape.js';
import { scalar, type Tensor } from '../tensor.js';

export function clipGradNorm(params: readonly Tensor[], maxNorm: number): Tensor {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  return noGrad(() => {
    const withGrad = params.filter((p) => p.grad);
    if (withGrad.length === 0) throw new Error('clipGradNorm: no parameter has a gradient');
    let sq: Tensor | null = null;
    for (const p of withGrad) {
      const s = o.sum(o.square(p.grad!));
      sq = sq ? o.add(sq, s) : s;
    }
    const norm = o.sqrt(sq!);
    const scale = o.minimum(scalar(norm.backend, 1), o.div(scalar(norm.backend, maxNorm), o.addScalar(norm, 1e-6)));
    for (const p of withGrad) {
      const old = p.grad!;
      p.grad = o.mul(old, scale).keep();
      old.free();
    }
    return norm;
  });
}
