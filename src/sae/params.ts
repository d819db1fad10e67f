// SAE parameters, their initialisation, and the unit-norm decoder constraint.
// Orientation: W_enc [M,D] (one encoder row per latent, like nn.Linear's weight, so the selected
// pre-activations are row-by-row dot products: sddmm) and W_dec [M,D] (one decoder row per latent,
// SAELens's orientation). Export transposes W_enc to SAELens's [D,M].
import type { Backend } from '../backend/backend.js';
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import type { Rng } from '../rng.js';
import { Tensor, parameter } from '../tensor.js';
import { hasBatchThreshold, type SaeConfig } from './config.js';

export interface SaeParams {
  W_enc: Tensor; // [M,D]
  b_enc: Tensor; // [M]
  W_dec: Tensor; // [M,D]
  b_dec: Tensor; // [D]
  /** JumpReLU threshold per latent [M] (jumprelu only). */
  theta?: Tensor;
}

export type ParamName = keyof SaeParams;
export const PARAM_NAMES: readonly ParamName[] = ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'theta'];

export interface HostParams {
  W_enc: Float32Array;
  b_enc: Float32Array;
  W_dec: Float32Array;
  b_dec: Float32Array;
  theta?: Float32Array;
}

/** Scale each row of a [M,D] host matrix to unit L2 norm (float64 accumulation). */
export function normalizeRowsHost(w: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = 0; c < cols; c++) w[r * cols + c]! *= inv;
  }
}

/**
 * Encoder scale at init: the norm each encoder row gets, sqrt(2 d / m). It is the expected row norm of the
 * BatchTopK paper's init (torch kaiming_uniform_ on W_enc [d, m]: fan_in = m, entries U(+-sqrt(6/m))).
 * Measured (bench/RESULTS.md, peer comparison): unit-norm encoder rows (W_enc = W_dec) make the early
 * reconstructions overshoot (held-out nmse > 1 after 20 steps at d 64, m 1024, k 16) and end 1500 steps
 * behind the paper's recipe; rows of this norm, with our unit decoder rows and the mean b_dec, end ahead of it.
 */
export function encoderInitScale(dIn: number, dSae: number): number {
  return Math.sqrt((2 * dIn) / dSae);
}

/**
 * Initial values: W_dec Kaiming-uniform then rows scaled to unit norm, W_enc = W_dec (i.e. W_enc = W_dec^T
 * in SAELens's [D,M] orientation) times encoderInitScale for topk/batchtopk (measured there; jumprelu and
 * relu keep unit rows, their thresholds and L1 scale were tuned for them), b_enc = 0, b_dec = bDecInit (the
 * data mean of the first batch, see trainer), theta = thetaInit.
 */
export function initHostParams(cfg: SaeConfig, rng: Rng, bDecInit: Float32Array): HostParams {
  const { dIn: D, dSae: M } = cfg;
  if (bDecInit.length !== D) throw new Error(`initParams: b_dec init has ${bDecInit.length} values, expected ${D}`);
  const W_dec = rng.kaimingUniform(new Float32Array(M * D), D);
  normalizeRowsHost(W_dec, M, D);
  const scale = cfg.arch === 'topk' || hasBatchThreshold(cfg.arch) ? encoderInitScale(D, M) : 1;
  const W_enc = W_dec.map((v) => v * scale);
  const p: HostParams = { W_enc, b_enc: new Float32Array(M), W_dec, b_dec: bDecInit.slice() };
  if (cfg.arch === 'jumprelu') p.theta = new Float32Array(M).fill(cfg.thetaInit);
  return p;
}

export function uploadParams(backend: Backend, cfg: SaeConfig, h: HostParams): SaeParams {
  const { dIn: D, dSae: M } = cfg;
  const p: SaeParams = {
    W_enc: parameter(backend, h.W_enc, [M, D]),
    b_enc: parameter(backend, h.b_enc, [M]),
    W_dec: parameter(backend, h.W_dec, [M, D]),
    b_dec: parameter(backend, h.b_dec, [D]),
  };
  if (cfg.arch === 'jumprelu') {
    if (!h.theta) throw new Error('uploadParams: jumprelu needs theta');
    p.theta = parameter(backend, h.theta, [M]);
  }
  return p;
}

export async function downloadParams(p: SaeParams): Promise<HostParams> {
  const rd = async (t: Tensor) => (await t.read()) as Float32Array;
  const h: HostParams = { W_enc: await rd(p.W_enc), b_enc: await rd(p.b_enc), W_dec: await rd(p.W_dec), b_dec: await rd(p.b_dec) };
  if (p.theta) h.theta = await rd(p.theta);
  return h;
}

export function paramList(p: SaeParams): Tensor[] {
  return PARAM_NAMES.flatMap((n) => (p[n] ? [p[n]] : []));
}

/** Replace a parameter's values in place (same storage) by a computed tensor of the same shape. */
function assignInPlace(p: Tensor, value: Tensor): void {
  p.backend.copy(p.storage, value.storage);
}

/** W [M,D] -> its row norms [M,1] (for the col-broadcast divide). */
function rowNorms(w: Tensor): Tensor {
  return o.reshape(o.sqrt(o.sumAxis(o.square(w), 1)), [w.rows, 1]);
}

/** Rescale every decoder row to unit norm (after each optimiser step). */
export function normalizeDecoder(p: SaeParams): void {
  noGrad(() => {
    const w = p.W_dec;
    assignInPlace(w, o.div(w, rowNorms(w)));
  });
}

/**
 * Remove from the decoder gradient its component parallel to each (unit-norm) decoder row:
 * g_j -= (g_j . w_j) w_j, so a step moves along the sphere's tangent (before the optimiser step).
 */
export function projectDecoderGrad(p: SaeParams): void {
  const g = p.W_dec.grad;
  if (!g) return;
  noGrad(() => {
    const w = p.W_dec;
    const along = o.reshape(o.sumAxis(o.mul(g, w), 1), [w.rows, 1]); // [M,1]
    assignInPlace(g, o.sub(g, o.mul(w, along)));
  });
}
