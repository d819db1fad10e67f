// The SAELens on-disk format (one folder per SAE: cfg.json + sae_weights.safetensors), written so that
// SAELens >= 6 `SAE.load_from_disk` takes its current (non-legacy) config path, and read back from folders
// written by us or by SAELens itself (v6 configs and pre-6 legacy ones).
// Tensors (row-major, as torch stores them): W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc [d_sae],
// b_dec [d_in], threshold [d_sae] for jumprelu. A BatchTopK SAE is exported as jumprelu with its learned
// per-latent threshold, which is how SAELens runs BatchTopK at inference.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors.js';
import { readSafetensors, writeSafetensors } from '../data/safetensors.js';
import type { F32Tensor, LoadedTensor } from '../data/safetensors.js';
import { writeJsonAtomic } from './atomic.js';

export type SaelensArchitecture = 'jumprelu' | 'topk' | 'standard';
export type NormalizeActivations = 'none' | 'expected_average_only_in' | 'constant_norm_rescale' | 'layer_norm';

export interface SaeExport {
  architecture: SaelensArchitecture;
  dIn: number;
  dSae: number;
  /** [dIn, dSae] row-major. */
  W_enc: Float32Array;
  /** [dSae, dIn] row-major. */
  W_dec: Float32Array;
  b_enc: Float32Array;
  b_dec: Float32Array;
  /** [dSae], jumprelu only. */
  threshold?: Float32Array;
  /** topk only. */
  k?: number;
  applyBDecToInput: boolean;
  normalizeActivations: NormalizeActivations;
  /**
   * cfg.json `metadata`: SAELens keys (model_name, hook_name, context_size, prepend_bos, dataset_path, ...)
   * at the top level, our own training configuration under `batchtopk`.
   */
  metadata: Record<string, unknown>;
}

export const SAE_LENS_VERSION = '6.18.0';
export const CFG_FILE = 'cfg.json';
export const WEIGHTS_FILE = 'sae_weights.safetensors';

const ARCHS: readonly SaelensArchitecture[] = ['jumprelu', 'topk', 'standard'];
const NORMS: readonly NormalizeActivations[] = [
  'none',
  'expected_average_only_in',
  'constant_norm_rescale',
  'layer_norm',
];

function checkLen(where: string, name: string, a: Float32Array | undefined, shape: number[]): Float32Array {
  const want = shape.reduce((x, y) => x * y, 1);
  if (a === undefined) throw new DataError(`${where}: missing ${name}`);
  if (a.length !== want) {
    throw new DataError(`${where}: ${name} has ${a.length} values, expected [${shape.join(', ')}] = ${want}`);
  }
  return a;
}

/**
 * Write `sae` to the folder `dir` (created if needed). Each file is written atomically, weights first, so a
 * folder whose cfg.json is present and current has matching weights.
 */
export function writeSaelens(dir: string, sae: SaeExport): void {
  const { architecture: arch, dIn, dSae } = sae;
  if (!ARCHS.includes(arch)) throw new DataError(`${dir}: unknown architecture '${arch}'`);
  if (!isPositiveInt(dIn) || !isPositiveInt(dSae)) throw new DataError(`${dir}: bad dims d_in=${dIn}, d_sae=${dSae}`);
  if (!NORMS.includes(sae.normalizeActivations)) {
    throw new DataError(`${dir}: unknown normalize_activations '${sae.normalizeActivations}'`);
  }
  const tensors: Record<string, F32Tensor> = {
    W_enc: { shape: [dIn, dSae], data: checkLen(dir, 'W_enc', sae.W_enc, [dIn, dSae]) },
    W_dec: { shape: [dSae, dIn], data: checkLen(dir, 'W_dec', sae.W_dec, [dSae, dIn]) },
    b_enc: { shape: [dSae], data: checkLen(dir, 'b_enc', sae.b_enc, [dSae]) },
    b_dec: { shape: [dIn], data: checkLen(dir, 'b_dec', sae.b_dec, [dIn]) },
  };
  if (arch === 'jumprelu') {
    tensors['threshold'] = { shape: [dSae], data: checkLen(dir, 'threshold', sae.threshold, [dSae]) };
  }
  const cfg: Record<string, unknown> = {
    architecture: arch,
    d_in: dIn,
    d_sae: dSae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: sae.applyBDecToInput,
    normalize_activations: sae.normalizeActivations,
    reshape_activations: 'none',
  };
  if (arch === 'topk') {
    if (!isPositiveInt(sae.k) || sae.k > dSae) {
      throw new DataError(`${dir}: topk needs an integer k in [1, d_sae], got ${sae.k}`);
    }
    cfg['k'] = sae.k;
    cfg['rescale_acts_by_decoder_norm'] = false;
  }
  cfg['metadata'] = {
    model_name: null,
    hook_name: null,
    hook_head_index: null,
    context_size: null,
    prepend_bos: null,
    dataset_path: null,
    ...sae.metadata,
    // Always ours: an older version here would send SAELens down its legacy config path.
    sae_lens_version: SAE_LENS_VERSION,
    sae_lens_training_version: SAE_LENS_VERSION,
  };
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, WEIGHTS_FILE), tensors, { format: 'pt' });
  writeJsonAtomic(path.join(dir, CFG_FILE), cfg);
}

function isPositiveInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x > 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function majorVersion(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+)\./.exec(v);
  return m ? Number(m[1]) : null;
}

// Keys that pre-6 configs keep at the top level and SAELens 6 keeps in `metadata`.
const LEGACY_METADATA_KEYS = [
  'model_name',
  'hook_name',
  'hook_head_index',
  'context_size',
  'prepend_bos',
  'dataset_path',
  'model_class_name',
  'sae_lens_training_version',
  'neuronpedia_id',
  'model_from_pretrained_kwargs',
  'seqpos_slice',
];

