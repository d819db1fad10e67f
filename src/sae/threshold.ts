// The BatchTopK inference threshold theta. The paper defines it as the expectation over batches of the
// smallest positive activation the batch selection keeps (theta_b), for the encoder that will run inference.
// Two estimators:
//   - ThresholdEma, the running estimate logged during training (monitoring only): an exponential moving
//     average of theta_b with rate r (default 0.01 per step, SAELens's topk_threshold_lr: a time constant of
//     100 steps), bias-corrected as Adam's moments are (value = ema / (1 - (1 - r)^n) after n batches), so
//     early values are not pulled towards the zero start; float64 on the host.
//   - calibrateThreshold, the theta that is saved: with the final weights and no updates, the plain mean of
//     theta_b over N training batches. A mean over encoders of the whole run describes encoders that no longer
//     exist (theta_b keeps falling for as long as the encoder trains at lr 3e-4); this one describes the
//     encoder the user gets.
// Batches whose selection holds no positive value contribute to neither.
// A calibration keeps every batch's theta_b on the device (ThetaBatches) and reads them all at the end in one
// read: no host wait per batch, and the host then sums them in float64 as before (same theta, same minima).
import type { Backend } from '../backend/backend.js';
import { normalizeInput } from './normalize.js';
import type { NormalizeMode } from './config.js';
import type { SaeParams } from './params.js';
import { encodeBatchTopK } from './batch_encode.js';
import type { Tensor } from '../tensor.js';
import { fromArray, readScalars, tidy } from '../tensor.js';

/** SAELens's rate: a time constant of 100 steps. */
export const THETA_EMA_RATE = 0.01;

export interface ThresholdState {
  rate: number;
  /** The uncorrected EMA and the batches it has seen. */
  ema: number;
  count: number;
  /** The calibrated theta of the final weights (0 until calibrated) and the step it belongs to. */
  calibrated: number;
  calibratedAtStep: number;
}

/** True when theta_b is a usable value (the kernel reports >= 1e38 when no selected value is positive). */
export function isCut(minSelected: number): boolean {
  return minSelected > 0 && minSelected < 1e38;
}

export class ThresholdEma {
  ema = 0;
  count = 0;

  constructor(readonly rate = THETA_EMA_RATE) {
    if (!(rate > 0 && rate <= 1)) throw new Error(`threshold: EMA rate must be in (0, 1], got ${rate}`);
  }

  update(minSelected: number): void {
    if (!isCut(minSelected)) return;
    this.ema += this.rate * (minSelected - this.ema);
    this.count++;
  }

  /** The bias-corrected running estimate (0 before any batch). */
  get value(): number {
    return this.count ? this.ema / (1 - (1 - this.rate) ** this.count) : 0;
  }
}

/** Where a calibration pass gets its batches and what it computes them with. */
export interface CalibrationModel {
  params: SaeParams;
  k: number;
  normalize: NormalizeMode;
  normScale: number;
  dIn: number;
}

export interface Calibration {
  /** Mean of theta_b over the batches that had a positive cut. */
  theta: number;
  /** theta_b of every batch, in order (NaN where none was positive). */
  minima: number[];
  /** Batches and rows seen. */
  batches: number;
  rows: number;
}

/**
 * The theta_b of a calibration's batches, kept on the device until `read` packs them into one buffer and
 * reads it once. Each `add` only records device work (and uploads the batch).
 */
export class ThetaBatches {
  private readonly cuts: Tensor[] = [];
  rows = 0;

  constructor(
    private readonly backend: Backend,
    private readonly m: CalibrationModel,
  ) {}

  get batches(): number {
    return this.cuts.length;
  }

  /** Record the theta_b of one host batch [rows * dIn]. */
  add(batch: Float32Array): void {
    const { m, backend } = this;
    if (batch.length % m.dIn !== 0) throw new Error(`calibrate: batch of ${batch.length} values is not a multiple of dIn (${m.dIn})`);
    const n = batch.length / m.dIn;
    const t = tidy(() => {
      const x = normalizeInput(fromArray(backend, batch, [n, m.dIn]), m.normalize, m.normScale).x;
      return encodeBatchTopK(x, m.params, m.k).minSelected;
    });
    this.cuts.push(t.keep());
    this.rows += n;
  }

  /** Every batch's theta_b in order (NaN where none was positive), in one read (readScalars). */
  async read(): Promise<number[]> {
    return Array.from(await readScalars(this.cuts), (x) => (isCut(x) ? x : NaN));
  }

  dispose(): void {
    this.cuts.forEach((t) => t.free());
    this.cuts.length = 0;
  }
}

/**
 * theta = mean over `batches` (host arrays [rows * dIn]) of the smallest positive value the batch top-k
 * (rows * k entries) selects, with the given weights and no updates. Accumulated in float64.
 */
export async function calibrateThreshold(backend: Backend, m: CalibrationModel, batches: Iterable<Float32Array>): Promise<Calibration> {
  const tb = new ThetaBatches(backend, m);
  try {
    for (const batch of batches) if (batch.length > 0) tb.add(batch);
    return thetaOf(await tb.read(), tb.rows);
  } finally {
    tb.dispose();
  }
}

/** The mean of the batches' theta_b (NaN: none positive) in float64, in batch order; null when none is a cut. */
export function meanCut(minima: readonly number[]): number | null {
  let sum = 0;
  let used = 0;
  for (const v of minima) if (!Number.isNaN(v)) (sum += v), used++;
  return used === 0 ? null : sum / used;
}

/** theta from the batches' theta_b (meanCut). */
function thetaOf(minima: number[], rows: number): Calibration {
  const theta = meanCut(minima);
  if (theta === null) throw new Error(`calibrate: no batch selected a positive activation (${minima.length} batches); theta is undefined`);
  return { theta, minima, batches: minima.length, rows };
}
