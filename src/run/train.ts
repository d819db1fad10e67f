// A training run (`batchtopk train`, each run of a sweep, or a library call): data -> loader -> trainer, with
// checkpoints, progress, metrics.jsonl, the theta calibration, a held-out evaluation and the SAELens export.
// Its options and their defaults are train_options.ts's; the run folder's formats are io/run_folder.ts's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../backend/backend.js';
import { backendLabel } from '../backend/open.js';
import { BatchLoader, type LoaderState } from '../data/loader.js';
import { openSource, ShardedSource, type ActivationSource } from '../data/source.js';
import { DataError } from '../data/errors.js';
import { evaluate } from '../eval.js';
import { writeSaelens } from '../io/saelens.js';
import { smallEvalWarning, type EvalMetrics } from '../metrics.js';
import { toSaeExport } from '../sae/export.js';
import { activationProvenance } from '../model/provenance.js';
import { jumpreluScaleWarning, type ScaleStats } from '../sae/jumprelu.js';
import { downloadParams } from '../sae/params.js';
import { isCut, type Calibration } from '../sae/threshold.js';
import { featureRecovery, SyntheticModel, SyntheticSource, type SynthConfig } from '../synth.js';
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { makeTrainConfig, type TrainConfig } from '../train/config.js';
import { createTrainer, train } from '../train/loop.js';
import { Trainer, type StepMetrics } from '../train/trainer.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { METRICS_FILE, SAE_DIR, SUMMARY_FILE, type TrainSummary } from '../io/run_folder.js';
import { formatProfile, ProfileBackend } from '../backend/profile.js';
import { resolveBackend, type BackendOrOpen } from './backend.js';
import { Interrupted, InterruptWatch } from './interrupt.js';
import { Progress } from './progress.js';
import { checkResume } from './resume.js';
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

function buildConfig(o: TrainOptions, dIn: number, trainRows: number): TrainConfig {
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

/**
 * Train with the options given (the rest default as train_options.ts says). `backend` may be an opener,
 * called only once the data and configuration are known to be good.
 */
export async function runTrain(given: TrainInput, backendOrOpen: BackendOrOpen): Promise<TrainSummary> {
  const o = resolveTrainOptions(given);
  const progress = new Progress(process.stderr, 10, o.quiet);
  let opts = o;
  let resumed: ReturnType<typeof loadCheckpoint> | null = null;
  if (o.resume) {
    const ckFile = fs.statSync(o.resume, { throwIfNoEntry: false })?.isDirectory() ? files(o.resume).checkpoint : o.resume;
    if (!fs.existsSync(ckFile)) throw new DataError(`${o.resume}: no checkpoint found (expected ${ckFile})`);
    resumed = loadCheckpoint(ckFile);
    const saved = resumed.extra['options'] as TrainOptions;
    const explicit = givenKeys(given);
    checkResume({
      what: `--resume: the run in ${o.resume}`,
      saved: saved as unknown as Record<string, unknown>,
      now: Object.fromEntries(RUN_DEFINING.filter((k) => explicit.has(k)).map((k) => [k, o[k]])),
      keys: RUN_DEFINING,
      fix: 'drop those flags to continue it',
    });
    // The checkpoint's run-defining options win; steps/tokens, out and I/O cadence may be given anew.
    opts = { ...o, ...Object.fromEntries(RUN_DEFINING.map((k) => [k, saved[k]])) } as TrainOptions;
    if (o.steps === undefined && o.tokens === undefined) opts.steps = saved.steps ?? (resumed.extra['steps'] as number);
    if (o.calibrationBatches === undefined) opts.calibrationBatches = saved.calibrationBatches;
  }
  const f = files(opts.out);
  fs.mkdirSync(f.dir, { recursive: true });
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
    progress.log(`data: ${source.describe()}; train ${loader.trainRows} rows, eval ${loader.evalRows} rows`);
    const scaleWarning = jumpreluScaleWarning(cfg.sae, cfg.normalize, cfg.sae.arch === 'jumprelu' ? scaleStats(source) : undefined);
    if (scaleWarning) process.stderr.write(scaleWarning + '\n');
    if (source instanceof ShardedSource) progress.log(source.listing());
    const opened = await resolveBackend(backendOrOpen, { dIn: cfg.sae.dIn, dSae: cfg.sae.dSae });
    const backend = opts.profile ? new ProfileBackend(opened) : opened;
    let trainer: Trainer;
    if (resumed) {
      loader.restore(resumed.extra['loader'] as LoaderState);
      trainer = Trainer.restore(backend, cfg, resumed.trainer);
      truncateMetrics(f.metrics, trainer.step, opts.logEvery);
      progress.log(`resumed at step ${trainer.step} from ${opts.resume}`);
    } else {
      trainer = await createTrainer(backend, cfg, loader);
      fs.writeFileSync(f.metrics, '');
    }
    const run: Run = { opts, cfg, f, loader, source, synth, backend, trainer, progress };
    try {
      return await report(run, await trainLoop(run));
    } finally {
      trainer.dispose();
    }
  } finally {
    source.close();
  }
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
}

