// The training step, independent of any CLI: feed it host batches, it runs forward, backward, the
// decoder-gradient projection, optional clipping, Adam with the learning-rate schedule, the decoder
// renormalisation, dead-latent bookkeeping and the running threshold estimate. Deterministic from the seed.
// Its whole state (parameters, Adam moments, step, theta, dead counters) can be saved and restored, so a
// resumed run continues bit for bit. `calibrate` sets the saved BatchTopK theta of the current weights
// from batches the caller provides (training rows, never eval rows), with no update.
import type { Backend } from '../backend/backend.js';
import { backward, zeroGrad } from '../autodiff/grad.js';
import { noGrad } from '../autodiff/tape.js';
import * as o from '../ops.js';
import { Adam, type AdamState } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { Rng } from '../rng.js';
import { fromArray, scalar, Tensor, tidy } from '../tensor.js';
import { hasBatchThreshold } from '../sae/config.js';
import { trainForward } from '../sae/forward.js';
import { matryoshkaForwardGrouped, selectGrouped, type GroupedSelection } from '../sae/matryoshka.js';
import { normalizeInput, scalarNormFactor } from '../sae/normalize.js';
import {
  downloadParams,
  initHostParams,
  normalizeDecoder,
  paramList,
  projectDecoderGrad,
  uploadParams,
  type HostParams,
  type SaeParams,
} from '../sae/params.js';
import { clampThresholds, thetaToParam } from '../sae/jumprelu.js';
import { calibrateThreshold, ThresholdEma, type Calibration, type ThresholdState } from '../sae/threshold.js';
import { learningRate, type TrainConfig } from './config.js';

export interface StepMetrics {
  step: number;
  loss: number;
  mse: number;
  /** AuxK loss before alpha (0 when no latent is dead). */
  aux: number;
  /** Sparsity penalty before its coefficient (L1 or L0), 0 for topk/batchtopk. */
  sparsity: number;
  /** Mean active latents per sample in this batch (the batch selection for topk/batchtopk). */
  l0: number;
  /** Latents dead after this step. */
  dead: number;
  /** Smallest positive selected activation of this batch (topk/batchtopk), else NaN. */
  minSelected: number;
  /** Running (EMA) threshold estimate after this step (batchtopk, matryoshka), else NaN; monitoring only. */
  threshold: number;
  lr: number;
}

export interface TrainerState {
  step: number;
  params: HostParams;
  adam: AdamState;
  threshold: ThresholdState;
  /** Per latent: training steps since it last had a positive activation. */
  stepsSinceFired: Float32Array;
  /** Scalar normalisation factor (1 unless normalize = scalar). */
  normScale: number;
}

export class Trainer {
  readonly params: SaeParams;
  private readonly adam: Adam;
  step = 0;
  /** Running estimate of theta (monitoring). */
  thetaEma: ThresholdEma;
  /** Calibrated theta of the weights at step `thetaStep` (0: not calibrated). */
  theta = 0;
  thetaStep = -1;
  private readonly since: Tensor; // [M] steps since fired
  private deadCount = 0;
  private deadCountPending: Tensor | null = null;
  /**
   * Matryoshka: each prefix's reconstruction mse (element mean, narrowest first) in the last step; empty for
   * other architectures. Kept beside StepMetrics, whose fields are all plain numbers (metrics.jsonl means).
   */
  lastPrefixMse: number[] = [];

  private constructor(
    readonly backend: Backend,
    readonly cfg: TrainConfig,
    host: HostParams,
    readonly normScale: number,
  ) {
    this.params = uploadParams(backend, cfg.sae, host);
    this.adam = new Adam(paramList(this.params), cfg.adam);
    this.thetaEma = new ThresholdEma(cfg.thresholdEmaRate);
    this.since = fromArray(backend, new Float32Array(cfg.sae.dSae), [cfg.sae.dSae]).keep();
  }

