// Hugging Face model folders: config.json + model.safetensors (or shards listed in
// model.safetensors.index.json's weight_map), F32/F16/BF16 weights widened to f32, for model_type
//   gpt2:  Conv1D weights stored [in, out] (transposed here to [out, in]), the fused c_attn split into q, k, v,
//          LayerNorm, gelu_new, learned positions, lm_head tied to wte unless present;
//   llama: RMSNorm, rotate-half RoPE with rope_theta, grouped-query attention (num_key_value_heads), SwiGLU,
//          lm_head tied only when tie_word_embeddings is true (transformers' LlamaConfig default is false, so a
//          folder without lm_head.weight and without that flag is refused rather than tied silently).
// lm_head.weight is shape-checked like every other tensor; errors name the safetensors file and the tensor.
// Tensor names may carry the task-model prefix (transformer. / model.) or not.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, type LoadedTensor } from '../data/safetensors.js';
import type { Block, Linear, ModelConfig, ModelWeights, Norm } from './weights.js';
import { checkConfig } from './weights.js';

type Json = Record<string, unknown>;

/** A tensor and the file it was read from (errors name the file, which for a sharded model is one shard). */
interface FileTensor extends LoadedTensor {
  file: string;
}

/** Every tensor of the folder's safetensors file(s), by name. */
function readAllTensors(dir: string): Map<string, FileTensor> {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const withFile = (file: string): [string, FileTensor][] => [...readSafetensors(file).tensors].map(([k, v]) => [k, { ...v, file }]);
  if (existsSync(single)) return new Map(withFile(single));
  if (existsSync(index)) {
    let map: Record<string, string> | undefined;
    try {
      map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> } | null)?.weight_map;
    } catch (err) {
      throw new Error(`${index}: cannot read the shard index (${(err as Error).message}); use the index saved with the model`);
    }
    if (!map || typeof map !== 'object') throw new Error(`${index}: no weight_map object; use the index saved with the model`);
    const out = new Map<string, FileTensor>();
    for (const file of [...new Set(Object.values(map))].sort()) {
      const p = join(dir, file);
      if (!existsSync(p)) throw new Error(`${index} lists ${file}, which is not in ${dir}`);
      for (const [k, v] of withFile(p)) out.set(k, v);
    }
    return out;
  }
  throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json (only safetensors weights are read)`);
}

/** config.json's bos_token_id, or -1 when it has none; load.ts resolves it against the tokenizer (tok_hf.ts). */
export function configBos(cfg: Json): number {
  return typeof cfg['bos_token_id'] === 'number' ? (cfg['bos_token_id'] as number) : -1;
}

function num(cfg: Json, file: string, ...keys: string[]): number {
  for (const k of keys) if (typeof cfg[k] === 'number') return cfg[k] as number;
  throw new Error(`${file}: missing ${keys.join(' / ')} (a number): use the config.json saved with the model`);
}

class Tensors {
  constructor(
    private readonly t: Map<string, FileTensor>,
    private readonly dir: string,
    private readonly prefix: string,
  ) {}
  has(name: string): boolean {
    return this.t.has(this.prefix + name) || this.t.has(name);
  }
  get(name: string, shape: number[]): Float32Array {
    const v = this.t.get(this.prefix + name) ?? this.t.get(name);
    if (!v) throw new Error(`${this.dir}: tensor ${this.prefix}${name} is missing from the safetensors: the weights are not the model config.json describes (model_type, layer count) or are incomplete`);
    return checkedShape(v, this.t.has(this.prefix + name) ? this.prefix + name : name, shape);
  }
}

/** The tensor's data when its shape is `shape`; otherwise an error naming its file, the tensor and config.json. */
function checkedShape(v: FileTensor, name: string, shape: number[]): Float32Array {
  if (v.shape.join(',') !== shape.join(',')) {
    throw new Error(`${v.file}: tensor ${name} has shape [${v.shape.join(', ')}], but config.json implies [${shape.join(', ')}]: the weights and config.json are from different models`);
  }
  return v.data;
}

/**
 * The classifier [vocab, d]: lm_head.weight, shape-checked (a wrong shape would pass a harvest, which stops
 * before the head, and fail later in eval's matmul), or the embedding when the model ties them.
 */
function head(t: Map<string, FileTensor>, embed: Float32Array, tied: boolean, vocab: number, d: number, cfgFile: string): Float32Array {
  const h = t.get('lm_head.weight');
  if (tied) return embed;
  if (!h) {
    throw new Error(`${cfgFile}: tie_word_embeddings is false (the llama default when absent) but the safetensors hold no lm_head.weight: the checkpoint is incomplete; if its classifier is the embedding, set "tie_word_embeddings": true in config.json`);
  }
  return checkedShape(h, 'lm_head.weight', [vocab, d]);
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** Columns [c0, c0 + n) of a row-major [rows, cols] matrix. */
function columns(a: Float32Array, rows: number, cols: number, c0: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * cols + c0, r * cols + c0 + n), r * n);
  return out;
}

function loadGpt2(dir: string, cfg: Json, t: Map<string, FileTensor>): ModelWeights {
  const f = join(dir, 'config.json');
  const d = num(cfg, f, 'n_embd');
  const L = num(cfg, f, 'n_layer');
  const H = num(cfg, f, 'n_head');
  const vocab = num(cfg, f, 'vocab_size');
  const nPos = num(cfg, f, 'n_positions', 'n_ctx');
  const inner = typeof cfg['n_inner'] === 'number' ? (cfg['n_inner'] as number) : 4 * d;
  const act = cfg['activation_function'] ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') throw new Error(`${f}: activation_function '${String(act)}' is not supported (gelu_new only)`);
  const config: ModelConfig = {
    arch: 'gpt2',
    dim: d,
    hiddenDim: inner,
    nLayers: L,
    nHeads: H,
    nKvHeads: H,
    vocabSize: vocab,
    maxSeqLen: nPos,
    normEps: typeof cfg['layer_norm_epsilon'] === 'number' ? (cfg['layer_norm_epsilon'] as number) : 1e-5,
    ropeTheta: 0,
    ropeStyle: 'half',
    bosId: configBos(cfg),
  };
  checkConfig(config, f);
  const T = new Tensors(t, dir, t.has('transformer.wte.weight') ? 'transformer.' : '');
  // Conv1D: y = x W + b with W stored [in, out].
  const conv = (name: string, inn: number, out: number): Linear => ({ w: transpose(T.get(`${name}.weight`, [inn, out]), inn, out), b: T.get(`${name}.bias`, [out]), out, in: inn });
  const ln = (name: string): Norm => ({ w: T.get(`${name}.weight`, [d]), b: T.get(`${name}.bias`, [d]) });
  const blocks: Block[] = [];
  for (let l = 0; l < L; l++) {
    const p = `h.${l}`;
    const qkvW = T.get(`${p}.attn.c_attn.weight`, [d, 3 * d]);
    const qkvB = T.get(`${p}.attn.c_attn.bias`, [3 * d]);
    const part = (i: number): Linear => ({ w: transpose(columns(qkvW, d, 3 * d, i * d, d), d, d), b: qkvB.slice(i * d, (i + 1) * d), out: d, in: d });
    blocks.push({
      attnNorm: ln(`${p}.ln_1`),
      q: part(0),
      k: part(1),
      v: part(2),
      o: conv(`${p}.attn.c_proj`, d, d),
      mlpNorm: ln(`${p}.ln_2`),
      gate: null,
      up: conv(`${p}.mlp.c_fc`, d, inner),
      down: conv(`${p}.mlp.c_proj`, inner, d),
    });
  }
  const embed = T.get('wte.weight', [vocab, d]);
  // GPT-2 ties its head to wte unless the file carries its own lm_head.
  const classifier = head(t, embed, !t.has('lm_head.weight'), vocab, d, f);
  return { config, embed, posEmbed: T.get('wpe.weight', [nPos, d]), blocks, finalNorm: ln('ln_f'), head: classifier };
}

function loadLlama(dir: string, cfg: Json, t: Map<string, FileTensor>): ModelWeights {
  const f = join(dir, 'config.json');
  const d = num(cfg, f, 'hidden_size');
  const H = num(cfg, f, 'num_attention_heads');
  const KV = typeof cfg['num_key_value_heads'] === 'number' ? (cfg['num_key_value_heads'] as number) : H;
  const hd = d / H;
  if (typeof cfg['head_dim'] === 'number' && cfg['head_dim'] !== hd) throw new Error(`${f}: head_dim ${String(cfg['head_dim'])} != hidden_size / num_attention_heads is not supported`);
  if (cfg['rope_scaling'] !== undefined && cfg['rope_scaling'] !== null) throw new Error(`${f}: rope_scaling is not supported`);
  const act = cfg['hidden_act'] ?? 'silu';
  if (act !== 'silu') throw new Error(`${f}: hidden_act '${String(act)}' is not supported (silu only)`);
  const config: ModelConfig = {
    arch: 'llama',
    dim: d,
    hiddenDim: num(cfg, f, 'intermediate_size'),
    nLayers: num(cfg, f, 'num_hidden_layers'),
    nHeads: H,
    nKvHeads: KV,
    vocabSize: num(cfg, f, 'vocab_size'),
    maxSeqLen: num(cfg, f, 'max_position_embeddings'),
    normEps: typeof cfg['rms_norm_eps'] === 'number' ? (cfg['rms_norm_eps'] as number) : 1e-6,
    ropeTheta: typeof cfg['rope_theta'] === 'number' ? (cfg['rope_theta'] as number) : 10000,
    ropeStyle: 'half',
    bosId: configBos(cfg),
  };
  checkConfig(config, f);
  const T = new Tensors(t, dir, t.has('model.embed_tokens.weight') ? 'model.' : '');
  const lin = (name: string, out: number, inn: number): Linear => ({ w: T.get(`${name}.weight`, [out, inn]), b: T.has(`${name}.bias`) ? T.get(`${name}.bias`, [out]) : null, out, in: inn });
  const rms = (name: string): Norm => ({ w: T.get(`${name}.weight`, [d]), b: null });
  const I = config.hiddenDim;
  const blocks: Block[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const p = `layers.${l}`;
    blocks.push({
      attnNorm: rms(`${p}.input_layernorm`),
      q: lin(`${p}.self_attn.q_proj`, d, d),
      k: lin(`${p}.self_attn.k_proj`, KV * hd, d),
      v: lin(`${p}.self_attn.v_proj`, KV * hd, d),
      o: lin(`${p}.self_attn.o_proj`, d, d),
      mlpNorm: rms(`${p}.post_attention_layernorm`),
      gate: lin(`${p}.mlp.gate_proj`, I, d),
      up: lin(`${p}.mlp.up_proj`, I, d),
      down: lin(`${p}.mlp.down_proj`, d, I),
    });
  }
  const embed = T.get('embed_tokens.weight', [config.vocabSize, d]);
  // transformers' LlamaConfig defaults tie_word_embeddings to false: a missing lm_head is then an error, not a tie.
  const classifier = head(t, embed, cfg['tie_word_embeddings'] === true, config.vocabSize, d, f);
  return { config, embed, posEmbed: null, blocks, finalNorm: rms('norm'), head: classifier };
}

export function loadHfWeights(dir: string): ModelWeights {
  const file = join(dir, 'config.json');
  let cfg: Json;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch (err) {
    throw new Error(`${file}: cannot read the model config (${(err as Error).message}); use the config.json saved with the model`);
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error(`${file}: the model config must be a JSON object; use the config.json saved with the model`);
  const type = cfg['model_type'];
  if (type !== 'gpt2' && type !== 'llama') throw new Error(`${file}: model_type '${String(type)}' is not supported (gpt2, llama)`);
  const t = readAllTensors(dir);
  return type === 'gpt2' ? loadGpt2(dir, cfg, t) : loadLlama(dir, cfg, t);
}
