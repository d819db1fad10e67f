// The options of a training run (`batchtopk train`, each run of a sweep, `runTrain` from the library), each
// described once: type, default, help, and whether it defines the run. The defaults come from the modules
// that own them (the paper's lr in optim/adam.ts, batch size in train/config.ts, SAE settings in
// sae/config.ts); the embedded synthetic data set has a few of its own, written here.
import { ADAM_DEFAULTS } from '../optim/adam.js';
import { ARCHS, NORMALIZE_MODES, SAE_DEFAULTS, type Arch, type NormalizeMode } from '../sae/config.js';
import { NORMALIZE_BY_ARCH, TRAIN_DEFAULTS } from '../train/config.js';
import { OptionError } from './errors.js';
import { OPTIONS } from './options.js';
import { definingKeys, resolveOptions, type Schema } from './schema.js';

export interface TrainOptions {
  /** Activation file or directory of shards; undefined: the embedded synthetic data set. */
  data?: string;
  /** safetensors tensor name. */
  tensor?: string;
  /** Shard glob for a --data directory (default: data/shards.ts SHARD_RULE). */
  shards?: string;
  arch: Arch;
  k: number;
  dictSize?: number;
  expansion?: number;
  batchSize: number;
  steps?: number;
  tokens?: number;
  lr: number;
  l0Coeff: number;
  l1Coeff: number;
  kAux: number;
  auxAlpha: number;
  deadTokens: number;
  bandwidth: number;
  thetaInit: number;
  /** JumpReLU: start each latent's threshold from the data at the quantile giving this L0 (0 or undefined: thetaInit). */
  thetaInitL0?: number;
  /** Matryoshka: cumulative prefix widths, the last the dictionary size. */
  matryoshkaWidths?: number[];
  /** Matryoshka: the loss weight of each prefix (default w_i / m: sae/config.ts defaultMatryoshkaWeights). */
  matryoshkaWeights?: number[];
  warmupSteps: number;
  decayFraction: number;
  clipGradNorm: number;
  normalize: NormalizeMode;
  seed: number;
  /** BatchTopK: training batches of the end-of-training theta calibration. */
  calibrationBatches?: number;
  out: string;
  resume?: string;
  /** Replace the run in `out` (refused without it: a new run never writes over an earlier one). */
  overwrite: boolean;
  evalFraction: number;
  /** Evaluate on at most this many held-out rows (the first ones of the split). */
  evalTokens: number;
  shuffleBuffer: number;
  checkpointEvery: number;
  logEvery: number;
  /** SAELens metadata model_name / hook_name (default: from the harvest manifest.json beside the data). */
  modelName?: string;
  hookName?: string;
  /** Stop after this many steps of this invocation (tests of resume; the run is then resumable). */
  stopAfter?: number;
  quiet: boolean;
  /** Time every backend primitive over the training steps (backend/profile.ts). */
  profile: boolean;
}

/** What a caller gives: any subset; the rest takes the schema's defaults. */
export type TrainInput = Partial<TrainOptions>;


/** The embedded data set's run length: a run that trains in under a minute on a laptop CPU. */
const EMBEDDED_STEPS = 600;
const EMBEDDED_EXPANSION = 4;
/** Latents as a multiple of d when neither --dict-size nor --expansion is given. */
export const DEFAULT_EXPANSION = 8;