  /**
   * A fresh trainer. The first batch initialises b_dec (its mean, in normalised space) and, for
   * normalize = scalar, the normalisation factor; it is not trained on here.
   */
  static async create(backend: Backend, cfg: TrainConfig, firstBatch: Float32Array): Promise<Trainer> {
    const { dIn: D } = cfg.sae;
    checkBatch(firstBatch, cfg);
    const normScale = cfg.normalize === 'scalar' ? scalarNormFactor(firstBatch, D) : 1;
    const rows = firstBatch.length / D;
    const meanT = noGrad(() =>
      tidy(() => {
        const x = fromArray(backend, firstBatch, [rows, D]);
        return o.mulScalar(o.sumAxis(normalizeInput(x, cfg.normalize, normScale).x, 0), 1 / rows);
      }),
    );
    const mean = (await meanT.read()) as Float32Array;
    meanT.free();
    const host = initHostParams(cfg.sae, new Rng(cfg.seed), mean);
    if (host.theta) host.theta = thetaToParam(host.theta); // stored in THETA_UNIT (jumprelu.ts)
    return new Trainer(backend, cfg, host, normScale);
  }

  static restore(backend: Backend, cfg: TrainConfig, st: TrainerState): Trainer {
    const t = new Trainer(backend, cfg, st.params, st.normScale);
    t.adam.setState(st.adam);
    t.step = st.step;
    t.setThresholdState(st.threshold);
    backend.write(t.since.storage, st.stepsSinceFired);
    t.refreshDead();
    return t;
  }

  /** [M] 1 for dead latents: no positive activation for deadTokens tokens, counted in whole batches. */
  private deadMask(): Tensor {
    const steps = Math.ceil(this.cfg.sae.deadTokens / this.cfg.batchSize);
    return o.ge(this.since, scalar(this.backend, steps));
  }

  /** After a restore: count the dead latents (read at the next step, with no extra sync now). */
  private refreshDead(): void {
    this.deadCountPending = noGrad(() => tidy(() => o.sum(this.deadMask()))).keep();
  }

  /** One optimisation step on a host batch [batchSize * dIn]. */
  async trainStep(batch: Float32Array): Promise<StepMetrics> {
    const { sae, batchSize } = this.cfg;
    checkBatch(batch, this.cfg);
    if (this.deadCountPending) {
      this.deadCount = await this.deadCountPending.item();
      this.deadCountPending.free();
      this.deadCountPending = null;
    }
    this.step++;
    const lr = learningRate(this.cfg, this.step);
    const params = paramList(this.params);
    const input = () => noGrad(() => normalizeInput(fromArray(this.backend, batch, [batchSize, sae.dIn]), this.cfg.normalize, this.normScale).x);
    // Matryoshka: the batch selection is made and split by latent group before the taped forward (one read of
    // its indices, sae/matryoshka.ts), so each selected entry is decoded and back-propagated once.
    let grouped: GroupedSelection | null = null;
    let xnGrouped: Tensor | null = null;
    if (sae.arch === 'matryoshka') {
      xnGrouped = tidy(input).keep();
      try {
        grouped = await selectGrouped(xnGrouped, this.params, sae);
      } catch (err) {
        xnGrouped.free();
        throw err;
      }
    }
    try {
      return await this.finishStep(lr, params, input, xnGrouped, grouped);
    } finally {
      grouped?.free();
      xnGrouped?.free();
    }
  }

