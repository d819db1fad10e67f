// A training run (`batchtopk train`, each run of a sweep, or a library call): data -> loader -> trainer, with
// checkpoints, progress, metrics.jsonl, the theta calibration, a held-out evaluation and the SAELens export.
// Its options and their defaults are train_options.ts's; the run folder's formats are io/run_folder.ts's.
//
// A run owns its folder (lock.ts) from the first check to the last write, refuses a folder holding another
// run unless told --resume or --overwrite, records the fingerprint of every input file in its checkpoint
// (a resume refuses changed inputs), and keeps its interrupt watch installed through every phase: steps,
// calibration, evaluation, export. A signal in any of them saves a checkpoint at the next safe point and
// `--resume` finishes whatever phase was cut.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../backend/backend.js';
import { backendLabel } from '../backend/open.js';
import { BatchLoader, type LoaderState } from '../data/loader.js';
import { FileSource, openSource, ShardedSource, type ActivationSource } from '../data/source.js';
import { DataError } from '../data/errors.js';
import { evaluate } from '../eval.js';
import { writeSaelens } from '../io/saelens.js';
import { CORE_METRICS, smallEvalWarning, type EvalMetrics } from '../metrics.js';
import { defaultMatryoshkaWidths, hasBatchThreshold } from '../sae/config.js';
import { toSaeExport } from '../sae/export.js';
import { activationProvenance } from '../model/provenance.js';
import { jumpreluScaleWarning, type ScaleStats } from '../sae/jumprelu.js';
import { downloadParams } from '../sae/params.js';
import { isCut, meanCut, ThetaBatches } from '../sae/threshold.js';
import { featureRecovery, SyntheticModel, SyntheticSource, type SynthConfig } from '../synth.js';
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { makeTrainConfig, type TrainConfig } from '../train/config.js';
import { createTrainer, train } from '../train/loop.js';
import { Trainer, type StepMetrics } from '../train/trainer.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { clearRun, METRICS_FILE, runMarkers, SAE_DIR, SUMMARY_FILE, type TrainSummary } from '../io/run_folder.js';
import { canonicalPath, checkInputs, fingerprintFiles, type Fingerprint } from '../io/fingerprint.js';
import { formatProfile, ProfileBackend } from '../backend/profile.js';
import { resolveBackend, type BackendOrOpen } from './backend.js';
import { OptionError } from './errors.js';
import { Interrupted, InterruptWatch, type StopSignal } from './interrupt.js';
import { lockFolder, writeError } from './lock.js';
import { Progress } from './progress.js';
import { checkResume } from './resume.js';
import { dataWarnings } from './data_check.js';
import { DEFAULT_EXPANSION, givenKeys, resolveTrainOptions, RUN_DEFINING, type TrainInput, type TrainOptions } from './train_options.js';

export type { TrainInput, TrainOptions, TrainSummary };

/** The embedded default data set: small enough to train in well under a minute on a laptop CPU. */
export const EMBEDDED_SYNTH: Partial<SynthConfig> = { dIn: 64, nFeatures: 128, meanActive: 6, activeSigma: 0.8, zipf: 0.5, noise: 0.01 };
const EMBEDDED_ROWS = 1 << 20;


interface RunFiles {
  dir: string;
  checkpoint: string;
  metrics: string;
  sae: string;
}

function files(dir: string): RunFiles {
  return { dir, checkpoint: path.join(dir, CHECKPOINT_FILE), metrics: path.join(dir, METRICS_FILE), sae: path.join(dir, SAE_DIR) };
}

function openData(o: TrainOptions): { source: ActivationSource; synth: SyntheticModel | null } {
  if (o.data) return { source: openSource(o.data, { tensor: o.tensor, shards: o.shards }), synth: null };
  const synth = new SyntheticModel({ ...EMBEDDED_SYNTH, seed: o.seed });
  return { source: new SyntheticSource(synth, EMBEDDED_ROWS), synth };
}