function checkpoint(r: Run): Promise<void> {
  return r.trainer.getState().then((st) =>
    saveCheckpoint(r.f.checkpoint, {
      trainer: st,
      extra: { options: { ...r.opts, steps: r.cfg.steps }, loader: r.loader.getState(), steps: r.cfg.steps },
    }),
  );
}

/** Train to the end (or --stop-after), with progress, metrics.jsonl and checkpoints; returns tokens/s. */
async function trainLoop(r: Run): Promise<number> {
  const { opts, cfg, f, loader, backend, trainer, progress } = r;
  const prof = backend instanceof ProfileBackend ? backend : null;
  await prof?.start();
  const t0 = performance.now();
  const startStep = trainer.step;
  let window: StepMetrics[] = [];
  const stopAt = opts.stopAfter !== undefined ? Math.min(cfg.steps, startStep + opts.stopAfter) : cfg.steps;
  const interrupt = new InterruptWatch((sig) => progress.log(`${sig}: stopping after the current step to save a checkpoint (send it again to quit at once)`)).install();
  try {
    await train(backend, cfg, loader, {
      trainer,
      stopAt,
      onStep: async (m, t) => {
        await prof?.markStep(t.step);
        window.push(m);
        const tps = ((t.step - startStep) * cfg.batchSize) / ((performance.now() - t0) / 1000);
        progress.update({ step: t.step, steps: cfg.steps, tokens: t.step * cfg.batchSize, tokensPerSecond: tps, loss: m.loss, l0: m.l0, dead: m.dead });
        if (t.step % opts.logEvery === 0 || t.step === stopAt) {
          fs.appendFileSync(f.metrics, JSON.stringify(intervalRecord(window, cfg.batchSize, tps, cfg.sae.arch === 'batchtopk')) + '\n');
          window = [];
        }
        if (opts.checkpointEvery > 0 && t.step % opts.checkpointEvery === 0) await checkpoint(r);
        await interrupt.poll();
        if (interrupt.signal) {
          progress.done();
          await checkpoint(r);
          throw new Interrupted(interrupt.signal, `interrupted (${interrupt.signal}) at step ${t.step} of ${cfg.steps}; checkpoint saved in ${f.dir}. Resume with: batchtopk train --resume ${f.dir}`);
        }
      },
    });
  } finally {
    interrupt.uninstall();
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
  await calibrate(r);
  await checkpoint(r);
  return ((trainer.step - startStep) * cfg.batchSize) / Math.max(elapsed, 1e-9);
}

/**
 * BatchTopK: theta of the weights as they are now, from the next calibrationBatches training batches the
 * loader would give, with no update. The loader's position is restored afterwards, so the calibration
 * consumes no training row (a run continued later sees the batches an uninterrupted run sees) and never
 * touches the eval rows; it is a function of the weights and the loader position, so a resumed run that
 * finishes calibrates to the same bits as the uninterrupted one.
 */
async function calibrate(r: Run): Promise<Calibration | null> {
  const { cfg, loader, trainer, progress } = r;
  if (cfg.sae.arch !== 'batchtopk') return null;
  const state = loader.getState();
  const n = cfg.calibrationBatches;
  const batch = new Float32Array(cfg.batchSize * cfg.sae.dIn);
  let c: Calibration;
  try {
    c = await trainer.calibrate(
      (function* () {
        for (let i = 0; i < n; i++) {
          loader.nextBatch(batch);
          yield batch;
        }
      })(),
    );
  } catch (err) {
    // Training is not lost over it: the checkpoint is still written; without a theta there is no export.
    progress.log(`theta not calibrated: ${(err as Error).message}`);
    return null;
  } finally {
    loader.restore(state);
  }
  const cuts = c.minima.filter(isCut);
  const sd = Math.sqrt(cuts.reduce((a, v) => a + (v - c.theta) ** 2, 0) / Math.max(1, cuts.length - 1));
  progress.log(
    `theta ${c.theta.toPrecision(5)} calibrated on ${n} training batches (batch minima: sd ${sd.toPrecision(3)}; running estimate ${trainer.thetaEma.value.toPrecision(5)})`,
  );
  return c;
}

/** Held-out evaluation, the SAELens export (finished runs) and summary.json. */
async function report(r: Run, tokensPerSecond: number): Promise<TrainSummary> {
  const { cfg, f, loader, source, synth, backend, trainer, progress } = r;
  const finished = trainer.step >= cfg.steps;
  const isBatchTopK = cfg.sae.arch === 'batchtopk';
  const theta = isBatchTopK ? trainer.calibratedTheta : 0;
  const evalModel = { params: trainer.params, cfg: cfg.sae, theta, normalize: cfg.normalize, normScale: trainer.normScale };
  let metrics: EvalMetrics;
  let btk: EvalMetrics | null = null;
  if (loader.evalRows > 0) {
    const rows = (bs: number) => firstRows(loader.evalBatches(bs), r.opts.evalTokens, cfg.sae.dIn);
    metrics = await evaluate(backend, evalModel, rows(Math.min(cfg.batchSize, 4096)));
    // The paper's code evaluates with the batch selection, in batches of the training batch size.
    if (isBatchTopK) btk = await evaluate(backend, evalModel, rows(cfg.batchSize), { encoder: 'batchtopk' });
  } else {
    progress.log('no eval split (--eval-fraction 0): metrics are on one further training batch, not held out');
    const batch = new Float32Array(cfg.batchSize * cfg.sae.dIn);
    loader.nextBatch(batch);
    metrics = await evaluate(backend, evalModel, [batch]);
    if (isBatchTopK) btk = await evaluate(backend, evalModel, [batch], { encoder: 'batchtopk' });
  }
  const small = smallEvalWarning(metrics.tokens, cfg.sae.deadTokens);
  if (small) process.stderr.write(small + '\n');
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
    l0: metrics.l0,
    deadFraction: metrics.deadFraction,
    deadFrequencyFloor: metrics.deadFrequencyFloor,
    threshold: isBatchTopK ? theta : null,
    thresholdRunning: isBatchTopK ? trainer.thetaEma.value : null,
    calibrationBatches: isBatchTopK ? cfg.calibrationBatches : null,
    batchTopK: btk ? { nmse: btk.nmse, fvu: btk.fvu, l0: btk.l0, batchSize: cfg.batchSize } : null,
    tokensPerSecond,
    evalTokens: metrics.tokens,
    l0Histogram: metrics.l0Histogram,
    skippedNonFinite: loader.skippedNonFinite,
    out: f.dir,
    finished,
    ...(recovery ? { featureRecovery: recovery } : {}),
  };
  if (finished && (cfg.sae.arch !== 'batchtopk' || theta > 0)) {
    writeSaelens(
      f.sae,
      toSaeExport({
        arch: cfg.sae.arch,
        dIn: cfg.sae.dIn,
        dSae: cfg.sae.dSae,
        k: cfg.sae.k,
        params: host,
        theta,
        normalize: cfg.normalize,
        normScale: trainer.normScale,
        info: { config: { ...cfg }, data: source.describe(), results: { ...summary, l0Histogram: undefined } },
        metadata: activationProvenance(r.opts.data, { modelName: r.opts.modelName, hookName: r.opts.hookName }),
      }),
    );
    progress.log(`saved SAELens folder ${f.sae}`);
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

/** One metrics.jsonl line: means over the steps since the previous line. */
function intervalRecord(w: StepMetrics[], batchSize: number, tokensPerSecond: number, batchTopK: boolean): Record<string, number> {
  const mean = (k: keyof StepMetrics) => w.reduce((a, m) => a + (Number.isFinite(m[k]) ? m[k] : 0), 0) / w.length;
  const last = w[w.length - 1]!;
  // BatchTopK: the batch cuts theta_b of the interval beside the running estimate, so drift is visible.
  const cuts = batchTopK ? w.map((m) => m.minSelected).filter(isCut) : [];
  const drift: Record<string, number> = cuts.length
    ? { thetaBatchMin: Math.min(...cuts), thetaBatchMean: cuts.reduce((a, v) => a + v, 0) / cuts.length }
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
 * after it by the interrupted run) and a final partial-interval line at that step.
 */
function truncateMetrics(file: string, step: number, logEvery: number): void {
  if (!fs.existsSync(file)) return;
  const keep = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => {
      const s = (JSON.parse(l) as { step: number }).step;
      return s < step || (s === step && s % logEvery === 0);
    });
  fs.writeFileSync(file, keep.map((l) => l + '\n').join(''));
}
