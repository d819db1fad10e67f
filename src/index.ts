// Public API: re-exports only. A map of src/, from the ground floor up (each floor imports only the ones
// below it):
//   backend/   the device contract (backend.ts) and its implementations: cpu/reference.ts (the pure-TypeScript
//              reference), cpu_fast.ts + cpu/ (threads, WebAssembly), webgpu/ (WGSL kernels in kernels/).
//              Knows nothing of training, models or commands.
//   data/      activation files and folders (.npy, .safetensors, shards), the shuffling batch loader.
//   io/        files the commands write: atomic writes, the SAELens format, the run folder (run_folder.ts).
//   tensor.ts, ops.ts, sparse.ts, autodiff/, optim/   the engine: tensors over a backend, ops with gradients.
//   model/     language models (llama2.c, Hugging Face gpt2/llama), tokenizers, harvesting, CE splicing.
//   sae/       SAE architectures, encoders, thresholds, export; train/ the trainer and its loop; eval.ts.
//   report/    the HTML/SVG report of a run or a sweep folder.
//   sweep/     a sweep's grid (plan.ts) and the JumpReLU coefficient search (search.ts).
//   run/       what each command does, as library functions with typed options and results: train, eval,
//              ce, calibrate, harvest, sweep, report, synth, info; one schema per command (schema.ts), the
//              backend choice and lifetime (backend.ts), resume checks, interrupts, progress.
//   cli.ts + cli/   the command line: flags -> options -> run -> printing.
export type { Backend, Storage, DType, UnaryOp, BinaryOp, Broadcast, ReduceOp, AdamParams } from './backend/backend.js';
export { CpuBackend } from './backend/cpu/reference.js';
export { openBackend, withBackend, type BackendChoice } from './run/backend.js';
export { Tensor, tidy, fromArray, zeros, full, scalar, parameter } from './tensor.js';
export * as ops from './ops.js';
export { topkRows, topkBatch, sddmm, spmm, spmmT, type Selection } from './sparse.js';
export { backward, zeroGrad } from './autodiff/grad.js';
export { noGrad } from './autodiff/tape.js';
export { Adam, ADAM_DEFAULTS, type AdamConfig } from './optim/adam.js';
export { clipGradNorm } from './optim/clip.js';
export { Rng } from './rng.js';
export { makeSaeConfig, SAE_DEFAULTS, ARCHS, type Arch, type SaeConfig, type NormalizeMode } from './sae/config.js';
export { makeTrainConfig, TRAIN_DEFAULTS, type TrainConfig } from './train/config.js';
export { Trainer, type StepMetrics, type TrainerState } from './train/trainer.js';
export { train, createTrainer, type BatchSource } from './train/loop.js';
export { evaluate, type EvalModel } from './eval.js';
export type { EvalMetrics } from './metrics.js';
export { SyntheticModel, SyntheticSource, featureRecovery } from './synth.js';
export { openSource, type ActivationSource } from './data/source.js';
export { BatchLoader } from './data/loader.js';
export { readSae, writeSaelens, type SaeExport } from './io/saelens.js';
export type { TrainSummary, RunMeta } from './io/run_folder.js';
export { toSaeExport, fromSaeExport } from './sae/export.js';
export { calibrateThreshold, ThresholdEma, THETA_EMA_RATE, type Calibration } from './sae/threshold.js';
export { encodeBatchTopK } from './sae/batch_encode.js';
// The commands as library functions.
export { runTrain, type TrainInput, type TrainOptions } from './run/train.js';
export { TRAIN_SCHEMA } from './run/train_options.js';
export { runEval, type EvalOptions, type EvalSummary } from './run/eval.js';
export { runCeEval, type CeOptions, type CeSummary } from './run/ce.js';
export { runCalibrate, type CalibrateOptions, type CalibrateSummary } from './run/calibrate.js';
export { runHarvest, type HarvestRunOptions } from './run/harvest.js';
export { runSweep, sweepOptions, type SweepOptions, type SweepResult } from './run/sweep.js';
export { runReport } from './run/report.js';
export { runSynth } from './run/synth.js';