/** The training configuration of options `o` on data of width dIn with trainRows training rows (also the sweep's up-front check). */
export function buildConfig(o: TrainOptions, dIn: number, trainRows: number): TrainConfig {
  const dSae = o.dictSize ?? dIn * (o.expansion ?? DEFAULT_EXPANSION);
  let steps = o.steps;
  if (o.tokens !== undefined) steps = Math.ceil(o.tokens / o.batchSize);
  steps ??= Math.max(1, Math.ceil(trainRows / o.batchSize));
  return makeTrainConfig({
    sae: {
      arch: o.arch,
      dIn,
      dSae,
      k: o.k,
      kAux: o.kAux,
      auxAlpha: o.auxAlpha,
      deadTokens: o.deadTokens,
      l1Coeff: o.l1Coeff,
      l0Coeff: o.l0Coeff,
      bandwidth: o.bandwidth,
      thetaInit: o.thetaInit,
      ...(o.thetaInitL0 ? { thetaInitL0: o.thetaInitL0 } : {}),
      // Matryoshka without widths: the nested halvings of the dictionary (sae/config.ts defaultMatryoshkaWidths).
      ...(o.arch === 'matryoshka' ? { matryoshkaWidths: o.matryoshkaWidths ?? defaultMatryoshkaWidths(dSae) } : {}),
      ...(o.matryoshkaWeights ? { matryoshkaWeights: o.matryoshkaWeights } : {}),
    },
    batchSize: o.batchSize,
    steps,
    adam: { lr: o.lr },
    warmupSteps: o.warmupSteps,
    decayFraction: o.decayFraction,
    clipGradNorm: o.clipGradNorm,
    normalize: o.normalize,
    seed: o.seed,
    ...(o.calibrationBatches !== undefined ? { calibrationBatches: o.calibrationBatches } : {}),
  });
}

/** Where a phase stands when a signal comes: what the first-signal note says. */
type Phase = 'setup' | 'steps' | 'calibration' | 'evaluation' | 'export';
const STOPPING: Record<Phase, string> = {
  setup: 'stopping before training begins',
  steps: 'stopping after the current step to save a checkpoint',
  calibration: 'stopping the theta calibration to save a checkpoint',
  evaluation: 'stopping the evaluation to save a checkpoint',
  export: 'stopping before the export to save a checkpoint',
};

/** The folder of a --resume given as a folder or as its checkpoint file. */
function resumeDir(resume: string): string {
  return fs.statSync(resume, { throwIfNoEntry: false })?.isDirectory() ? resume : path.dirname(resume);
}

/** The files a source reads (one file, or every shard), for fingerprints; none for the synthetic set. */
function inputFiles(source: ActivationSource): string[] {
  if (source instanceof ShardedSource) return source.shards.map((s) => s.layout.file);
  if (source instanceof FileSource) return [source.layout.file];
  return [];
}

/**
 * Train with the options given (the rest default as train_options.ts says). `backend` may be an opener,
 * called only once the data and configuration are known to be good.
 */