export const TRAIN_SCHEMA: Schema<TrainOptions> = {
  data: { ...OPTIONS.data, definesRun: true, help: 'Activations: .npy or .safetensors [tokens, d] (f32/f16/bf16), or a directory of shards (default: embedded synthetic data)' },
  tensor: { ...OPTIONS.tensor, definesRun: true },
  shards: { ...OPTIONS.shards, definesRun: true },
  arch: { kind: 'choice', choices: ARCHS, default: SAE_DEFAULTS.arch, definesRun: true, help: `Architecture: ${ARCHS.join(' | ')}` },
  k: { kind: 'int', min: 1, default: SAE_DEFAULTS.k, embedded: 6, definesRun: true, help: 'Active latents per sample (batch average for batchtopk)' },
  dictSize: { kind: 'int', min: 1, arg: 'm', definesRun: true, help: 'Number of latents' },
  expansion: { kind: 'number', min: 0, arg: 'x', definesRun: true, help: 'Latents as a multiple of d', defaultText: `${DEFAULT_EXPANSION}; embedded data: ${EMBEDDED_EXPANSION}` },
  batchSize: { kind: 'int', min: 1, arg: 'n', default: TRAIN_DEFAULTS.batchSize, embedded: 1024, definesRun: true, help: 'Tokens per batch' },
  steps: { kind: 'int', min: 1, arg: 'n', affectsResults: true, help: 'Optimisation steps', defaultText: `one pass over the training rows; embedded data: ${EMBEDDED_STEPS}` },
  tokens: { kind: 'int', min: 1, arg: 'n', affectsResults: true, help: 'Tokens to train on (instead of --steps)' },
  lr: { kind: 'number', min: 0, default: ADAM_DEFAULTS.lr, embedded: 3e-3, definesRun: true, help: "Adam learning rate (the default is the paper's)" },
  l0Coeff: { kind: 'number', min: 0, arg: 'c', default: SAE_DEFAULTS.l0Coeff, definesRun: true, help: 'JumpReLU L0 penalty' },
  l1Coeff: { kind: 'number', min: 0, arg: 'c', default: SAE_DEFAULTS.l1Coeff, definesRun: true, help: 'ReLU L1 penalty' },
  kAux: { kind: 'int', min: 1, arg: 'n', default: SAE_DEFAULTS.kAux, definesRun: true, help: 'Dead latents used by the AuxK loss' },
  auxAlpha: { kind: 'number', min: 0, arg: 'a', default: SAE_DEFAULTS.auxAlpha, definesRun: true, help: 'AuxK loss weight' },
  deadTokens: { kind: 'int', min: 1, arg: 'n', default: SAE_DEFAULTS.deadTokens, definesRun: true, help: 'Tokens without activation after which a latent is dead' },
  bandwidth: { kind: 'number', min: 0, arg: 'e', default: SAE_DEFAULTS.bandwidth, definesRun: true, help: 'JumpReLU straight-through bandwidth, in normalised input units' },
  thetaInit: { kind: 'number', min: 0, arg: 't', default: SAE_DEFAULTS.thetaInit, definesRun: true, help: 'JumpReLU initial threshold, in normalised input units' },
  thetaInitL0: { kind: 'number', min: 0, arg: 'n', definesRun: true, help: "JumpReLU: start each latent's threshold from the data, at the quantile of its pre-activations on the first batch that gives this L0 overall (0: --theta-init for every latent; a sweep starts at twice each target)" },
  matryoshkaWidths: { kind: 'list', item: 'int', min: 1, arg: 'list', definesRun: true, help: 'Matryoshka: cumulative prefix widths, strictly increasing, the last equal to the dictionary size (e.g. 3072,6144,12288,24576)', defaultText: 'm/8, m/4, m/2, m' },
  matryoshkaWeights: { kind: 'list', item: 'number', min: 0, arg: 'list', definesRun: true, help: "Matryoshka: the loss weight of each prefix's reconstruction error, one per width", defaultText: 'w_i / m (1/8, 1/4, 1/2, 1 with the default widths)' },
  warmupSteps: { kind: 'int', min: 0, arg: 'n', default: TRAIN_DEFAULTS.warmupSteps, definesRun: true, help: 'Linear learning-rate warm-up steps' },
  decayFraction: { kind: 'number', min: 0, max: 1, arg: 'f', default: TRAIN_DEFAULTS.decayFraction, definesRun: true, help: 'Linear decay to 0 over this final fraction of steps' },
  clipGradNorm: { kind: 'number', min: 0, arg: 'n', default: TRAIN_DEFAULTS.clipGradNorm, definesRun: true, help: 'Global gradient-norm clipping (0: off)' },
  normalize: { kind: 'choice', choices: NORMALIZE_MODES, arg: 'mode', byArch: NORMALIZE_BY_ARCH, definesRun: true, help: `Input normalisation: ${NORMALIZE_MODES.join(' | ')}` },
  seed: { kind: 'int', min: 0, max: 0xffffffff, arg: 'n', default: TRAIN_DEFAULTS.seed, definesRun: true, help: 'Seed of every random choice' },
  calibrationBatches: { kind: 'int', min: 1, arg: 'n', affectsResults: true, help: `BatchTopK: training batches over which theta is calibrated at the end, with the final weights (default: ${TRAIN_DEFAULTS.calibrationBatches})` },
  out: { kind: 'string', arg: 'dir', help: 'Output folder: sae/ (SAELens format), checkpoint, metrics.jsonl, summary.json (default: runs/latest)' },
  resume: { kind: 'string', arg: 'dir', help: 'Continue the run saved in this folder (its checkpoint)' },
  overwrite: { kind: 'boolean', default: false, help: 'Replace the run already in --out (without it, a folder holding a run is refused)' },
  evalFraction: { kind: 'number', min: 0, max: 0.99, arg: 'f', default: 0.05, definesRun: true, help: 'Share of rows held out for evaluation' },
  evalTokens: { kind: 'int', min: 1, arg: 'n', default: 1_000_000, affectsResults: true, help: 'Evaluate on at most this many held-out rows' },
  shuffleBuffer: { kind: 'int', min: 1, arg: 'rows', default: 65536, definesRun: true, help: 'Rows in the shuffle buffer' },
  profile: { kind: 'boolean', default: false, help: 'Time every backend primitive (and WebGPU kernel) over the training steps; table at the end and in <out>/profile.txt, profile.json' },
  checkpointEvery: { kind: 'int', min: 0, arg: 'n', default: 500, help: 'Steps between checkpoints (0: only at the end)' },
  logEvery: { kind: 'int', min: 1, arg: 'n', default: 50, help: 'Steps between metrics.jsonl lines' },
  stopAfter: { kind: 'int', min: 1, arg: 'n', help: 'Stop after n steps of this invocation (resumable)' },
  modelName: { kind: 'string', arg: 'name', affectsResults: true, help: 'cfg.json metadata.model_name (default: from the harvest manifest.json beside --data)' },
  hookName: { kind: 'string', arg: 'name', affectsResults: true, help: 'cfg.json metadata.hook_name, e.g. blocks.8.hook_resid_pre (default: from the harvest manifest)' },
  quiet: OPTIONS.quiet,
};

