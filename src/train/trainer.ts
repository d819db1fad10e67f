// The training step, independent of any CLI: feed it host batches, it runs forward, backward, the
// decoder-gradient projection, optional clipping, Adam with the learning-rate schedule, the decoder
// renormalisation, dead-latent bookkeeping and the running threshold estimate. Deterministic from the seed.
// Its whole state (parameters, Adam moments, step, theta, dead counters) can be saved and restored, so a
// resumed run continues bit for bit. `calibrate` sets the saved BatchTopK theta of the current weights
// from batches the caller provides (training rows, never eval rows), with no update.
//
// No host wait in a step (issue 20): `advance` records a step and returns; its metrics, the dead count and
// the running theta stay on the device (window.ts) until `settle` reads them all in one read. Nothing read
// back feeds the computation (AuxK's need is known from the step count, auxk.ts gates its loss on the
// device; the CPU backends read the dead count only to select fewer AuxK entries, to the same bits), so when
// the caller settles changes no bit of the run. `trainStep` is one step then a settle.
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
import { StepWindow } from './window.js';
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
import { calibrateThreshold, isCut, ThresholdEma, type Calibration, type ThresholdState } from '../sae/threshold.js';
import { learningRate, type TrainConfig } from './config.js';

/**
 * The metrics of the steps since the previous settle (a window; one step for trainStep), ending at `step`:
 * means over its steps (float32 sums on the device), or the state after its last step where so marked.
 */
export interface StepMetrics {
  /** The window's last step, and how many steps it holds. */
  step: number;
  steps: number;
  loss: number;
  mse: number;
  /** AuxK loss before alpha (0 when no latent is dead). */
  aux: number;
  /** Sparsity penalty before its coefficient (L1 or L0), 0 for topk/batchtopk. */
  sparsity: number;
  /** Mean active latents per sample (the batch selection for topk/batchtopk). */
  l0: number;
  /** Latents dead after the last step. */
  dead: number;
  /**
   * Smallest positive selected activation of the window's batches (topk/batchtopk/matryoshka; a value >= 1e38
   * when none was positive), else NaN.
   */
  minSelected: number;
  /** Mean of the window's usable batch cuts theta_b (isCut), NaN when none, and how many steps had one. */
  thetaBatchMean: number;
  cutSteps: number;
  /** Running (EMA) threshold estimate after the last step (batchtopk, matryoshka), else NaN; monitoring only. */
  threshold: number;
  /** Learning rate of the last step. */
  lr: number;
}

/** What the host knows of a step the moment it is recorded (no wait). */
export interface StepFacts {
  step: number;
  lr: number;
  tokens: number;
}

/**
 * Whether host waits cost on this backend: one that records work for a device (it has device counters,
 * Backend.counters, forwarded by the profiler) runs ahead of the host until a read waits for it. The CPU
 * backends compute as they are called, so a read there costs only the copy.
 */