export async function runTrain(given: TrainInput, backendOrOpen: BackendOrOpen): Promise<TrainSummary> {
  const o = resolveTrainOptions(given);
  if (o.resume !== undefined && o.overwrite) throw new OptionError(`give --resume (continue the run in ${o.resume}) or --overwrite (replace it), not both`);
  const progress = new Progress(process.stderr, 10, o.quiet);
  const lock = lockFolder(o.out, { command: 'batchtopk train', what: '--out', note: (m) => process.stderr.write(m + '\n') });
  // Installed from here to the end, so no phase is left to the signal's default action (kill, work lost).
  let phase: Phase = 'setup';
  const interrupt = new InterruptWatch((sig) => progress.log(`${sig}: ${STOPPING[phase]} (send it again to quit at once)`)).install();
  try {
    let opts = o;
    let resumed: ReturnType<typeof loadCheckpoint> | null = null;
    if (o.resume) {
      const ckFile = fs.statSync(o.resume, { throwIfNoEntry: false })?.isDirectory() ? files(o.resume).checkpoint : o.resume;
      if (!fs.existsSync(ckFile)) throw new DataError(`${o.resume}: no checkpoint found (expected ${ckFile})`);
      resumed = loadCheckpoint(ckFile);
      const saved = resumed.extra['options'] as TrainOptions;
      const explicit = givenKeys(given);
      const now: Record<string, unknown> = Object.fromEntries(RUN_DEFINING.filter((k) => explicit.has(k)).map((k) => [k, o[k]]));
      const was: Record<string, unknown> = { ...saved };
      // One file under two spellings (in/../in/x, ./in/x, a symbolic link) is the same --data.
      if (typeof now['data'] === 'string' && typeof was['data'] === 'string') [now['data'], was['data']] = [canonicalPath(now['data']), canonicalPath(was['data'])];
      checkResume({ what: `--resume: the run in ${o.resume}`, saved: was, now, keys: RUN_DEFINING, fix: 'drop those flags to continue it' });
      // The checkpoint's run-defining options win; steps/tokens, out and I/O cadence may be given anew.
      opts = { ...o, ...Object.fromEntries(RUN_DEFINING.map((k) => [k, saved[k]])) } as TrainOptions;
      if (o.steps === undefined && o.tokens === undefined) opts.steps = saved.steps ?? (resumed.extra['steps'] as number);
      if (o.calibrationBatches === undefined) opts.calibrationBatches = saved.calibrationBatches;
    }
    const f = files(opts.out);
    const { source, synth } = openData(opts);
    try {
      const loader = new BatchLoader({
        source,
        batchSize: opts.batchSize,
        seed: opts.seed,
        evalFraction: opts.evalFraction,
        shuffleBufferRows: Math.max(opts.shuffleBuffer, opts.batchSize),
      });
      if (loader.trainRows < 1) throw new DataError(`${source.describe()}: no training rows left after the eval split`);
      const cfg = buildConfig(opts, source.dIn, loader.trainRows);
      // Options and data are good: only now may the folder be judged (and, with --overwrite, cleared).
      claimFolder(f.dir, opts, resumed ? resumeDir(opts.resume!) : null, progress);
      const inputs = checkedInputs(opts, source, resumed, progress);
      progress.log(`data: ${source.describe()}; train ${loader.trainRows} rows, eval ${loader.evalRows} rows`);
      const warnings = dataWarnings(source, opts);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const scaleWarning = jumpreluScaleWarning(cfg.sae, cfg.normalize, cfg.sae.arch === 'jumprelu' ? scaleStats(source) : undefined);
      if (scaleWarning) process.stderr.write(scaleWarning + '\n');
      if (source instanceof ShardedSource) progress.log(source.listing());
      const opened = await resolveBackend(backendOrOpen, { dIn: cfg.sae.dIn, dSae: cfg.sae.dSae });
      const backend = opts.profile ? new ProfileBackend(opened) : opened;
      let trainer: Trainer;
      if (resumed) {
        loader.restore(resumed.extra['loader'] as LoaderState);
        trainer = Trainer.restore(backend, cfg, resumed.trainer);
        truncateMetrics(f.metrics, trainer.step, opts.logEvery, progress);
        progress.log(`resumed at step ${trainer.step} from ${opts.resume}`);
      } else {
        trainer = await createTrainer(backend, cfg, loader);
        fs.writeFileSync(f.metrics, '');
      }
      const run: Run = { opts, cfg, f, loader, source, synth, backend, trainer, progress, interrupt, inputs, warnings, checkpointStep: resumed ? trainer.step : null, losses: null, setPhase: (p) => (phase = p) };
      try {
        await interrupt.poll();
        if (interrupt.signal) throw new Interrupted(interrupt.signal, `interrupted (${interrupt.signal}) before training began; nothing new was saved in ${f.dir}`);
        const tps = await trainLoop(run);
        await calibrate(run);
        return await report(run, tps);
      } finally {
        trainer.dispose();
      }
    } finally {
      source.close();
    }
  } catch (err) {
    // A write into the run folder failing mid-run (disk full, remounted read-only): say which folder and why.
    const e = err as NodeJS.ErrnoException;
    if (e?.code && typeof e.path === 'string' && canonicalPath(e.path).startsWith(canonicalPath(o.out))) throw writeError(err, o.out, '--out');
    throw err;
  } finally {
    interrupt.uninstall();
    lock.release();
  }
}

/**
 * A new run (or a resume into another folder) may not write over a run: refuse, or with --overwrite clear
 * it first. A resume in its own folder continues the run there.
 */
