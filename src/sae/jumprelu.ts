// JumpReLU SAE (Rajamanoharan et al. 2024): f = pre * (pre > theta) with a learned per-latent threshold,
// trained through the rectangle-kernel straight-through estimator (ste.ts) with an L0 penalty
// lambda * mean over samples of sum_j H(pre_j - theta_j). The step is applied to the pre-activations
// (not to f, the bug noted in dictionary_learning #55).
//
// Units. theta and the bandwidth are plain numbers in the space the SAE sees, and Adam moves theta by at
// most about lr per step whatever its gradient, so they only mean something on an input of known scale:
// JumpReLU therefore defaults to --normalize scalar (E||x|| = sqrt(d)), where thetaInit 0.5 and bandwidth
// 0.05 were measured to work (README, "JumpReLU"); jumpreluScaleWarning says when the input is raw.
// theta is kept >= 0 after every step (clampThresholds): a negative threshold would let the penalty count
// pre-activations in (theta, 0] that the ReLU never passes, so the L0 it penalises would not be the real L0.
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import { heaviside, jumprelu } from '../ste.js';
import { fromArray, tidy, type Tensor } from '../tensor.js';
import { activity, center, decodeDense, mse, preActs, type ForwardCtx, type TrainOut } from './common.js';
import { normalizeInput } from './normalize.js';
import { SAE_DEFAULTS, type SaeConfig, type NormalizeMode } from './config.js';
import type { SaeParams } from './params.js';

/**
 * The threshold parameter is theta / THETA_UNIT: Adam moves a parameter by about lr per step whatever its
 * gradient, so stored as is, theta could move only ~lr per step (0.45 in 1500 steps at lr 3e-4), too slow
 * to follow the penalty. Stored in this unit it moves THETA_UNIT times faster. A power of two, so the
 * conversions are exact. Measured (README, "JumpReLU"): with 1 the L0 response to the coefficient is weak
 * within 600-1500 steps; with 8 and 32 it is strong and smooth; 8 keeps the per-step jitter smaller.
 */
export const THETA_UNIT = 8;

/** The thresholds [M] in input units (differentiable in p.theta). */
export function thresholds(p: SaeParams): Tensor {
  if (!p.theta) throw new Error('jumprelu: parameters have no theta');
  return o.mulScalar(p.theta, THETA_UNIT);
}

/** Host thresholds <-> the stored parameter. */
export const thetaToParam = (theta: Float32Array): Float32Array => theta.map((v) => v / THETA_UNIT);
export const paramToTheta = (param: Float32Array): Float32Array => param.map((v) => v * THETA_UNIT);

export function jumpreluForward(x: Tensor, p: SaeParams, ctx: ForwardCtx): TrainOut {
  const theta = thresholds(p);
  const eps = ctx.cfg.bandwidth;
  const pre = preActs(center(x, p), p);
  // ReLU first (as the paper's code; SAELens computes relu(pre) * (pre > threshold)): even if a threshold
  // is driven below 0, negative pre-activations never pass.
  const f = jumprelu(o.relu(pre), theta, eps);
  const xhat = decodeDense(f, p);
  const rec = mse(xhat, x);
  const l0Penalty = o.mulScalar(o.sum(heaviside(pre, theta, eps)), 1 / x.rows);
  const loss = o.add(rec, o.mulScalar(l0Penalty, ctx.cfg.l0Coeff));
  return { loss, mse: rec, aux: null, sparsity: l0Penalty, ...activity(f), minSelected: null, xhat };
}

/** Project the thresholds onto theta >= 0 (after each optimiser step). */
export function clampThresholds(p: SaeParams): void {
  const theta = p.theta;
  if (!theta) return;
  noGrad(() => theta.backend.copy(theta.storage, o.relu(theta).storage));
}

/** Scale statistics of a sample of raw rows: E||x|| and the RMS per component of x - mean(x). */
export interface ScaleStats {
  meanNorm: number;
  centredRms: number;
}

/**
 * A warning when JumpReLU runs on an input whose scale the threshold defaults do not fit. With --normalize
 * none, thetaInit and bandwidth are in raw activation units, and Adam moves theta by a bounded step, so on
 * data of norm far from sqrt(d) the threshold starts in the wrong place; the raw scale is quoted. With
 * --normalize scalar, a mean offset that dominates the norm leaves the centred pre-activations (what theta
 * cuts) small: below a quarter of the scale the defaults assume, thetaInit would switch off almost every
 * latent at the start. Null when there is nothing to say.
 */
