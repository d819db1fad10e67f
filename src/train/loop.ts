// The training loop, independent of any CLI: pull batches from a source, step the trainer, report each
// step the moment it is recorded (onAdvance, no wait) and the metrics of each settled window (onStep). The
// CLI adds checkpoints, progress and logs through them. By default every step is settled (onStep sees each
// step's own metrics); `settleAt` settles less often, so the steps between run without a host wait. A window
// whose loss is not finite stops the loop (TrainingDiverged) before onStep sees it.
import type { Backend } from '../backend/backend.js';
import { initThetaFromData } from '../sae/jumprelu.js';
import type { TrainConfig } from './config.js';
import { Trainer, type StepFacts, type StepMetrics } from './trainer.js';

/** Anything that fills a [batchSize * dIn] buffer with the next batch (BatchLoader does). */
export interface BatchSource {
  nextBatch(out: Float32Array): unknown;
}

export interface LoopOptions {
  /** Continue this trainer (a resumed run) instead of creating one from the source's first batch. */
  trainer?: Trainer;
  /** Stop after this step (default cfg.steps). */
  stopAt?: number;
  /** Whether to settle after this step (default: every step). The last step (stopAt) is always settled. */
  settleAt?: (step: number) => boolean;
  /** Every step as soon as it is recorded, before it is settled: what the host knows of it (no wait). */
  onAdvance?: (f: StepFacts, t: Trainer) => Promise<void> | void;
  /** Every settle: the metrics of the steps since the previous one (finite: see TrainingDiverged). */
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
    const f = await trainer.advance(batch);
    await opts.onAdvance?.(f, trainer);
    if (f.step < stopAt && opts.settleAt && !opts.settleAt(f.step)) continue;
    const m = await trainer.settle();
    // Before onStep: the state after a non-finite loss is never reported, logged or checkpointed.
    if (!Number.isFinite(m.loss)) throw new TrainingDiverged(m, cfg);
    await opts.onStep?.(m, trainer);
  }
  return trainer;
}

/**
 * The loss of a step came out NaN or infinite: the weights it updated are no longer usable, so training
 * stops there. Thrown by `train` at the settle of the window holding that step, before the window reaches
 * onStep, so whatever onStep last saved (the CLI's checkpoint, written only after a settle that found every
 * step finite) is the last good state. A window of several steps names its span: a non-finite loss makes
 * the window's device sum non-finite, which does not say which of its steps was first.
 */
export class TrainingDiverged extends Error {
  readonly step: number;
  readonly loss: number;
  constructor(m: StepMetrics, cfg: TrainConfig) {
    const at = m.steps > 1 ? `between steps ${m.step - m.steps + 1} and ${m.step}: the mean loss over them` : `at step ${m.step}: the loss`;
    super(
      `training diverged ${at} is ${m.loss} (reconstruction ${m.mse}); likely the learning rate ` +
        `is too high (--lr ${cfg.adam.lr}: lower it, or set --clip-grad-norm), or the data holds NaN or infinite values. ` +
        `Stopped without saving this step: the last checkpoint written before it, if any, is kept`,
    );
    this.name = 'TrainingDiverged';
    this.step = m.step;
    this.loss = m.loss;
  }
}