function claimFolder(dir: string, o: TrainOptions, resumedFrom: string | null, progress: Progress): void {
  if (resumedFrom !== null && canonicalPath(resumedFrom) === canonicalPath(dir)) return;
  const held = runMarkers(dir);
  if (held.length === 0) return;
  if (!o.overwrite) {
    throw new DataError(`${dir} holds a run (${held.join(', ')}): continue it with --resume ${dir}, or replace it with --overwrite (or choose another --out)`);
  }
  const removed = clearRun(dir);
  progress.log(`--overwrite: removed the earlier run in ${dir} (${removed.join(', ')})`);
}

/**
 * The fingerprints of the run's input files: a resume checks them against the checkpoint's (refusing a
 * changed file, named); a new run computes them. None for the embedded synthetic data.
 */
function checkedInputs(o: TrainOptions, source: ActivationSource, resumed: ReturnType<typeof loadCheckpoint> | null, progress: Progress): Fingerprint[] {
  const now = inputFiles(source);
  if (now.length === 0) return [];
  const show = (label: string) => (done: number, total: number) => progress.phase(label, done, total, 'bytes');
  const was = resumed?.extra['inputs'] as Fingerprint[] | undefined;
  if (resumed && was) {
    checkInputs({
      what: '--data',
      was,
      now,
      fix: `the run in ${o.resume} was trained on the recorded file; put it back to continue, or start a new run on the new data (another --out, or --overwrite)`,
      onProgress: show('checking --data'),
    });
    progress.done();
    return was;
  }
  if (resumed) progress.log(`note: the checkpoint in ${o.resume} predates input fingerprints; --data is recorded from now on`);
  const fps = fingerprintFiles(now, show('fingerprinting --data'));
  progress.done();
  return fps;
}

/** Everything one run of `train` works with. */
interface Run {
  opts: TrainOptions;
  cfg: TrainConfig;
  f: RunFiles;
  loader: BatchLoader;
  source: ActivationSource;
  synth: SyntheticModel | null;
  backend: Backend;
  trainer: Trainer;
  progress: Progress;
  interrupt: InterruptWatch;
  /** Fingerprints of the input files, saved in every checkpoint. */
  inputs: Fingerprint[];
  /** Warnings about the data, found before training (data_check.ts). */
  warnings: string[];
  /** Step of the last checkpoint written (or resumed from), null when none. */
  checkpointStep: number | null;
  /** Loss of the first and of the latest step of this invocation (a run whose loss grows has diverged). */
  losses: { first: number; last: number; firstStep: number; lastStep: number } | null;
  setPhase: (p: Phase) => void;
}

async function checkpoint(r: Run): Promise<void> {
  const st = await r.trainer.getState();
  saveCheckpoint(r.f.checkpoint, {
    trainer: st,
    extra: { options: { ...r.opts, steps: r.cfg.steps }, loader: r.loader.getState(), steps: r.cfg.steps, inputs: r.inputs },
  });
  r.checkpointStep = st.step;
}

/** Save a checkpoint and stop: the Interrupted error the command line turns into the resume hint. */
async function stop(r: Run, sig: StopSignal, where: string): Promise<never> {
  r.progress.done();
  await checkpoint(r);
  const dir = r.f.dir;
  throw new Interrupted(sig, `interrupted (${sig}) ${where}; checkpoint saved in ${dir}. Resume with: batchtopk train --resume ${dir}`);
}