export function jumpreluScaleWarning(
  sae: Pick<SaeConfig, 'arch' | 'dIn' | 'thetaInit' | 'bandwidth'>,
  normalize: NormalizeMode,
  stats?: ScaleStats,
): string | null {
  if (sae.arch !== 'jumprelu' || normalize === 'layernorm') return null;
  if (normalize === 'scalar') {
    if (!stats || !(stats.meanNorm > 0)) return null;
    const spread = (stats.centredRms * Math.sqrt(sae.dIn)) / stats.meanNorm;
    if (spread >= 0.25) return null;
    return (
      `warning: jumprelu: most of this data's norm is a shared offset, so after --normalize scalar the centred ` +
      `activations spread only ${spread.toPrecision(2)} per component (the defaults assume about 1); --theta-init ` +
      `${sae.thetaInit} would start with almost every latent off. Give a smaller --theta-init and --bandwidth ` +
      `(about ${(sae.thetaInit * spread).toPrecision(2)} and ${(sae.bandwidth * spread).toPrecision(2)})`
    );
  }
  const meanNorm = stats?.meanNorm;
  const scale = meanNorm !== undefined ? ` (this data: E||x|| = ${meanNorm.toPrecision(3)}, sqrt(d) = ${Math.sqrt(sae.dIn).toPrecision(3)})` : '';
  const defaults = sae.thetaInit === SAE_DEFAULTS.thetaInit && sae.bandwidth === SAE_DEFAULTS.bandwidth ? 'the defaults ' : '';
  return (
    `warning: jumprelu with --normalize none: ${defaults}--theta-init ${sae.thetaInit} and --bandwidth ${sae.bandwidth} are then in raw ` +
    `activation units, but they are sized for inputs scaled to E||x|| = sqrt(d)${scale}; on another scale the ` +
    `threshold starts in the wrong place, its gradient window catches too few or too many samples, and each Adam ` +
    `step (about ${THETA_UNIT} x --lr) is too small or too large for it. Use --normalize scalar (the JumpReLU default) ` +
    `or layernorm, or size both to your data`
  );
}

/**
 * Per-latent thresholds that give `targetL0` active latents per sample overall on rows [rows, M] of
 * pre-activations, streamed in chunks: every latent gets the same firing rate targetL0 / M, so its threshold
 * is the (n+1)-th largest of its rows' pre-activations with n = round(rows * targetL0 / M) (exactly n of them
 * are strictly above it when there are no ties), and at least 0 (the ReLU passes nothing below 0 anyway).
 * Exact selection, no randomness: the result is a function of the values alone, in any chunking.
 */
export class ThetaQuantiles {
  private readonly keep: number;
  private readonly tops: number[][];
  private rows = 0;

  constructor(
    readonly dSae: number,
    readonly totalRows: number,
    readonly targetL0: number,
  ) {
    if (!(targetL0 > 0 && targetL0 < dSae)) throw new Error(`jumprelu: the target L0 for the threshold init must be in (0, ${dSae}), got ${targetL0}`);
    this.keep = Math.min(totalRows - 1, Math.round((totalRows * targetL0) / dSae)) + 1;
    this.tops = Array.from({ length: dSae }, () => []);
  }

  /** Add a chunk of pre-activations [rows, M] (row-major). */
  add(pre: Float32Array): void {
    const M = this.dSae;
    const rows = pre.length / M;
    for (let j = 0; j < M; j++) {
      const t = this.tops[j]!;
      for (let r = 0; r < rows; r++) t.push(pre[r * M + j]!);
      // Keep only the largest `keep`: amortised, the buffer is cut back once it doubles.
      if (t.length >= 2 * this.keep + rows) cut(t, this.keep);
    }
    this.rows += rows;
  }

  /** The thresholds [M] in input units. */
  thresholds(): Float32Array {
    if (this.rows !== this.totalRows) throw new Error(`jumprelu: threshold init saw ${this.rows} rows, expected ${this.totalRows}`);
    return Float32Array.from(this.tops, (t) => {
      cut(t, this.keep);
      return Math.max(0, t[this.keep - 1]!);
    });
  }
}

function cut(t: number[], keep: number): void {
  t.sort((a, b) => b - a);
  t.length = Math.min(t.length, keep);
}

/**
 * Start the thresholds from the data (SaeConfig.thetaInitL0): run the initial encoder, with no update and
 * no randomness, over `batch` (host rows [rows * dIn], raw; normalised here as training will) and set each
 * latent's theta to the quantile of its pre-activations that gives `targetL0` active latents per sample
 * overall (ThetaQuantiles). Why: theta moves at most about THETA_UNIT x lr per Adam step, so from a fixed
 * thetaInit a short run cannot reach a small L0 whatever its coefficient (issue 17: at 300 steps, lr 3e-4,
 * L0 stayed at 11 for a target of 8 with the coefficient at 10); started at the target, the coefficient only
 * has to hold it there. Returns the thresholds set, in input units.
 */
export async function initThetaFromData(
  p: SaeParams,
  batch: Float32Array,
  o: { dIn: number; normalize: NormalizeMode; normScale: number; targetL0: number },
): Promise<Float32Array> {
  const theta = p.theta;
  if (!theta) throw new Error('jumprelu: parameters have no theta');
  const D = o.dIn;
  const M = theta.shape[0]!;
  const rows = batch.length / D;
  const q = new ThetaQuantiles(M, rows, o.targetL0);
  // Chunks of about 4M pre-activations: the host copy stays small at any width.
  const step = Math.max(1, Math.floor(2 ** 22 / M));
  for (let r0 = 0; r0 < rows; r0 += step) {
    const n = Math.min(step, rows - r0);
    const pre = noGrad(() =>
      tidy(() => {
        const x = fromArray(theta.backend, batch.subarray(r0 * D, (r0 + n) * D), [n, D]);
        return preActs(center(normalizeInput(x, o.normalize, o.normScale).x, p), p);
      }),
    );
    q.add((await pre.read()) as Float32Array);
    pre.free();
  }
  const t = q.thresholds();
  theta.backend.write(theta.storage, thetaToParam(t));
  return t;
}
