// The backend primitives a language-model forward pass needs (inference only, no autodiff): normalisation,
// activations, rotary embeddings, causal attention and a row log-softmax. They are part of the Backend
// contract (backend.ts extends ModelOps); each backend implements them in its own file (cpu/model.ts,
// webgpu/model.ts), installed on the backend class, and spec/backend/contract_model.spec.ts checks that
// the WebGPU kernels agree with the CPU reference. Argument checks are shared (checkModelArgs below) so a
// misuse fails with the same message on both backends (model_args.ts).
import type { Storage } from './types.js';

/** 'rms': out = x / sqrt(mean(x^2) + eps) * w. 'layer': out = (x - mean) / sqrt(var + eps) * w + b. */
export type NormKind = 'rms' | 'layer';
/** silu(x) = x / (1 + e^-x); gelu_tanh(x) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2's gelu_new). */
export type ActOp = 'silu' | 'gelu_tanh';
export const ACT_OPS: readonly ActOp[] = ['silu', 'gelu_tanh'];
/**
 * 'interleaved': llama2.c / Meta Llama, pairs (2i, 2i+1) of a head rotate by angle pos * f_i.
 * 'half': Hugging Face rotate_half, pairs (i, i + headDim/2) rotate by pos * f_i.
 */
export type RopeStyle = 'interleaved' | 'half';

export interface ModelOps {
  /**
   * Row normalisation of an [rows, cols] matrix with a per-column gain w [cols] (and bias b [cols] for
   * 'layer'; null for 'rms'). Statistics accumulate in at least f32 with a workgroup/pairwise order.
   */
  norm(kind: NormKind, out: Storage, x: Storage, w: Storage, b: Storage | null, rows: number, cols: number, eps: number): void;
  /** out[i] = op(x[i]). */
  act(op: ActOp, out: Storage, x: Storage): void;
  /**
   * Rotary embedding of x [rows, heads*headDim] in place into out: row r is at position pos[r] (i32), and the
   * rotation of pair i at position p uses cos[p*headDim/2 + i], sin[p*headDim/2 + i] (tables [P, headDim/2]
   * computed once on the host, so both backends rotate by the same f32 numbers).
   */
  rope(style: RopeStyle, out: Storage, x: Storage, pos: Storage, cos: Storage, sin: Storage, rows: number, heads: number, headDim: number): void;
  /**
   * Causal multi-head attention over `seqs` independent sequences of `len` rows each (row s*len + t).
   * q, out: [seqs*len, heads*headDim]; k, v: [seqs*len, kvHeads*headDim]; query head h reads kv head
   * h div (heads / kvHeads) (grouped-query attention). out[t] = sum_{j<=t} softmax_j(scale q_t.k_j) v_j.
   */
  attention(
    out: Storage,
    q: Storage,
    k: Storage,
    v: Storage,
    seqs: number,
    len: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    scale: number,
  ): void;
  /** out[r, c] = x[r, c] - log(sum_c' exp(x[r, c'])), stable (max subtracted first). */
  logSoftmax(out: Storage, x: Storage, rows: number, cols: number): void;
}

/**
 * cos/sin tables [maxPos, headDim/2] for rope: f_i = 1 / theta^(2i/headDim) rounded to f32, the angle
 * p * f_i rounded to f32 (as llama2.c's run.c and PyTorch compute it in f32), its cos and sin rounded once.
 */
export function ropeTables(maxPos: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let i = 0; i < half; i++) {
    const f = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
    for (let p = 0; p < maxPos; p++) {
      const ang = Math.fround(p * f);
      cos[p * half + i] = Math.cos(ang);
      sin[p * half + i] = Math.sin(ang);
    }
  }
  return { cos, sin };
}