/** Train to the end (or --stop-after), with progress, metrics.jsonl and checkpoints; returns tokens/s. */
async function trainLoop(r: Run): Promise<number> {
  const { opts, cfg, f, loader, backend, trainer, progress, interrupt } = r;
  const prof = backend instanceof ProfileBackend ? backend : null;
  await prof?.start();
  const t0 = performance.now();
  const startStep = trainer.step;
  // Settled windows since the last metrics.jsonl line (a line may span several: checkpoints settle too).
  let window: StepMetrics[] = [];
  let settled: StepMetrics | null = null;
  const stopAt = opts.stopAfter !== undefined ? Math.min(cfg.steps, startStep + opts.stopAfter) : cfg.steps;
  const logStep = (step: number) => step % opts.logEvery === 0 || step === stopAt;
  const checkpointStep = (step: number) => opts.checkpointEvery > 0 && step % opts.checkpointEvery === 0;
  // Read the device's metrics only where something needs them: a metrics.jsonl line, a checkpoint (written
  // only once the settle has shown every step up to it finite), this invocation's first loss (the divergence
  // warning), or a stop on a signal. Every other step runs without a host wait (trainer.ts).
  let settleNow = false;
  const tps = (step: number) => ((step - startStep) * cfg.batchSize) / ((performance.now() - t0) / 1000);
  const show = (step: number) =>
    progress.update({ step, steps: cfg.steps, tokens: step * cfg.batchSize, tokensPerSecond: tps(step), loss: settled?.loss ?? NaN, l0: settled?.l0 ?? NaN, dead: settled?.dead ?? NaN });
  r.setPhase('steps');
  try {
    await train(backend, cfg, loader, {
      trainer,
      stopAt,
      settleAt: () => settleNow,
      onAdvance: async (s) => {
        await interrupt.poll();
        settleNow = s.step === startStep + 1 || logStep(s.step) || checkpointStep(s.step) || interrupt.signal !== null;
        // The profile's step ends with its settle (onStep) when it has one, so the read is counted in it.
        if (!settleNow) await prof?.markStep(s.step);
        if (settled) show(s.step);
      },
      onStep: async (m, t) => {
        settled = m;
        r.losses ??= { first: m.loss, last: m.loss, firstStep: t.step, lastStep: t.step };
        r.losses.last = m.loss;
        r.losses.lastStep = t.step;
        window.push(m);
        show(t.step);
        if (logStep(t.step)) {
          fs.appendFileSync(f.metrics, JSON.stringify(intervalRecord(window, cfg.batchSize, tps(t.step), hasBatchThreshold(cfg.sae.arch))) + '\n');
          window = [];
        }
        if (checkpointStep(t.step)) await checkpoint(r);
        await prof?.markStep(t.step);
        if (interrupt.signal) await stop(r, interrupt.signal, `at step ${t.step} of ${cfg.steps}`);
      },
    });
  } catch (err) {
    // The loop stops at the first non-finite loss (TrainingDiverged names --lr and the step) before that step
    // is logged or checkpointed, so the last good checkpoint stays.
    throw err;
  }
  progress.done();
  const elapsed = (performance.now() - t0) / 1000;
  if (prof) {
    const rep = await prof.stop();
    const table = formatProfile(rep, trainer.step - startStep);
    fs.writeFileSync(path.join(f.dir, 'profile.txt'), table + '\n');
    writeJsonAtomic(path.join(f.dir, 'profile.json'), { steps: trainer.step - startStep, ...rep });
    process.stderr.write(table + '\n');
  }
  return ((trainer.step - startStep) * cfg.batchSize) / Math.max(elapsed, 1e-9);
}

/**
 * BatchTopK: theta of the weights as they are now, from the next calibrationBatches training batches the
 * loader would give, with no update, then a checkpoint holding it. The loader's position is restored
 * afterwards, so the calibration consumes no training row (a run continued later sees the batches an
 * uninterrupted run sees) and never touches the eval rows; it is a function of the weights and the loader
 * position, so a resumed run that finishes calibrates to the same bits as the uninterrupted one.
 *
 * Batch by batch (not one Trainer.calibrate call over them all) so that a signal is seen and progress
 * shown between batches; the batches' theta_b stay on the device and are read once at the end (ThetaBatches,
 * as calibrateThreshold does), so the same batch minima and the same sum in the same order as
 * Trainer.calibrate: the same theta to the bit (spec/run/train_phases.spec.ts checks it). A resumed
 * run whose checkpoint already holds theta for these weights skips it. A theta that cannot be calibrated
 * is reported in the summary with the reason, not thrown: the trained weights are kept.
 */
