// Training configuration: typed defaults (the BatchTopK paper's where it states them), one doc line per
// field, validated once.
import { ADAM_DEFAULTS, type AdamConfig } from '../optim/adam.js';
import { hasBatchThreshold, makeSaeConfig, NORMALIZE_MODES, SAE_DEFAULTS, type Arch, type NormalizeMode, type SaeConfig } from '../sae/config.js';

export interface TrainConfig {
  sae: SaeConfig;
  /** Samples (tokens) per batch. */
  batchSize: number;
  /** Optimisation steps. */
  steps: number;
  /** Adam hyper-parameters (paper: lr 3e-4, betas 0.9/0.99). */
  adam: AdamConfig;
  /** Linear learning-rate warm-up over this many steps (0: none). */
  warmupSteps: number;
  /** Linear decay to 0 over this final fraction of the steps (0: constant). */
  decayFraction: number;
  /** Global gradient-norm clipping (0: off, as the paper's effectively-off 1e5). */
  clipGradNorm: number;
  /** Input normalisation. */
  normalize: NormalizeMode;
  /** Rate of the running (EMA) BatchTopK threshold estimate logged during training (SAELens: 0.01). */
  thresholdEmaRate: number;
  /** Training batches of the end-of-training pass that calibrates the saved BatchTopK theta. */
  calibrationBatches: number;
  /** Seed of every random choice (init; the data pipeline draws from its own seeded stream). */
  seed: number;
}

/** The defaults of the training settings (the paper's batch size; the theta calibration pass: README, "The method, as implemented"). */
export const TRAIN_DEFAULTS = {
  batchSize: 4096,
  warmupSteps: 0,
  decayFraction: 0,
  clipGradNorm: 0,
  thresholdEmaRate: 0.01,
  calibrationBatches: 32,
  seed: 0,
} as const satisfies Partial<TrainConfig>;

/** Input normalisation by architecture: JumpReLU's threshold and bandwidth are absolute numbers, so it needs an input of known scale. */
export const NORMALIZE_BY_ARCH: Readonly<Record<Arch, NormalizeMode>> = { batchtopk: 'none', topk: 'none', jumprelu: 'scalar', relu: 'none', matryoshka: 'none' };

export type TrainConfigInput = Partial<Omit<TrainConfig, 'sae' | 'adam'>> & {
  sae: Parameters<typeof makeSaeConfig>[0];
  adam?: Partial<AdamConfig>;
};

export function makeTrainConfig(c: TrainConfigInput): TrainConfig {
  const steps = c.steps ?? 1000;
  const cfg: TrainConfig = {
    ...TRAIN_DEFAULTS,
    normalize: NORMALIZE_BY_ARCH[c.sae.arch ?? SAE_DEFAULTS.arch],
    ...c,
    steps,
    sae: makeSaeConfig(c.sae),
    adam: { ...ADAM_DEFAULTS, ...c.adam },
  };
  const bad = (msg: string): never => {
    throw new Error(`train config: ${msg}`);
  };
  for (const key of ['batchSize', 'steps'] as const) {
    if (!Number.isInteger(cfg[key]) || cfg[key] < 1) bad(`${key} must be a positive integer, got ${cfg[key]}`);
  }
  if (!Number.isInteger(cfg.warmupSteps) || cfg.warmupSteps < 0) bad(`warmupSteps must be an integer >= 0, got ${cfg.warmupSteps}`);
  if (!(cfg.decayFraction >= 0 && cfg.decayFraction <= 1)) bad(`decayFraction must be in [0, 1], got ${cfg.decayFraction}`);
  if (!(cfg.thresholdEmaRate > 0 && cfg.thresholdEmaRate <= 1)) bad(`thresholdEmaRate must be in (0, 1], got ${cfg.thresholdEmaRate}`);
  if (!Number.isInteger(cfg.calibrationBatches) || cfg.calibrationBatches < 1) bad(`calibrationBatches must be a positive integer, got ${cfg.calibrationBatches}`);
  if (!(cfg.clipGradNorm >= 0)) bad(`clipGradNorm must be >= 0, got ${cfg.clipGradNorm}`);
  if (!NORMALIZE_MODES.includes(cfg.normalize)) bad(`normalize must be one of ${NORMALIZE_MODES.join(', ')}, got '${cfg.normalize}'`);
  if (!Number.isInteger(cfg.seed) || cfg.seed < 0 || cfg.seed > 0xffffffff) bad(`seed must be an integer in [0, 2^32), got ${cfg.seed}`);
  if (hasBatchThreshold(cfg.sae.arch) && cfg.batchSize * cfg.sae.k > 2 ** 31 - 1) bad('batchSize x k exceeds 2^31');
  return cfg;
}

/** The learning rate at 1-based step t: linear warm-up, constant, then optional linear decay to 0. */
export function learningRate(cfg: TrainConfig, t: number): number {
  const base = cfg.adam.lr;
  if (cfg.warmupSteps > 0 && t <= cfg.warmupSteps) return (base * t) / cfg.warmupSteps;
  const decaySteps = Math.floor(cfg.steps * cfg.decayFraction);
  const decayStart = cfg.steps - decaySteps;
  if (decaySteps > 0 && t > decayStart) return (base * (cfg.steps - t + 1)) / (decaySteps + 1);
  return base;
}
