// Small fixed training set-ups shared by the SAE specs (sizes that train in about a second on the CPU).
import type { Backend } from '../../src/backend/backend.js';
import type { Arch, SaeConfig } from '../../src/sae/config.js';
import { SyntheticModel } from '../../src/synth.js';
import { makeTrainConfig, type TrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { train } from '../../src/train/loop.js';
import type { Trainer } from '../../src/train/trainer.js';

export const D = 32;
export const M = 64;
export const B = 256;

export function synth(seed = 1): SyntheticModel {
  return new SyntheticModel({ dIn: D, nFeatures: M, meanActive: 4, seed });
}

export function config(arch: Arch, steps: number, over: Partial<Omit<TrainConfigInput, 'sae'>> & { sae?: Partial<SaeConfig> } = {}): TrainConfig {
  return makeTrainConfig({
    batchSize: B,
    steps,
    adam: { lr: 3e-3 },
    seed: 1,
    ...over,
    sae: { arch, dIn: D, dSae: M, k: 4, kAux: 32, deadTokens: B * 20, l0Coeff: 0.01, l1Coeff: 0.01, ...over.sae },
  });
}

/** Train for cfg.steps on consecutive synthetic rows; onStep sees every step's metrics. */
export async function trainOn(
  be: Backend,
  data: SyntheticModel,
  cfg: TrainConfig,
  onStep?: (t: Trainer, m: Awaited<ReturnType<Trainer['trainStep']>>) => Promise<void> | void,
): Promise<Trainer> {
  let next = 0;
  const source = { nextBatch: (out: Float32Array) => data.rows(cfg.batchSize * next++, cfg.batchSize, out) };
  return train(be, cfg, source, { onStep: (m, t) => onStep?.(t, m) });
}

/** Held-out rows: far past anything trained on. */
export const heldOut = (data: SyntheticModel, n = 2048): Float32Array => data.rows(50_000_000, n);

/** BatchTopK: calibrate the trainer's theta on `n` fresh training batches (rows past any trained on). */
export async function calibrateOn(t: Trainer, data: SyntheticModel, cfg: TrainConfig, n = 16): Promise<number> {
  const batches = Array.from({ length: n }, (_, i) => data.rows(20_000_000 + i * cfg.batchSize, cfg.batchSize));
  return (await t.calibrate(batches)).theta;
}