async function calibrate(r: Run): Promise<void> {
  const { cfg, loader, trainer, progress, interrupt, backend } = r;
  if (!hasBatchThreshold(cfg.sae.arch)) {
    if (r.checkpointStep !== trainer.step) await checkpoint(r);
    return;
  }
  if (trainer.calibratedTheta > 0) {
    progress.log(`theta ${trainer.calibratedTheta.toPrecision(5)}, calibrated before the interrupt, kept`);
    return;
  }
  r.setPhase('calibration');
  const state = loader.getState();
  const n = cfg.calibrationBatches;
  const d = cfg.sae.dIn;
  const batch = new Float32Array(cfg.batchSize * d);
  const thetas = new ThetaBatches(backend, { params: trainer.params, k: cfg.sae.k, normalize: cfg.normalize, normScale: trainer.normScale, dIn: d });
  let minima: number[];
  progress.log(`calibrating theta on ${n} training batches`);
  try {
    for (let i = 0; i < n; i++) {
      loader.nextBatch(batch);
      thetas.add(batch);
      progress.phase('calibrating theta', i + 1, n, 'batches');
      await interrupt.poll();
      if (interrupt.signal) {
        loader.restore(state);
        await stop(r, interrupt.signal, `during the theta calibration (batch ${i + 1} of ${n}) after step ${trainer.step} of ${cfg.steps}`);
      }
    }
    minima = await thetas.read();
  } finally {
    loader.restore(state);
    thetas.dispose();
  }
  progress.done();
  const theta = meanCut(minima);
  if (theta === null) {
    const why = `theta could not be calibrated: no batch of the ${n} calibration batches selected a positive activation; ${diagnose(r)}`;
    r.warnings.push(why);
    process.stderr.write(`warning: ${why}\n`);
  } else {
    trainer.theta = theta;
    trainer.thetaStep = trainer.step;
    const cuts = minima.filter(isCut);
    const sd = Math.sqrt(cuts.reduce((a, v) => a + (v - trainer.theta) ** 2, 0) / Math.max(1, cuts.length - 1));
    progress.log(
      `theta ${trainer.theta.toPrecision(5)} calibrated on ${n} training batches (batch minima: sd ${sd.toPrecision(3)}; running estimate ${trainer.thetaEma.value.toPrecision(5)})`,
    );
  }
  await checkpoint(r);
}

/** Loss growth beyond which a run counts as diverged: a sound run's loss falls. */
const DIVERGED_GROWTH = 10;

/** The divergence warning when the loss grew over this invocation, else null. */
function divergedWarning(r: Run): string | null {
  const l = r.losses;
  if (!l || !(l.last > DIVERGED_GROWTH * l.first)) return null;
  return `training diverged: the loss grew from ${l.first.toPrecision(3)} (step ${l.firstStep}) to ${l.last.toPrecision(3)} (step ${l.lastStep}) with --lr ${r.opts.lr}; lower --lr (e.g. ${(r.opts.lr / 10).toPrecision(2)})`;
}

/** Why no pre-activation is positive: the data (data_check.ts), diverged weights, or the weights themselves. */
function diagnose(r: Run): string {
  if (r.warnings.length) return `the data look wrong (${r.warnings[0]})`;
  const diverged = divergedWarning(r);
  if (diverged) return diverged;
  return `every pre-activation is <= 0 with these weights (try more --steps, or another --seed, and check --data)`;
}

/**
 * `batches` as given, with progress by rows, ending early once a signal has come (the caller then stops:
 * the cut evaluation is discarded).
 */
function* watched(batches: Iterable<Float32Array>, r: Run, label: string, total: number): Generator<Float32Array> {
  let done = 0;
  for (const b of batches) {
    if (r.interrupt.signal) return;
    yield b;
    done += b.length / r.cfg.sae.dIn;
    r.progress.phase(label, done, total, 'rows');
  }
}

