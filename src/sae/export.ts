// Between a trained SAE (our orientation and normalisation) and the SAELens on-disk description.
//   batchtopk -> 'jumprelu' with threshold = the largest f32 below theta, every latent (SAELens keeps
//                pre > threshold; ours keeps pre >= theta: the same set for f32 pre-activations)
//   matryoshka -> the same jumprelu as batchtopk (as SAELens saves it); its prefix widths and weights go to
//                metadata.batchtopk, where our eval finds them for per-prefix metrics
//   topk      -> 'topk' with k;  jumprelu -> 'jumprelu' with its learned thresholds;  relu -> 'standard'
// W_enc is transposed to SAELens's [d_in, d_sae]. normalize = scalar is folded into the weights
// (x_n = s x: W_enc' = s W_enc, W_dec' = W_dec / s, b_dec' = b_dec / s; b_enc and thresholds unchanged),
// layernorm is written as SAELens's 'layer_norm'.
import type { SaeExport } from '../io/saelens.js';
import type { EvalModel } from '../eval.js';
import { defaultMatryoshkaWeights, type Arch, type NormalizeMode } from './config.js';
import type { HostParams } from './params.js';
import { paramToTheta, thetaToParam } from './jumprelu.js';

export interface Trained {
  arch: Arch;
  dIn: number;
  dSae: number;
  k: number;
  params: HostParams;
  /** Inference threshold (batchtopk, matryoshka). */
  theta: number;
  /** Matryoshka: the prefix widths (required for it) and loss weights (empty: the defaults, written out). */
  matryoshkaWidths?: readonly number[];
  matryoshkaWeights?: readonly number[];
  normalize: NormalizeMode;
  normScale: number;
  /** Our training configuration and results, stored under metadata.batchtopk. */
  info: Record<string, unknown>;
  /** SAELens metadata keys (model_name, hook_name, context_size, dataset_path, ...) where known. */
  metadata?: Record<string, unknown>;
}