/** The options that define a run: a resume must not change them. */
export const RUN_DEFINING = definingKeys(TRAIN_SCHEMA);

/**
 * The options of a run from what the caller gave: checked, with the defaults of the schema (those of the
 * embedded data set when there is no data and no resume), the output folder defaulting to the resumed one.
 */
export function resolveTrainOptions(given: TrainInput): TrainOptions {
  // A resumed run takes its run-defining options from its checkpoint (runTrain), never the defaults here.
  const embedded = given.data === undefined && given.resume === undefined;
  const o = resolveOptions(TRAIN_SCHEMA, given, { embedded, arch: given.arch ?? SAE_DEFAULTS.arch });
  o.out ??= o.resume ?? 'runs/latest';
  if (o.dictSize !== undefined && o.expansion !== undefined) throw new OptionError('give --dict-size or --expansion, not both');
  if (o.steps !== undefined && o.tokens !== undefined) throw new OptionError('give --steps or --tokens, not both');
  if (embedded && o.steps === undefined && o.tokens === undefined) o.steps = EMBEDDED_STEPS;
  if (embedded && o.dictSize === undefined && o.expansion === undefined) o.expansion = EMBEDDED_EXPANSION;
  return o;
}

/** The options a caller gave (a resume refuses changes to the run-defining ones among them). */
export function givenKeys(given: TrainInput): Set<string> {
  return new Set(Object.entries(given).filter(([, v]) => v !== undefined).map(([k]) => k));
}
