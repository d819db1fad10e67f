// Each latent's direct effect on the logits, Neuronpedia's "positive/negative logits": the decoder row
// W_dec[j] taken through the final norm's scale g (RMSNorm / LayerNorm weight) and the unembedding W_U,
//   score[j, v] = sum_d W_dec[j, d] g[d] W_U[v, d],
// then the `k` tokens with the largest and the smallest score. The norm's division by the stream's
// scale and LayerNorm's centring depend on the token, so they are left out (as TransformerLens's
// folded W_U does). Computed on the backend, a block of latents at a time ([block, vocab] at most).
import type { Backend } from '../backend/backend.js';
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import { fromArray, tidy } from '../tensor.js';

export interface Unembedding {
  /** [vocab, dim] */
  head: Float32Array;
  /** [dim] final norm weight, or null for none. */
  normScale: Float32Array | null;
  vocab: number;
  dim: number;
}

export interface TokenScore {
  id: number;
  value: number;
}

export interface LogitEffects {
  top: TokenScore[][];
  bottom: TokenScore[][];
}

/** Top and bottom `k` tokens of every latent; W_dec is [dSae, dim] (one decoder row per latent). */
export async function logitEffects(backend: Backend, wDec: Float32Array, dSae: number, u: Unembedding, k: number, block = 256): Promise<LogitEffects> {
  const { vocab, dim } = u;
  if (wDec.length !== dSae * dim) throw new Error(`logits: the SAE's decoder rows have ${wDec.length / dSae} values but the model's residual stream has ${dim}; is --model the model the activations came from?`);
  const kk = Math.min(k, vocab);
  const head = fromArray(backend, u.head, [vocab, dim]);
  const out: LogitEffects = { top: [], bottom: [] };
  try {
    for (let j0 = 0; j0 < dSae; j0 += block) {
      const n = Math.min(block, dSae - j0);
      const rows = wDec.slice(j0 * dim, (j0 + n) * dim);
      if (u.normScale) for (let i = 0; i < rows.length; i++) rows[i]! *= u.normScale[i % dim]!;
      const s = noGrad(() => tidy(() => o.matmul(fromArray(backend, rows, [n, dim]), head, false, true)));
      const scores = (await s.read()) as Float32Array;
      s.free();
      for (let r = 0; r < n; r++) {
        const row = scores.subarray(r * vocab, (r + 1) * vocab);
        out.top.push(largest(row, kk, 1));
        out.bottom.push(largest(row, kk, -1));
      }
    }
  } finally {
    head.free();
  }
  return out;
}

/** The k entries largest by sign * value (ties: lower id first), in that order; one pass, no full sort. */
export function largest(row: Float32Array, k: number, sign: 1 | -1): TokenScore[] {
  const ids: number[] = [];
  const better = (a: number, b: number) => sign * (row[a]! - row[b]!) > 0 || (row[a] === row[b] && a < b);
  for (let i = 0; i < row.length; i++) {
    if (ids.length === k && !better(i, ids[k - 1]!)) continue;
    let at = ids.length;
    while (at > 0 && better(i, ids[at - 1]!)) at--;
    ids.splice(at, 0, i);
    if (ids.length > k) ids.pop();
  }
  return ids.map((id) => ({ id, value: row[id]! }));
}