/** Read an SAE folder written by writeSaelens or by SAELens (v6 or legacy config, F32/F16/BF16 weights). */
export function readSae(dir: string): SaeExport {
  const cfgPath = path.join(dir, CFG_FILE);
  let text: string;
  try {
    text = fs.readFileSync(cfgPath, 'utf8');
  } catch {
    throw new DataError(`${cfgPath}: cannot read (is ${dir} an SAE folder?)`);
  }
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${cfgPath}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(cfg)) throw new DataError(`${cfgPath}: not a JSON object`);
  const meta = isObject(cfg['metadata']) ? { ...cfg['metadata'] } : {};
  const version = majorVersion(cfg['sae_lens_version'] ?? meta['sae_lens_version']);
  const legacy = version === null || version < 6;

  let arch: unknown = cfg['architecture'];
  let k: unknown = cfg['k'];
  if (legacy) {
    const fn = cfg['activation_fn'] ?? cfg['activation_fn_str'];
    const kwargs = isObject(cfg['activation_fn_kwargs']) ? cfg['activation_fn_kwargs'] : {};
    if (fn === 'topk') {
      arch = 'topk';
      k = kwargs['k'] ?? k;
    }
    arch ??= 'standard';
    for (const key of LEGACY_METADATA_KEYS) if (key in cfg && !(key in meta)) meta[key] = cfg[key];
    if (!('hook_name' in meta) && 'hook_point' in cfg) meta['hook_name'] = cfg['hook_point'];
    if (!('hook_head_index' in meta) && 'hook_point_head_index' in cfg) {
      meta['hook_head_index'] = cfg['hook_point_head_index'];
    }
    if (cfg['finetuning_scaling_factor'] === true) {
      throw new DataError(`${cfgPath}: finetuning_scaling_factor is not supported`);
    }
    if ('sae_lens_version' in cfg && !('sae_lens_version' in meta)) meta['sae_lens_version'] = cfg['sae_lens_version'];
  }
  if (typeof arch !== 'string' || !ARCHS.includes(arch as SaelensArchitecture)) {
    throw new DataError(
      `${cfgPath}: architecture ${JSON.stringify(arch)} is not supported (expected ${ARCHS.join(', ')})`,
    );
  }
  const architecture = arch as SaelensArchitecture;
  const dIn = cfg['d_in'];
  const dSae = cfg['d_sae'];
  if (!isPositiveInt(dIn) || !isPositiveInt(dSae)) {
    throw new DataError(
      `${cfgPath}: d_in and d_sae must be positive integers, got ${JSON.stringify(dIn)}, ${JSON.stringify(dSae)}`,
    );
  }
  const norm = cfg['normalize_activations'] ?? 'none';
  if (typeof norm !== 'string' || !NORMS.includes(norm as NormalizeActivations)) {
    throw new DataError(
      `${cfgPath}: normalize_activations ${JSON.stringify(norm)} is not supported (expected ${NORMS.join(', ')})`,
    );
  }
  const applyBDec = cfg['apply_b_dec_to_input'] ?? true;
  if (typeof applyBDec !== 'boolean') throw new DataError(`${cfgPath}: apply_b_dec_to_input must be a boolean`);
  if (architecture === 'topk') {
    if (!isPositiveInt(k) || k > dSae) {
      throw new DataError(`${cfgPath}: topk needs an integer k in [1, d_sae], got ${JSON.stringify(k)}`);
    }
    if (cfg['rescale_acts_by_decoder_norm'] === true) {
      throw new DataError(`${cfgPath}: rescale_acts_by_decoder_norm = true is not supported`);
    }
  }

  const wPath = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(wPath)) throw new DataError(`${wPath}: missing weights file`);
  const names = ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold', 'log_threshold'];
  const { tensors } = readSafetensors(wPath, names);
  const get = (name: string, shape: number[]): Float32Array => {
    const t = tensors.get(name);
    if (t === undefined) throw new DataError(`${wPath}: missing tensor ${name}`);
    checkShape(wPath, name, t, shape);
    return t.data;
  };
  const out: SaeExport = {
    architecture,
    dIn,
    dSae,
    W_enc: get('W_enc', [dIn, dSae]),
    W_dec: get('W_dec', [dSae, dIn]),
    b_enc: get('b_enc', [dSae]),
    b_dec: get('b_dec', [dIn]),
    applyBDecToInput: applyBDec,
    normalizeActivations: norm as NormalizeActivations,
    metadata: meta,
  };
  if (architecture === 'jumprelu') {
    if (tensors.has('threshold')) {
      out.threshold = get('threshold', [dSae]);
    } else if (tensors.has('log_threshold')) {
      // SAELens's training JumpReLU stores log(threshold).
      out.threshold = get('log_threshold', [dSae]).map(Math.exp);
    } else {
      throw new DataError(`${wPath}: jumprelu SAE has neither a threshold nor a log_threshold tensor`);
    }
  }
  if (architecture === 'topk') out.k = k as number;
  return out;
}

function checkShape(file: string, name: string, t: LoadedTensor, want: number[]): void {
  if (t.shape.length === want.length && t.shape.every((s, i) => s === want[i])) return;
  const hint =
    want.length === 2 && t.shape.length === 2 && t.shape[0] === want[1] && t.shape[1] === want[0]
      ? ' (transposed: SAELens stores W_enc as [d_in, d_sae] and W_dec as [d_sae, d_in])'
      : '';
  throw new DataError(
    `${file}: ${name} has shape [${t.shape.join(', ')}], expected [${want.join(', ')}] from cfg.json${hint}`,
  );
}