/** Held-out evaluation, the SAELens export (finished runs) and summary.json. */
async function report(r: Run, tokensPerSecond: number): Promise<TrainSummary> {
  const { cfg, f, loader, source, synth, backend, trainer, progress, interrupt } = r;
  const finished = trainer.step >= cfg.steps;
  const isBatchTopK = hasBatchThreshold(cfg.sae.arch);
  const theta = isBatchTopK ? trainer.calibratedTheta : 0;
  const evalModel = { params: trainer.params, cfg: cfg.sae, theta, normalize: cfg.normalize, normScale: trainer.normScale };
  // BatchTopK without a theta has no inference encoder: its figures are the batch selection's.
  const inference = !isBatchTopK || theta > 0;
  let metrics: EvalMetrics;
  let btk: EvalMetrics | null = null;
  r.setPhase('evaluation');
  if (loader.evalRows > 0) {
    const total = Math.min(loader.evalRows, r.opts.evalTokens);
    const rows = (bs: number, label: string) => watched(firstRows(loader.evalBatches(bs), r.opts.evalTokens, cfg.sae.dIn), r, label, total);
    progress.log(`evaluating on ${total} held-out rows`);
    if (inference) metrics = await evaluate(backend, evalModel, rows(Math.min(cfg.batchSize, 4096), 'evaluating'));
    // The paper's code evaluates with the batch selection, in batches of the training batch size.
    if (isBatchTopK) btk = await evaluate(backend, evalModel, rows(cfg.batchSize, 'evaluating (batch top-k)'), { encoder: 'batchtopk' });
    metrics ??= btk!;
  } else {
    progress.log('no eval split (--eval-fraction 0): metrics are on one further training batch, not held out');
    const batch = new Float32Array(cfg.batchSize * cfg.sae.dIn);
    loader.nextBatch(batch);
    if (inference) metrics = await evaluate(backend, evalModel, [batch]);
    if (isBatchTopK) btk = await evaluate(backend, evalModel, [batch], { encoder: 'batchtopk' });
    metrics ??= btk!;
  }
  progress.done();
  await interrupt.poll();
  if (interrupt.signal) await stop(r, interrupt.signal, `during the evaluation (training and calibration done, step ${trainer.step} of ${cfg.steps})`);
  const diverged = divergedWarning(r);
  if (diverged && !r.warnings.some((w) => w.includes(diverged))) {
    r.warnings.push(diverged);
    process.stderr.write(`warning: ${diverged}\n`);
  }
  const small = smallEvalWarning(metrics.tokens, cfg.sae.deadTokens);
  if (small) process.stderr.write(small + '\n');
  r.setPhase('export');
  const host = await downloadParams(trainer.params);
  const recovery = synth ? featureRecovery(synth.dictionary, host.W_dec, cfg.sae.dIn) : undefined;
  const summary: TrainSummary = {
    arch: cfg.sae.arch,
    k: cfg.sae.k,
    dictSize: cfg.sae.dSae,
    dIn: cfg.sae.dIn,
    steps: trainer.step,
    tokens: trainer.step * cfg.batchSize,
    backend: backendLabel(backend),
    nmse: metrics.nmse,
    fvu: metrics.fvu,
    ...Object.fromEntries(CORE_METRICS.map((k) => [k, metrics[k]])),
    l0: metrics.l0,
    deadFraction: metrics.deadFraction,
    deadFrequencyFloor: metrics.deadFrequencyFloor,
    threshold: isBatchTopK && theta > 0 ? theta : null,
    thresholdRunning: isBatchTopK ? trainer.thetaEma.value : null,
    calibrationBatches: isBatchTopK ? cfg.calibrationBatches : null,
    batchTopK: btk ? { nmse: btk.nmse, fvu: btk.fvu, l0: btk.l0, batchSize: cfg.batchSize } : null,
    tokensPerSecond,
    evalTokens: metrics.tokens,
    l0Histogram: metrics.l0Histogram,
    skippedNonFinite: loader.skippedNonFinite,
    ...(r.warnings.length ? { warnings: r.warnings } : {}),
    out: f.dir,
    finished,
    ...(recovery ? { featureRecovery: recovery } : {}),
  };
  if (finished && inference) {
    progress.log(`exporting the SAELens folder ${f.sae}`);
    writeSaelens(
      f.sae,
      toSaeExport({
        arch: cfg.sae.arch,
        dIn: cfg.sae.dIn,
        dSae: cfg.sae.dSae,
        k: cfg.sae.k,
        matryoshkaWidths: cfg.sae.matryoshkaWidths,
        matryoshkaWeights: cfg.sae.matryoshkaWeights,
        params: host,
        theta,
        normalize: cfg.normalize,
        normScale: trainer.normScale,
        info: { config: { ...cfg }, data: source.describe(), results: { ...summary, l0Histogram: undefined } },
        metadata: activationProvenance(r.opts.data, { modelName: r.opts.modelName, hookName: r.opts.hookName }),
      }),
    );
    progress.log(`saved SAELens folder ${f.sae}`);
  } else if (finished) {
    process.stderr.write(`warning: no SAELens export in ${f.sae}: a BatchTopK SAE needs its theta (the summary's figures are batch top-k's)\n`);
  }
  writeJsonAtomic(path.join(f.dir, SUMMARY_FILE), summary);
  return summary;
}