  private async finishStep(
    lr: number,
    params: Tensor[],
    input: () => Tensor,
    xnGrouped: Tensor | null,
    grouped: GroupedSelection | null,
  ): Promise<StepMetrics> {
    const { sae } = this.cfg;
    const scalars = tidy(() => {
      const xn = xnGrouped ?? input();
      const dead = this.deadCount > 0 ? noGrad(() => this.deadMask()) : null;
      const ctx = { cfg: sae, dead, deadCount: this.deadCount };
      const out = grouped ? matryoshkaForwardGrouped(xn, this.params, ctx, grouped) : trainForward(xn, this.params, ctx);
      backward(out.loss);
      // Own scopes: their [M,D] temporaries are freed here, not at the end of the step (peak memory).
      tidy(() => projectDecoderGrad(this.params));
      if (this.cfg.clipGradNorm > 0) clipGradNorm(params, this.cfg.clipGradNorm);
      this.adam.step(lr);
      zeroGrad(params);
      tidy(() => normalizeDecoder(this.params));
      clampThresholds(this.params);
      return noGrad(() => {
        // since = (since + 1) * (fired == 0)
        const quiet = o.addScalar(o.neg(o.step(out.fired)), 1);
        this.backend.copy(this.since.storage, o.mul(o.addScalar(this.since, 1), quiet).storage);
        return {
          loss: out.loss,
          mse: out.mse,
          aux: out.aux,
          sparsity: out.sparsity,
          l0: out.l0,
          minSelected: out.minSelected,
          dead: o.sum(this.deadMask()),
          prefixMse: out.prefixMse ?? [],
        };
      });
    });
    const read = async (t: Tensor | null, dflt: number) => {
      if (!t) return dflt;
      const v = await t.item();
      t.free();
      return v;
    };
    const [loss, mse, aux, sparsity, l0, minSelected, dead] = await Promise.all([
      read(scalars.loss, 0),
      read(scalars.mse, 0),
      read(scalars.aux, 0),
      read(scalars.sparsity, 0),
      read(scalars.l0, 0),
      read(scalars.minSelected, NaN),
      read(scalars.dead, 0),
    ]);
    // The last prefix is the full width: the very tensor read (and freed) as mse above.
    this.lastPrefixMse = await Promise.all(scalars.prefixMse.map((t) => (t === scalars.mse ? mse : read(t, 0))));
    this.deadCount = dead;
    if (hasBatchThreshold(sae.arch)) this.thetaEma.update(minSelected);
    return {
      step: this.step,
      loss,
      mse,
      aux,
      sparsity,
      l0,
      dead,
      minSelected,
      threshold: hasBatchThreshold(sae.arch) ? this.thetaEma.value : NaN,
      lr,
    };
  }

  /**
   * BatchTopK and Matryoshka (the same selection): set theta to the mean, over `batches` (host [rows * dIn] arrays of training rows), of the
   * smallest positive value the batch top-k keeps, computed with the current weights and no update.
   */
  async calibrate(batches: Iterable<Float32Array>): Promise<Calibration> {
    const { sae } = this.cfg;
    if (!hasBatchThreshold(sae.arch)) throw new Error(`calibrate: only batchtopk and matryoshka SAEs have a threshold to calibrate (this one is ${sae.arch})`);
    const c = await calibrateThreshold(
      this.backend,
      { params: this.params, k: sae.k, normalize: this.cfg.normalize, normScale: this.normScale, dIn: sae.dIn },
      batches,
    );
    this.theta = c.theta;
    this.thetaStep = this.step;
    return c;
  }

  /** The calibrated theta when it belongs to the current weights, else 0. */
  get calibratedTheta(): number {
    return this.thetaStep === this.step ? this.theta : 0;
  }

  private setThresholdState(s: ThresholdState | { sum: number; count: number }): void {
    if ('rate' in s) {
      this.thetaEma = new ThresholdEma(s.rate);
      this.thetaEma.ema = s.ema;
      this.thetaEma.count = s.count;
      this.theta = s.calibrated;
      this.thetaStep = s.calibratedAtStep;
    } else {
      // A checkpoint of the earlier plain-mean estimator: continue the EMA from that mean, as warmed up.
      this.thetaEma.ema = s.count ? s.sum / s.count : 0;
      this.thetaEma.count = s.count ? Math.max(s.count, 1000) : 0;
    }
  }

  async getState(): Promise<TrainerState> {
    return {
      step: this.step,
      params: await downloadParams(this.params),
      adam: await this.adam.getState(),
      threshold: {
        rate: this.thetaEma.rate,
        ema: this.thetaEma.ema,
        count: this.thetaEma.count,
        calibrated: this.theta,
        calibratedAtStep: this.thetaStep,
      },
      stepsSinceFired: (await this.since.read()) as Float32Array,
      normScale: this.normScale,
    };
  }

  dispose(): void {
    for (const p of paramList(this.params)) p.free();
    this.since.free();
    this.deadCountPending?.free();
    this.adam.dispose();
  }
}

function checkBatch(batch: Float32Array, cfg: TrainConfig): void {
  const want = cfg.batchSize * cfg.sae.dIn;
  if (batch.length !== want) {
    throw new Error(`train: batch has ${batch.length} values, expected batchSize (${cfg.batchSize}) x dIn (${cfg.sae.dIn}) = ${want}`);
  }
}