export function recordsForDevice(backend: Backend): boolean {
  return backend.counters !== undefined;
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
  /** Running estimate of theta (monitoring), as of the last settle or getState (the device holds the live one). */
  thetaEma: ThresholdEma;
  /** Calibrated theta of the weights at step `thetaStep` (0: not calibrated). */
  theta = 0;
  thetaStep = -1;
  private readonly since: Tensor; // [M] steps since fired
  /**
   * How far `since` may exceed the step count (0 but for a checkpoint that says otherwise): since grows by at
   * most 1 a step from 0, so at step s no latent can be dead while s - 1 + sinceLead < ceil(deadTokens/batch).
   */
  private sinceLead = 0;
  /**
   * What the last settle showed of dead latents on a device: `dead` of them before the next step, and none
   * other can be dead before any step up to `until` (see deadBound). null before the first settle.
   */
  private deadSeen: { until: number; dead: number } | null = null;
  private readonly window: StepWindow;
  /** Steps recorded since the last settle, and the learning rate of the latest. */
  private pending = 0;
  private lastLr = 0;
  /** Whether the architecture reports theta_b (known after the first step). */
  private hasMinSelected = false;
  /**
   * Matryoshka: split the selection by latent group on the host (selectGrouped, one read of its indices per
   * step) and decode each entry once, or decode the masked whole selection per group (matryoshkaForward, no
   * read). The grouped path is cheaper on the CPU backends (bench/RESULTS.md "Matryoshka"); on a device its
   * read would be a host wait every step. Equal training results up to summation order (spec/train).
   */
  groupedMatryoshka: boolean;
  /**
   * Matryoshka: each prefix's reconstruction mse (element mean, narrowest first), the mean over the last
   * settled window; empty for other architectures. Kept beside StepMetrics, whose fields are all plain numbers.
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
    this.window = new StepWindow(backend, cfg.thresholdEmaRate);
    this.since = fromArray(backend, new Float32Array(cfg.sae.dSae), [cfg.sae.dSae]).keep();
    this.groupedMatryoshka = !recordsForDevice(backend);
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
    let most = 0;
    for (const v of st.stepsSinceFired) most = Math.max(most, v);
    t.sinceLead = Math.max(0, most - st.step);
    return t;
  }

  /** [M] 1 for dead latents: no positive activation for deadTokens tokens, counted in whole batches. */
  private deadMask(): Tensor {
    return o.ge(this.since, scalar(this.backend, this.deadSteps()));
  }

  /** One optimisation step on a host batch [batchSize * dIn], then a settle: its own metrics. */
  async trainStep(batch: Float32Array): Promise<StepMetrics> {
    await this.advance(batch);
    return this.settle();
  }

  /**
   * One optimisation step on a host batch [batchSize * dIn], recorded without waiting for the device (but for
   * Matryoshka on the CPU backends, whose grouped path reads the selection). Its metrics wait for `settle`.
   */
  async advance(batch: Float32Array): Promise<StepFacts> {
    const { sae, batchSize } = this.cfg;
    checkBatch(batch, this.cfg);
    this.step++;
    const lr = learningRate(this.cfg, this.step);
    const params = paramList(this.params);
    const input = () => noGrad(() => normalizeInput(fromArray(this.backend, batch, [batchSize, sae.dIn]), this.cfg.normalize, this.normScale).x);
    // Matryoshka: the batch selection is made and split by latent group before the taped forward (one read of
    // its indices, sae/matryoshka.ts), so each selected entry is decoded and back-propagated once.
    let grouped: GroupedSelection | null = null;
    let xnGrouped: Tensor | null = null;
    if (sae.arch === 'matryoshka' && this.groupedMatryoshka) {
      xnGrouped = tidy(input).keep();
      try {
        grouped = await selectGrouped(xnGrouped, this.params, sae);
      } catch (err) {
        xnGrouped.free();
        throw err;
      }
    }
    try {
      this.record(lr, params, input, xnGrouped, grouped, await this.deadBound());
    } finally {
      grouped?.free();
      xnGrouped?.free();
    }
    this.pending++;
    this.lastLr = lr;
    return { step: this.step, lr, tokens: this.step * batchSize };
  }

  /**
   * An upper bound on the latents dead before this step, for AuxK's per-row k (auxk.ts): 0 while the step count
   * says none can be dead. After that, on a device, what the last settle read with the window (no read of its
   * own): the latents dead then, as long as no latent alive then can have died since (its steps-since-fired
   * grows by at most 1 a step), else dSae: the step selects min(kAux, bound) and the device gates the loss.
   * So a step with no dead latent launches no AuxK work, and one with few selects only those. On the CPU
   * backends, which compute as they are called (a read costs only the copy), the exact count. Any bound gives
   * the same bits (the extra picks carry exact zeros, spec/train/auxk_gate), with less work the tighter it is.
   */
  private async deadBound(): Promise<number> {
    if (this.step - 1 + this.sinceLead < this.deadSteps()) return 0;
    if (recordsForDevice(this.backend)) {
      const seen = this.deadSeen;
      return seen && this.step <= seen.until ? seen.dead : this.cfg.sae.dSae;
    }
    const count = noGrad(() => tidy(() => o.sum(this.deadMask()))).keep();
    try {
      return await count.item();
    } finally {
      count.free();
    }
  }

  private record(lr: number, params: Tensor[], input: () => Tensor, xnGrouped: Tensor | null, grouped: GroupedSelection | null, deadBound: number): void {
    const { sae } = this.cfg;
    tidy(() => {
      const xn = xnGrouped ?? input();
      const dead = deadBound > 0 ? noGrad(() => this.deadMask()) : null;
      const ctx = { cfg: sae, dead, deadCount: deadBound };
      const out = grouped ? matryoshkaForwardGrouped(xn, this.params, ctx, grouped) : trainForward(xn, this.params, ctx);
      backward(out.loss);
      // Own scopes: their [M,D] temporaries are freed here, not at the end of the step (peak memory).
      tidy(() => projectDecoderGrad(this.params));
      if (this.cfg.clipGradNorm > 0) clipGradNorm(params, this.cfg.clipGradNorm);
      this.adam.step(lr);
      zeroGrad(params);
      tidy(() => normalizeDecoder(this.params));
      clampThresholds(this.params);
      noGrad(() => {
        // since = (since + 1) * (fired == 0)
        const quiet = o.addScalar(o.neg(o.step(out.fired)), 1);
        this.backend.copy(this.since.storage, o.mul(o.addScalar(this.since, 1), quiet).storage);
        this.window.add({ loss: out.loss, mse: out.mse, aux: out.aux, sparsity: out.sparsity, l0: out.l0, minSelected: out.minSelected, prefixMse: out.prefixMse ?? [] });
      });
      this.hasMinSelected = out.minSelected !== null;
    });
  }

  private deadSteps(): number {
    return Math.ceil(this.cfg.sae.deadTokens / this.cfg.batchSize);
  }

  /**
   * The metrics of the steps since the last settle, in one read of the device (window.ts), and a new window.
   * A non-finite loss in any of its steps makes `loss` non-finite (the caller stops: loop.ts).
   */
  async settle(): Promise<StepMetrics> {
    const n = this.pending;
    if (n === 0) throw new Error(`settle: no training step since the last settle (step ${this.step})`);
    const [dead, maxAlive] = noGrad(() =>
      tidy(() => {
        const mask = this.deadMask();
        // since where alive, -1 where dead: its max is the oldest firing among the living.
        const alive = o.sub(o.mul(o.addScalar(this.since, 1), o.addScalar(o.neg(mask), 1)), scalar(this.backend, 1));
        return [o.sum(mask).keep(), o.reduceAll('max', alive).keep()];
      }),
    );
    let s;
    try {
      s = await this.window.read(dead, maxAlive);
    } finally {
      dead.free();
      maxAlive.free();
    }
    // Before step S + j a latent alive now (since <= maxAliveSince) has since <= maxAliveSince + j - 1, so none
    // of them is dead before any step up to S + deadSteps - maxAliveSince; the dead now may only revive.
    this.deadSeen = { until: this.step + this.deadSteps() - Math.max(0, s.maxAliveSince), dead: s.dead };
    this.pending = 0;
    const batchThreshold = hasBatchThreshold(this.cfg.sae.arch);
    if (batchThreshold) [this.thetaEma.ema, this.thetaEma.count] = [s.ema, s.emaCount];
    this.lastPrefixMse = s.prefixMse.map((v) => v / n);
    const minSelected = this.hasMinSelected ? s.cutMin : NaN;
    return {
      step: this.step,
      steps: n,
      loss: s.loss / n,
      mse: s.mse / n,
      aux: s.aux / n,
      sparsity: s.sparsity / n,
      l0: s.l0 / n,
      dead: s.dead,
      minSelected,
      thetaBatchMean: s.cuts > 0 && isCut(minSelected) ? s.cutSum / s.cuts : NaN,
      cutSteps: s.cuts,
      threshold: batchThreshold ? this.thetaEma.value : NaN,
      lr: this.lastLr,
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
    // The live estimate is the device's (float32; a checkpoint of a float64 host EMA is rounded once here).
    this.window.setEma(this.thetaEma.ema, this.thetaEma.count, this.thetaEma.rate);
  }

  async getState(): Promise<TrainerState> {
    const live = await this.window.ema();
    [this.thetaEma.ema, this.thetaEma.count] = [live.ema, live.count];
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
    this.window.dispose();
    this.adam.dispose();
  }
}

function checkBatch(batch: Float32Array, cfg: TrainConfig): void {
  const want = cfg.batchSize * cfg.sae.dIn;
  if (batch.length !== want) {
    throw new Error(`train: batch has ${batch.length} values, expected batchSize (${cfg.batchSize}) x dIn (${cfg.sae.dIn}) = ${want}`);
  }
}
