// The scan's encoder on a backend: the SAE's inference encoder (theta for BatchTopK, stored thresholds for
// JumpReLU, per-row top-k for TopK, as eval), after the SAE's input normalisation, read back dense.
import type { Backend } from '../backend/backend.js';
import { noGrad } from '../autodiff/tape.js';
import type { EvalModel } from '../eval.js';
import { encodeInference } from '../sae/inference.js';
import { normalizeInput } from '../sae/normalize.js';
import { fromArray, tidy } from '../tensor.js';
import type { LatentEncoder } from './scan.js';

export function backendEncoder(backend: Backend, model: EvalModel): LatentEncoder {
  const { dIn, dSae } = model.cfg;
  return {
    dIn,
    dSae,
    async encode(x: Float32Array, rows: number): Promise<Float32Array> {
      const f = noGrad(() =>
        tidy(() => {
          const nx = normalizeInput(fromArray(backend, x, [rows, dIn]), model.normalize, model.normScale);
          return encodeInference(nx.x, model.params, model.cfg, model.theta);
        }),
      );
      try {
        return (await f.read()) as Float32Array;
      } finally {
        f.free();
      }
    },
  };
}
