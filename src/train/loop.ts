// The training loop, independent of any CLI: pull batches from a source, step the trainer, report each
// step. The CLI adds checkpoints, progress and logs through onStep. A step whose loss is not finite stops
// the loop (TrainingDiverged) before onStep sees it.
import type { Backend } from '../backend/backend.js';
import { initThetaFromData } from '../sae/jumprelu.js';
import type { TrainConfig } from './config.js';
import { Trainer, type StepMetrics } from './trainer.js';

/** Anything that fills a [batchSize * dIn] buffer with the next batch (BatchLoader does). */
export interface BatchSource {
  nextBatch(out: Float32Array): unknown;
}

export interface LoopOptions {
  /** Continue this trainer (a resumed run) instead of creating one from the source's first batch. */
  trainer?: Trainer;
  /** Stop after this step (default cfg.steps). */
  stopAt?: number;
  onStep?: (m: StepMetrics, t: Trainer) => Promise<void> | void;
}

/**
 * A fresh trainer: the source's first batch initialises b_dec (and the scalar normalisation) and, for
 * JumpReLU with thetaInitL0, the thresholds (initThetaFromData: a pass of the initial encoder over that
 * batch, no randomness); that batch is not trained on. The thresholds are parameters, so a checkpoint holds
 * them and a resumed run never recomputes them.
 */
export async function createTrainer(backend: Backend, cfg: TrainConfig, source: BatchSource): Promise<Trainer> {
  const first = new Float32Array(cfg.batchSize * cfg.sae.dIn);
  source.nextBatch(first);
  const t = await Trainer.create(backend, cfg, first);
  const targetL0 = cfg.sae.thetaInitL0 ?? 0;
  if (cfg.sae.arch === 'jumprelu' && targetL0 > 0) {
    try {
      await initThetaFromData(t.params, first, { dIn: cfg.sae.dIn, normalize: cfg.normalize, normScale: t.normScale, targetL0 });
    } catch (err) {
      t.dispose();
      throw err;
    }
  }
  return t;
}

/** Train until `stopAt`, from `opts.trainer` or a fresh trainer (createTrainer). */
export async function train(backend: Backend, cfg: TrainConfig, source: BatchSource, opts: LoopOptions = {}): Promise<Trainer> {
  const batch = new Float32Array(cfg.batchSize * cfg.sae.dIn);
  const trainer = opts.trainer ?? (await createTrainer(backend, cfg, source));
  const stopAt = Math.min(opts.stopAt ?? cfg.steps, cfg.steps);
  while (trainer.step < stopAt) {
    source.nextBatch(batch);
    const m = await trainer.trainStep(batch);
    // Before onStep: the state after a non-finite loss is never reported, logged or checkpointed.
    if (!Number.isFinite(m.loss)) throw new TrainingDiverged(m, cfg);
    await opts.onStep?.(m, trainer);
  }
  return trainer;
}

/**
 * The loss of a step came out NaN or infinite: the weights it updated are no longer usable, so training
 * stops there. Thrown by `train` before the step reaches onStep, so whatever onStep last saved (the CLI's
 * checkpoint) is the last good state.
 */
export class TrainingDiverged extends Error {
  readonly step: number;
  readonly loss: number;
  constructor(m: StepMetrics, cfg: TrainConfig) {
    super(
      `training diverged at step ${m.step}: the loss is ${m.loss} (reconstruction ${m.mse}); likely the learning rate ` +
        `is too high (--lr ${cfg.adam.lr}: lower it, or set --clip-grad-norm), or the data holds NaN or infinite values. ` +
        `Stopped without saving this step: the last checkpoint written before it, if any, is kept`,
    );
    this.name = 'TrainingDiverged';
    this.step = m.step;
    this.loss = m.loss;
  }
}