/** Scale of the source's first (at most 4096) finite rows, for the JumpReLU scale warning (float64). */
function scaleStats(source: ActivationSource): ScaleStats {
  const d = source.dIn;
  const n = Math.min(source.rows, 4096);
  const buf = new Float32Array(n * d);
  source.readRows(0, n, buf);
  const rows: Float32Array[] = [];
  for (let r = 0; r < n; r++) {
    const row = buf.subarray(r * d, (r + 1) * d);
    if (row.every(Number.isFinite)) rows.push(row);
  }
  const k = Math.max(rows.length, 1);
  const mean = new Float64Array(d);
  let meanNorm = 0;
  for (const row of rows) {
    let sq = 0;
    row.forEach((v, c) => ((sq += v * v), (mean[c]! += v / k)));
    meanNorm += Math.sqrt(sq) / k;
  }
  let ss = 0;
  for (const row of rows) row.forEach((v, c) => (ss += (v - mean[c]!) ** 2));
  return { meanNorm, centredRms: Math.sqrt(ss / (k * d)) };
}

/** The batches of `batches` cut to their first `rows` rows in total. */
function* firstRows(batches: Iterable<Float32Array>, rows: number, d: number): Generator<Float32Array> {
  let left = rows;
  for (const b of batches) {
    if (left <= 0) return;
    const n = Math.min(left, b.length / d);
    left -= n;
    yield b.subarray(0, n * d);
  }
}

/**
 * One metrics.jsonl line: means over the steps since the previous line, from the settled windows that
 * cover them (each a mean over its own steps, weighted here by them).
 */
function intervalRecord(w: StepMetrics[], batchSize: number, tokensPerSecond: number, batchTopK: boolean): Record<string, number> {
  const steps = w.reduce((a, m) => a + m.steps, 0);
  const mean = (k: 'loss' | 'mse' | 'aux' | 'sparsity' | 'l0') => w.reduce((a, m) => a + (Number.isFinite(m[k]) ? m[k] * m.steps : 0), 0) / steps;
  const last = w[w.length - 1]!;
  // BatchTopK: the batch cuts theta_b of the interval beside the running estimate, so drift is visible.
  const cut = batchTopK ? w.filter((m) => isCut(m.minSelected)) : [];
  const cutSteps = cut.reduce((a, m) => a + m.cutSteps, 0);
  const drift: Record<string, number> = cut.length
    ? { thetaBatchMin: Math.min(...cut.map((m) => m.minSelected)), thetaBatchMean: cut.reduce((a, m) => a + m.thetaBatchMean * m.cutSteps, 0) / cutSteps }
    : {};
  return {
    step: last.step,
    tokens: last.step * batchSize,
    loss: mean('loss'),
    mse: mean('mse'),
    aux: mean('aux'),
    sparsity: mean('sparsity'),
    l0: mean('l0'),
    dead: last.dead,
    threshold: last.threshold,
    ...drift,
    lr: last.lr,
    tokensPerSecond,
  };
}

/**
 * A resumed run continues metrics.jsonl from its checkpoint: drop lines past the checkpoint's step (written
 * after it by the interrupted run), a final partial-interval line at that step, and a torn line (a process
 * killed while appending), noted.
 */
function truncateMetrics(file: string, step: number, logEvery: number, progress: Progress): void {
  if (!fs.existsSync(file)) return;
  let torn = 0;
  const keep = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => {
      let s: unknown;
      try {
        s = (JSON.parse(l) as { step?: unknown } | null)?.step;
      } catch {
        s = undefined;
      }
      if (typeof s !== 'number') return (torn++, false);
      return s < step || (s === step && s % logEvery === 0);
    });
  if (torn) progress.log(`${file}: dropped ${torn} unreadable line${torn === 1 ? '' : 's'} (a write cut by a kill)`);
  fs.writeFileSync(file, keep.map((l) => l + '\n').join(''));
}