/** The largest f32 strictly below a positive f32 x. */
export function prevFloat32(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  if (!(f[0]! > 0)) throw new Error(`prevFloat32: expected a positive float32, got ${x}`);
  u[0] = u[0]! - 1;
  return f[0]!;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

export function toSaeExport(t: Trained): SaeExport {
  const { dIn: D, dSae: M, params: p } = t;
  const s = t.normalize === 'scalar' ? t.normScale : 1;
  const W_enc = transpose(p.W_enc, M, D).map((v) => v * s);
  const W_dec = p.W_dec.map((v) => v / s);
  const b_dec = p.b_dec.map((v) => v / s);
  const base = {
    dIn: D,
    dSae: M,
    W_enc,
    W_dec,
    b_enc: p.b_enc.slice(),
    b_dec,
    applyBDecToInput: true,
    normalizeActivations: t.normalize === 'layernorm' ? ('layer_norm' as const) : ('none' as const),
    metadata: { ...t.metadata, batchtopk: { arch: t.arch, k: t.k, theta: t.theta, normalize: t.normalize, normScale: t.normScale, ...matryoshkaMeta(t), ...t.info } },
  };
  switch (t.arch) {
    case 'batchtopk':
    case 'matryoshka':
      if (!(t.theta > 0)) throw new Error(`export: ${t.arch} has no positive threshold (theta = ${t.theta}); calibrate it (Trainer.calibrate) or train longer`);
      return { ...base, architecture: 'jumprelu', threshold: new Float32Array(M).fill(prevFloat32(t.theta)) };
    case 'topk':
      return { ...base, architecture: 'topk', k: t.k };
    case 'jumprelu':
      return { ...base, architecture: 'jumprelu', threshold: paramToTheta(p.theta!) };
    case 'relu':
      return { ...base, architecture: 'standard' };
  }
}

function matryoshkaMeta(t: Trained): Record<string, unknown> {
  if (t.arch !== 'matryoshka') return {};
  const widths = t.matryoshkaWidths ?? [];
  if (widths.length === 0 || widths[widths.length - 1] !== t.dSae) {
    throw new Error(`export: a matryoshka SAE needs its matryoshkaWidths (ending at dSae ${t.dSae}), got [${widths.join(',')}]`);
  }
  // The weights it was trained with, the defaults written out: an empty list would read differently if they change.
  const weights = t.matryoshkaWeights?.length ? t.matryoshkaWeights : defaultMatryoshkaWeights(widths);
  return { matryoshkaWidths: [...widths], matryoshkaWeights: [...weights] };
}

/** The prefix widths recorded by our Matryoshka export (metadata.batchtopk), or [] when absent or unusable. */
export function savedMatryoshkaWidths(e: SaeExport): number[] {
  const w = (e.metadata['batchtopk'] as { matryoshkaWidths?: unknown } | undefined)?.matryoshkaWidths;
  if (!Array.isArray(w) || w.length === 0) return [];
  const ok = w.every((v, i) => Number.isSafeInteger(v) && v > 0 && (i === 0 || v > w[i - 1])) && w[w.length - 1] === e.dSae;
  return ok ? (w as number[]) : [];
}

/**
 * An SAELens description as a model our evaluator runs. A jumprelu file (ours from batchtopk included) is
 * evaluated as JumpReLU with its stored thresholds: exactly what SAELens computes.
 */
export function fromSaeExport(e: SaeExport): { model: Omit<EvalModel, 'params'>; params: HostParams; theta: number } {
  const { dIn: D, dSae: M } = e;
  const arch: Arch = e.architecture === 'jumprelu' ? 'jumprelu' : e.architecture === 'topk' ? 'topk' : 'relu';
  const W_enc = transpose(e.W_enc, D, M); // -> [M,D]
  let b_enc = e.b_enc.slice();
  if (!e.applyBDecToInput) {
    // pre = x W_enc + b_enc = (x - b_dec) W_enc + (b_enc + b_dec W_enc): fold so our encoder can centre.
    b_enc = b_enc.map((v, j) => {
      let acc = v;
      for (let c = 0; c < D; c++) acc += e.b_dec[c]! * W_enc[j * D + c]!;
      return acc;
    });
  }
  let normalize: NormalizeMode;
  if (e.normalizeActivations === 'layer_norm') normalize = 'layernorm';
  else if (e.normalizeActivations === 'none' || e.normalizeActivations === 'expected_average_only_in') normalize = 'none';
  else throw new Error(`import: normalize_activations '${e.normalizeActivations}' is not supported`);
  const params: HostParams = { W_enc, b_enc, W_dec: e.W_dec.slice(), b_dec: e.b_dec.slice() };
  if (arch === 'jumprelu') params.theta = thetaToParam(e.threshold!);
  const ours = (e.metadata['batchtopk'] ?? {}) as { theta?: number };
  const k = arch === 'topk' ? e.k! : Math.max(1, Math.min(M, Math.round(Number((e.metadata['batchtopk'] as { k?: number })?.k ?? 1))));
  // A Matryoshka file evaluates as the jumprelu it is; its widths ride along so eval reports each prefix.
  const cfg = {
    arch,
    dIn: D,
    dSae: M,
    k,
    kAux: 1,
    auxAlpha: 0,
    deadTokens: 1,
    l1Coeff: 0,
    l0Coeff: 0,
    bandwidth: 1e-3,
    thetaInit: 1e-3,
    matryoshkaWidths: savedMatryoshkaWidths(e),
    matryoshkaWeights: [],
  };
  return { model: { cfg, theta: ours.theta ?? 0, normalize, normScale: 1 }, params, theta: ours.theta ?? 0 };
}

/** What a folder saved by our BatchTopK (or Matryoshka BatchTopK) training records about it (cfg.json metadata.batchtopk), or null. */
export interface SavedBatchTopK {
  k: number;
  theta: number;
  /** The training batch size and calibration batches, when recorded. */
  batchSize: number | null;
  calibrationBatches: number | null;
}

export function savedBatchTopK(e: SaeExport): SavedBatchTopK | null {
  const b = e.metadata['batchtopk'] as { arch?: unknown; k?: unknown; theta?: unknown; config?: { batchSize?: unknown; calibrationBatches?: unknown } } | undefined;
  if (!b || (b.arch !== 'batchtopk' && b.arch !== 'matryoshka') || e.architecture !== 'jumprelu') return null;
  const posInt = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null);
  const k = posInt(b.k);
  if (k === null) return null;
  return {
    k,
    theta: typeof b.theta === 'number' ? b.theta : 0,
    batchSize: posInt(b.config?.batchSize),
    calibrationBatches: posInt(b.config?.calibrationBatches),
  };
}
