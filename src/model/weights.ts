// The one in-memory form every checkpoint format is converted to (llama2.c, Hugging Face llama and gpt2):
// host f32 arrays, every linear layer as W [out, in] (so y = x W^T + b), GPT-2's Conv1D weights transposed
// and its fused c_attn split at load time. The forward pass (transformer.ts) only knows this form.

export interface ModelConfig {
  /** 'llama': RMSNorm, rotary positions, SwiGLU MLP. 'gpt2': LayerNorm, learned positions, GELU (tanh) MLP. */
  arch: 'llama' | 'gpt2';
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  /** Longest context the model supports (positions table / rope tables). */
  maxSeqLen: number;
  normEps: number;
  /** llama: rope base and pair layout; unused for gpt2. */
  ropeTheta: number;
  ropeStyle: 'interleaved' | 'half';
  /** Token id every document starts with. */
  bosId: number;
}

export interface Linear {
  /** [out, in] */
  w: Float32Array;
  /** [out] or null */
  b: Float32Array | null;
  out: number;
  in: number;
}

export interface Norm {
  w: Float32Array;
  /** LayerNorm bias; null for RMSNorm. */
  b: Float32Array | null;
}

export interface Block {
  attnNorm: Norm;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  mlpNorm: Norm;
  /** llama: w2(silu(w1 x) * w3 x) with up = w3, gate = w1, down = w2. gpt2: down(gelu(up x)), gate null. */
  gate: Linear | null;
  up: Linear;
  down: Linear;
}

export interface ModelWeights {
  config: ModelConfig;
  /** [vocab, dim] */
  embed: Float32Array;
  /** gpt2 learned positions [maxSeqLen, dim]; null for llama. */
  posEmbed: Float32Array | null;
  blocks: Block[];
  finalNorm: Norm;
  /** [vocab, dim]; the same array as embed when the classifier is tied. */
  head: Float32Array;
}

/** Throws a clear error when the config cannot describe a working model. */
export function checkConfig(c: ModelConfig, source: string): void {
  const ints: (keyof ModelConfig)[] = ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'vocabSize', 'maxSeqLen'];
  for (const k of ints) {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 1) throw new Error(`${source}: ${k} must be a positive integer, got ${v}`);
  }
  if (c.dim % c.nHeads !== 0) throw new Error(`${source}: dim ${c.dim} is not a multiple of n_heads ${c.nHeads}`);
  if (c.nHeads % c.nKvHeads !== 0) throw new Error(`${source}: n_heads ${c.nHeads} is not a multiple of n_kv_heads ${c.nKvHeads}`);
  if (c.arch === 'llama' && (c.dim / c.nHeads) % 2 !== 0) throw new Error(`${source}: head size ${c.dim / c.nHeads} must be even for rotary embeddings`);
}

export const headDim = (c: ModelConfig): number => c.dim / c.nHeads;
