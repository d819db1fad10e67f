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
import type { Tensor } from '../tensor.js';
import { activity, center, decodeDense, mse, preActs, type ForwardCtx, type TrainOut } from './common.js';
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
