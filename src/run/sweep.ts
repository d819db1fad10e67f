// `batchtopk sweep`: train every configuration of a grid with the same training options, each in its own
// folder of the sweep folder, then write the sweep report (results.csv, plots, index.html). Resumable: a
// finished run is skipped, an interrupted one resumes from its checkpoint, a JumpReLU search replays its
// recorded trials. Runs go through runTrain, exactly as `batchtopk train` would run them.
//
// Trust: the sweep holds its folder's lock for its whole length (a sweep restricted by --only, as each task of
// a Slurm array is, runs beside its sibling tasks in one folder: each of its runs holds its run folder's lock
// instead, through runTrain, and sweep.json and the report are written atomically); every input of every phase (the data, each
// run's configuration, the CE model, layer and text) is checked before the first step; each run folder
// records the settings that define it (run.json "settings"), and a folder made with other settings is
// refused whatever sweep.json says (or when sweep.json is gone).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors.js';
import { openSource } from '../data/source.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { canonicalPath } from '../io/fingerprint.js';
import { CE_FILE, readJsonFile, RUN_META_FILE, runMarkers, SAE_DIR, SUMMARY_FILE, type CeFigures, type RunMeta, type TrainSummary } from '../io/run_folder.js';
import { loadModel } from '../model/load.js';
import { activationProvenance } from '../model/provenance.js';
import { readDocuments } from '../model/text.js';
import { writeRunReport } from '../report/run.js';
import { writeSweepReport } from '../report/sweep.js';
import { ARCHS, type Arch } from '../sae/config.js';
import { planRuns, selectRuns, type Grid, type RunSpec } from '../sweep/plan.js';
import { searchCoefficient, thetaInitL0For, type SearchResult, type Trial } from '../sweep/search.js';
import { CHECKPOINT_FILE, loadCheckpoint } from '../train/checkpoint.js';
import type { Backend } from '../backend/backend.js';
import { withBackend, type OpenBackend } from './backend.js';
import { runCeEval } from './ce.js';
import { BatchLoader } from '../data/loader.js';
import { OptionError } from './errors.js';
import { Interrupted, InterruptWatch } from './interrupt.js';
import { lockFolder } from './lock.js';
import { layerOfHook } from './ce.js';
import { checkResume } from './resume.js';
import { definingKeys, resolveOptions, type Schema } from './schema.js';
import { buildConfig, runTrain } from './train.js';
import { DEFAULT_EXPANSION, resolveTrainOptions, TRAIN_SCHEMA, type TrainInput, type TrainOptions } from './train_options.js';

export type { OpenBackend };

/** The sweep's own options (each other `train` option applies to every run of the sweep). */
export interface SweepFlags {
  arch: Arch[];
  k?: number[];
  dictSize?: number[];
  expansion?: number[];
  out: string;
  only?: string[];
  l0Tolerance: number;
  searchSteps?: number;
  searchMaxShort: number;
  searchMaxFull: number;
  model?: string;
  text?: string;
  layer?: number;
  maxDocs?: number;
}

export const SWEEP_SCHEMA: Schema<SweepFlags> = {
  arch: { kind: 'list', item: 'choice', choices: ARCHS, arg: 'list', default: ['batchtopk', 'topk', 'jumprelu'], help: `Architectures, comma-separated: ${ARCHS.join(', ')}` },
  k: { kind: 'list', item: 'int', min: 1, arg: 'list', help: 'k values (JumpReLU: target L0s), comma-separated', defaultText: `${TRAIN_SCHEMA.k.default}; embedded data: ${TRAIN_SCHEMA.k.embedded}` },
  dictSize: { kind: 'list', item: 'int', min: 1, arg: 'list', help: 'Dictionary sizes, comma-separated' },
  expansion: { kind: 'list', item: 'number', min: Number.MIN_VALUE, arg: 'list', help: 'Or dictionary sizes as multiples of d, comma-separated', defaultText: TRAIN_SCHEMA.expansion.defaultText! },
  out: { kind: 'string', arg: 'dir', default: 'runs/sweep', help: 'Sweep folder: one run folder per configuration, results.csv, plots/, index.html' },
  only: { kind: 'list', item: 'string', arg: 'names', help: 'Run only these configurations: comma-separated names such as topk-k32-m6144, * globs allowed' },
  l0Tolerance: { kind: 'number', min: 0, max: 1, arg: 'f', default: 0.05, help: 'JumpReLU: relative tolerance of the held-out L0 around the target k' },
  searchSteps: { kind: 'int', min: 1, arg: 'n', help: 'JumpReLU: steps of a short coefficient-search run (default: a quarter of the run)' },
  searchMaxShort: { kind: 'int', min: 1, arg: 'n', default: 12, help: 'JumpReLU: most short search runs' },
  searchMaxFull: { kind: 'int', min: 1, arg: 'n', default: 6, help: 'JumpReLU: most full-length runs to correct the coefficient' },
  model: { kind: 'string', arg: 'path', help: 'CE degradation of every run: splice each SAE into this language model (as eval --model)' },
  text: { kind: 'string', arg: 'file', help: 'CE degradation: documents (.txt blank-line-separated or .jsonl "text")' },
  layer: { kind: 'int', min: 0, arg: 'n', help: "CE degradation: block whose input is replaced (default: each SAE's hook_name)" },
  maxDocs: { kind: 'int', min: 1, arg: 'n', help: 'CE degradation: use at most this many documents' },
};

/**
 * The sweep of the sweep options `given` over training options `train` (what `batchtopk sweep` runs): the grid,
 * the JumpReLU search settings, and with --model/--text the CE evaluation of every finished run.
 */
export function sweepOptions(given: Partial<SweepFlags>, train: TrainInput, open: OpenBackend, hooks: { resumeHint?: string; log?: (m: string) => void } = {}): SweepOptions {
  const f = resolveOptions(SWEEP_SCHEMA, given);
  if (f.dictSize && f.expansion) throw new OptionError('give --dict-size or --expansion, not both');
  const base = resolveTrainOptions({ ...train, arch: f.arch[0] });
  if (base.overwrite) throw new OptionError(`--overwrite is for train; a sweep continues the runs in its folder: use another --out, or delete ${f.out}`);
  if (!f.model !== !f.text) throw new OptionError('CE degradation needs both --model <path> and --text <file>');
  const ce: CeEvaluator | undefined =
    f.model && f.text
      ? async ({ saeDir }) => {
          const r = await withBackend(open, (b) =>
            runCeEval({ sae: saeDir, model: f.model!, text: f.text!, layer: f.layer, maxDocs: f.maxDocs, quiet: base.quiet }, b),
          );
          return { ceClean: r.ce_clean, ceSae: r.ce_sae, ceZero: r.ce_zero, ceDegradation: r.ce_sae - r.ce_clean, ceRecovered: r.ce_loss_score, tokens: r.predictions };
        }
      : undefined;
  return {
    options: (arch) => ({ ...train, arch }),
    grid: { archs: f.arch, ks: f.k ?? [base.k], ...(f.dictSize ? { dictSizes: f.dictSize } : { expansions: f.expansion ?? [base.expansion ?? DEFAULT_EXPANSION] }) },
    out: f.out,
    only: f.only,
    search: { tol: f.l0Tolerance, shortSteps: f.searchSteps, maxShort: f.searchMaxShort, maxFull: f.searchMaxFull },
    ce,
    ...(f.model && f.text ? { ceCheck: () => checkCeInputs(f.model!, f.text!, f.layer, base) } : {}),
    resumeHint: hooks.resumeHint,
    log: hooks.log ?? ((m) => !base.quiet && console.error(m)),
  };
}

/**
 * CE evaluation hook (--model/--text): given a finished run folder (its SAELens export in <dir>/sae), the CE
 * figures of the language model with the SAE spliced in. The sweep stores them as <dir>/ce.json, which
 * results.csv and the CE plots read.
 */
export type CeEvaluator = (run: { dir: string; saeDir: string; summary: TrainSummary }) => Promise<CeFigures>;

export interface SweepSearchOptions {
  /** Relative L0 tolerance (0.05). */
  tol: number;
  /** Steps of a short search run (default: a quarter of the run's steps). */
  shortSteps?: number;
  maxShort: number;
  maxFull: number;
}

export interface SweepOptions {
  /**
   * Training options of the runs of each architecture (as `train` takes them for that --arch, so
   * per-architecture defaults apply); k, dictSize/expansion, out and resume are set per run.
   */
  options: TrainInput | ((arch: Arch) => TrainInput);
  grid: Grid;
  out: string;
  /** Run only these names (or * globs). */
  only?: string[];
  search: SweepSearchOptions;
  ce?: CeEvaluator;
  /** Check the CE evaluation's inputs before the first run trains (throws naming the flag). */
  ceCheck?: () => void;
  /** How to resume this sweep, for the interrupt message (the command line). */
  resumeHint?: string;
  log?: (msg: string) => void;
}

export interface SweepResult {
  out: string;
  runs: { name: string; status: 'skipped' | 'trained'; nmse: number; l0: number; l0Coeff?: number }[];
  report: { html: string; csv: string; plots: string[] };
}

/** What must match the sweep folder's sweep.json: what defines a run or changes its results, less the grid's own. */
// thetaInitL0: a JumpReLU run's is derived from its target (thetaInitL0For) unless given; its checkpoint records it.
const GRID_KEYS = new Set(['arch', 'k', 'dictSize', 'expansion', 'thetaInitL0']);
const SWEEP_DEFINING = definingKeys(TRAIN_SCHEMA, true).filter((k) => !GRID_KEYS.has(k));

function definingOptions(o: TrainOptions): Record<string, unknown> {
  return Object.fromEntries(SWEEP_DEFINING.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function readJson<T>(file: string): T | null {
  return readJsonFile<T>(file);
}

/**
 * The CE evaluation's inputs, checked before the first run trains: the model loads, the text has
 * documents, and the layer (given, or the runs' hook from --hook-name or the harvest manifest) is in range.
 */
function checkCeInputs(model: string, text: string, layer: number | undefined, o: TrainOptions): void {
  let lm: ReturnType<typeof loadModel>;
  try {
    lm = loadModel(model);
  } catch (err) {
    throw new DataError(`--model ${model}: ${(err as Error).message} (checked before the first run trains)`);
  }
  const n = lm.weights.config.nLayers;
  let docs: string[];
  try {
    docs = readDocuments(text);
  } catch (err) {
    throw new DataError(`--text ${text}: ${(err as Error).message}`);
  }
  if (docs.length === 0) throw new DataError(`--text ${text}: no documents (.txt: blank-line-separated blocks; .jsonl: a "text" field per line)`);
  const hook = activationProvenance(o.data, { modelName: o.modelName, hookName: o.hookName })['hook_name'];
  const l = layer ?? layerOfHook(hook);
  if (l === undefined) throw new OptionError(`sweep --model: the runs' layer is unknown (no blocks.<n>.hook_resid_pre from --hook-name or a harvest manifest.json beside --data); pass --layer <n>`);
  if (l >= n) throw new OptionError(`${layer !== undefined ? '--layer' : `the runs' hook ${String(hook)}`} ${l} out of range: ${model} has ${n} blocks (layers 0..${n - 1})`);
}

/** What defines one run of the sweep: the sweep-wide settings and its grid point (run.json "settings"). */
function runSettings(o: TrainOptions): Record<string, unknown> {
  const keys = [...SWEEP_DEFINING, 'arch', 'k', 'dictSize', 'expansion'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    // JumpReLU's coefficient is the search's answer, recorded beside it (run.json l0Coeff), not a setting.
    if (k === 'l0Coeff' && o.arch === 'jumprelu') continue;
    const v = o[k as keyof TrainOptions];
    if (v !== undefined) out[k] = k === 'data' ? canonicalPath(v as string) : v;
  }
  return out;
}

/**
 * Refuse a run folder made with other settings than `now` (whatever sweep.json says): from run.json, or
 * from the checkpoint's options for a folder without them. A folder holding a run whose settings are
 * recorded nowhere is refused too: it cannot be told from one of this sweep.
 */
function checkRunFolder(dir: string, now: Record<string, unknown>): void {
  const meta = readJson<RunMeta & { settings?: Record<string, unknown> }>(path.join(dir, RUN_META_FILE));
  let was = meta?.settings;
  const ck = path.join(dir, CHECKPOINT_FILE);
  if (!was && fs.existsSync(ck)) {
    const saved = loadCheckpoint(ck).extra['options'] as TrainOptions | undefined;
    if (saved) was = runSettings(saved);
  }
  if (!was) {
    if (runMarkers(dir).length === 0) return;
    throw new DataError(`${dir} holds a run whose settings are recorded nowhere (no run.json settings, no checkpoint): it cannot be told from a run of this sweep; move it away or delete it`);
  }
  checkResume({ what: `${dir}: this run`, saved: was, now, keys: Object.keys(now).filter((k) => k !== 'out'), fix: `use the same options to continue the sweep, or another --out, or delete ${dir}` });
}

/** Steps of every run: --steps, --tokens / batch, or one pass over the training rows. */
function resolveSteps(o: TrainOptions): number {
  if (o.steps !== undefined) return o.steps;
  if (o.tokens !== undefined) return Math.ceil(o.tokens / o.batchSize);
  if (!o.data) throw new Error('sweep: give --steps or --tokens with the embedded data');
  const src = openSource(o.data, { tensor: o.tensor });
  try {
    const evalRows = o.evalFraction > 0 ? Math.max(1, Math.floor(src.rows * o.evalFraction)) : 0;
    return Math.max(1, Math.ceil((src.rows - evalRows) / o.batchSize));
  } finally {
    src.close();
  }
}

export async function runSweep(o: SweepOptions, open: OpenBackend): Promise<SweepResult> {
  const log = o.log ?? (() => {});
  const all = planRuns(o.grid);
  const runs = o.only?.length ? selectRuns(all, o.only) : all;
  const optionsOf = (arch: Arch): TrainOptions => resolveTrainOptions(typeof o.options === 'function' ? o.options(arch) : { ...o.options, arch });
  const steps = resolveSteps(optionsOf(runs[0]?.arch ?? 'batchtopk'));
  const bases = new Map<Arch, TrainOptions>(
    o.grid.archs.map((a) => [a, { ...optionsOf(a), arch: a, steps, tokens: undefined, resume: undefined, stopAfter: undefined, overwrite: false }]),
  );
  checkBeforeFirstStep(runs, bases, o);
  const lock = o.only?.length ? null : lockFolder(o.out, { command: 'batchtopk sweep', what: '--out', note: log });
  // One backend for the whole sweep: every run and search trial of this process trains on it, rather than
  // opening and tearing down a device (a Dawn instance, once) per run; `auto` decides on the first run's shape.
  let shared: Backend | null = null;
  const once: OpenBackend = async (hint) => (shared ??= await open(hint));
  try {
    return await sweepLocked(o, once, runs, bases, steps, log);
  } finally {
    (shared as Backend | null)?.dispose();
    lock?.release();
  }
}

/**
 * Every input of every phase, before the first step: each run's configuration against the data (k within
 * the dictionary, sizes), the data files of each architecture, the CE model, layer and text.
 */
function checkBeforeFirstStep(runs: RunSpec[], bases: Map<Arch, TrainOptions>, o: SweepOptions): void {
  const shapes = new Map<string, { dIn: number; trainRows: number }>();
  for (const spec of runs) {
    const base = bases.get(spec.arch)!;
    const key = `${base.data ?? ''}\0${base.tensor ?? ''}\0${base.shards ?? ''}`;
    let shape = shapes.get(key);
    if (!shape) {
      if (!base.data) continue; // the embedded synthetic set: nothing to read
      const src = openSource(base.data, { tensor: base.tensor, shards: base.shards });
      try {
        const loader = new BatchLoader({ source: src, batchSize: base.batchSize, seed: base.seed, evalFraction: base.evalFraction, shuffleBufferRows: base.batchSize });
        shape = { dIn: src.dIn, trainRows: loader.trainRows };
      } finally {
        src.close();
      }
      shapes.set(key, shape);
    }
    try {
      buildConfig({ ...base, k: spec.k, dictSize: spec.dictSize, expansion: spec.expansion }, shape.dIn, shape.trainRows);
    } catch (err) {
      throw new OptionError(`${spec.name}: ${(err as Error).message} (checked before the first run trains)`);
    }
  }
  o.ceCheck?.();
}

async function sweepLocked(o: SweepOptions, open: OpenBackend, runs: RunSpec[], bases: Map<Arch, TrainOptions>, steps: number, log: (m: string) => void): Promise<SweepResult> {
  const sweepFile = path.join(o.out, 'sweep.json');
  const saved = readJsonFile<{ options: Record<string, Record<string, unknown>> }>(sweepFile, { options: 'object' }, `restore it, or use another --out`);
  const defining = Object.fromEntries([...bases].map(([a, b]) => [a, definingOptions(b)]));
  for (const [arch, now] of Object.entries(defining)) {
    const was = saved?.options[arch];
    if (was === undefined) continue; // an architecture new to this sweep
    if (typeof was !== 'object' || was === null) throw new DataError(`${sweepFile}: "options.${arch}" is not an object; restore it, or use another --out`);
    checkResume({ what: `${o.out}: this sweep`, saved: was, now: Object.fromEntries(SWEEP_DEFINING.map((k) => [k, now[k]])), keys: SWEEP_DEFINING, fix: 'use the same options to continue it, or another --out' });
  }
  // Every run folder already there must have been made with this sweep's settings: checked before anything
  // is written, so a refused invocation leaves the folder (sweep.json included) as it was.
  for (const spec of runs) checkRunFolder(path.join(o.out, spec.name), runSettings(runOptions(spec, bases.get(spec.arch)!, o.out)));
  writeJsonAtomic(sweepFile, { options: { ...saved?.options, ...defining }, grid: o.grid });

  // Between runs (evaluation, export, report) a signal also stops the sweep at the next safe point;
  // during training runTrain's own watch saves a checkpoint.
  const watch = new InterruptWatch((sig) => log(`${sig}: stopping after the current step (send it again to quit at once)`)).install();
  const hint = o.resumeHint ?? `batchtopk sweep ... --out ${o.out}`;
  const stopped = (sig: 'SIGINT' | 'SIGTERM', where: string) =>
    new Interrupted(sig, `interrupted (${sig}) ${where}; finished runs and checkpoints are kept in ${o.out}. Resume with the same command: ${hint}`);
  const results: SweepResult['runs'] = [];
  try {
    for (const [i, spec] of runs.entries()) {
      await watch.poll();
      if (watch.signal) throw stopped(watch.signal, `before ${spec.name}`);
      log(`[${i + 1}/${runs.length}] ${spec.name}`);
      try {
        results.push(await runOne(spec, bases.get(spec.arch)!, steps, o, open, log));
      } catch (err) {
        if (err instanceof Interrupted) throw stopped(err.signal, `in ${spec.name}`);
        throw err;
      } finally {
        report(o.out, log);
      }
    }
  } finally {
    watch.uninstall();
  }
  return { out: o.out, runs: results, report: report(o.out, log) };
}

function report(out: string, log: (m: string) => void = () => {}): SweepResult['report'] {
  const r = writeSweepReport(out, [], (m) => log(`warning: ${m}`));
  return { html: r.html, csv: r.csv, plots: r.plots };
}

/** The training options of one run of the grid. */
function runOptions(spec: RunSpec, base: TrainOptions, out: string): TrainOptions {
  const o: TrainOptions = { ...base, arch: spec.arch, k: spec.k, dictSize: spec.dictSize, expansion: spec.expansion, out: path.join(out, spec.name) };
  // JumpReLU thresholds start from the data at twice the target (search.ts), so short budgets reach it.
  if (spec.arch === 'jumprelu' && base.thetaInitL0 === undefined) o.thetaInitL0 = spec.dictSize !== undefined ? thetaInitL0For(spec.k, spec.dictSize) : 2 * spec.k;
  return o;
}

async function runOne(spec: RunSpec, base: TrainOptions, steps: number, o: SweepOptions, open: OpenBackend, log: (m: string) => void): Promise<SweepResult['runs'][number]> {
  const dir = path.join(o.out, spec.name);
  const opts = runOptions(spec, base, o.out);
  const settings = runSettings(opts);
  const meta: RunMeta = { name: spec.name, arch: spec.arch, k: spec.k, dictSize: spec.dictSize ?? NaN, l0Coeff: opts.l0Coeff, settings };
  let search: SearchResult | null = null;
  // Finished earlier: a JumpReLU run once its search is recorded in run.json (the last thing written).
  const prev = readJson<RunMeta>(path.join(dir, RUN_META_FILE));
  const done = spec.arch === 'jumprelu' ? (prev?.search ? finishedSummary(dir, { ...opts, l0Coeff: prev.l0Coeff! }) : null) : finishedSummary(dir, opts);
  if (done) {
    log(`  finished earlier: skipped`);
    await ce(dir, done, o);
    return { name: spec.name, status: 'skipped', nmse: done.nmse, l0: done.l0, ...(spec.arch === 'jumprelu' ? { l0Coeff: prev!.l0Coeff } : {}) };
  }
  if (spec.arch === 'jumprelu') {
    search = await searchJumpRelu(spec, opts, steps, o, open, log);
    opts.l0Coeff = search.coeff;
    meta.l0Coeff = search.coeff;
    meta.search = { trials: search.trials, steps: search.steps, converged: search.converged };
  }
  const summary = await trainInto(dir, opts, open);
  meta.dictSize = summary.dictSize;
  writeJsonAtomic(path.join(dir, RUN_META_FILE), meta);
  writeRunReport(dir);
  if (search) log(`  L0 coefficient ${search.coeff.toPrecision(4)}: held-out L0 ${summary.l0.toFixed(2)} (target ${spec.k}, ${search.trials.length} trials, ${search.steps} steps${search.converged ? '' : ', NOT within the tolerance'})`);
  if (search?.advice) log(`  ${search.advice}`);
  log(`  nmse ${summary.nmse.toFixed(4)}  L0 ${summary.l0.toFixed(2)}  dead ${(100 * summary.deadFraction).toFixed(1)}%`);
  await ce(dir, summary, o);
  return { name: spec.name, status: 'trained', nmse: summary.nmse, l0: summary.l0, ...(search ? { l0Coeff: search.coeff } : {}) };
}

async function ce(dir: string, summary: TrainSummary, o: SweepOptions): Promise<void> {
  const file = path.join(dir, CE_FILE);
  if (!o.ce || fs.existsSync(file)) return;
  writeJsonAtomic(file, await o.ce({ dir, saeDir: path.join(dir, SAE_DIR), summary }));
  writeRunReport(dir);
}

/** The folder's finished summary when it was trained with `opts`' L0 coefficient (run.json), else null. */
function finishedSummary(dir: string, opts: TrainOptions): TrainSummary | null {
  const s = readJson<TrainSummary>(path.join(dir, SUMMARY_FILE));
  const m = readJson<RunMeta>(path.join(dir, RUN_META_FILE));
  return s?.finished && m?.l0Coeff === opts.l0Coeff ? s : null;
}

/**
 * Train `opts` into its folder: nothing to do when the folder holds that finished run, resume when it holds
 * that run's checkpoint, else start afresh (replacing another coefficient's run; search/ is kept).
 */
async function trainInto(dir: string, opts: TrainOptions, open: OpenBackend): Promise<TrainSummary> {
  const done = finishedSummary(dir, opts);
  if (done) return done;
  const m = readJson<RunMeta>(path.join(dir, RUN_META_FILE));
  const resume = m?.l0Coeff === opts.l0Coeff && fs.existsSync(path.join(dir, CHECKPOINT_FILE));
  if (!resume && fs.existsSync(dir)) {
    for (const n of fs.readdirSync(dir)) if (n !== 'search') fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true });
  if (!resume) {
    const meta: RunMeta = { name: path.basename(dir), arch: opts.arch, k: opts.k, dictSize: opts.dictSize ?? NaN, l0Coeff: opts.l0Coeff, settings: runSettings(opts) };
    writeJsonAtomic(path.join(dir, RUN_META_FILE), meta);
  }
  // A resume gives every option, so runTrain refuses a checkpoint made with other run-defining ones.
  // The sweep's one backend (runSweep): not disposed here.
  return runTrain({ ...opts, resume: resume ? dir : undefined }, open);
}

/** The JumpReLU coefficient search (search.ts) over runs of this configuration, recorded in <dir>/search/search.json. */
async function searchJumpRelu(spec: RunSpec, opts: TrainOptions, steps: number, o: SweepOptions, open: OpenBackend, log: (m: string) => void): Promise<SearchResult> {
  const dir = path.join(o.out, spec.name);
  const sdir = path.join(dir, 'search');
  fs.mkdirSync(sdir, { recursive: true });
  const file = path.join(sdir, 'search.json');
  const shortSteps = o.search.shortSteps ?? Math.max(1, Math.round(steps / 4));
  // Recorded trials count only for these settings (whatever sweep.json says, or without it).
  const settings = runSettings(opts);
  const rec = readJsonFile<{ target: number; trials: Trial[]; settings?: Record<string, unknown> }>(file, {}, `delete it to search again`);
  if (rec && !rec.settings && (rec.trials?.length ?? 0) > 0) {
    throw new DataError(`${file}: recorded trials without the settings they were made with: they cannot be told from trials of this sweep; delete it to search again`);
  }
  if (rec?.settings) checkResume({ what: `${file}: this search`, saved: rec.settings, now: settings, keys: Object.keys(settings), fix: `use the same options to continue the sweep, or delete ${file}` });
  const memo = rec?.trials ?? [];
  const record: Trial[] = [];
  const res = await searchCoefficient(
    spec.k,
    async (coeff, n) => {
      const hit = memo.find((t) => t.coeff === coeff && t.steps === n);
      let l0: number;
      if (hit) l0 = hit.l0;
      else if (n >= steps) l0 = (await trainInto(dir, { ...opts, l0Coeff: coeff }, open)).l0;
      else {
        const tdir = path.join(sdir, 'trial');
        fs.rmSync(tdir, { recursive: true, force: true });
        l0 = (await runTrain({ ...opts, l0Coeff: coeff, steps: n, out: tdir, checkpointEvery: 0, quiet: true }, open)).l0;
        fs.rmSync(tdir, { recursive: true, force: true });
      }
      record.push({ coeff, l0, steps: n });
      writeJsonAtomic(file, { target: spec.k, tol: o.search.tol, settings, trials: [...record, ...memo.filter((t) => !record.some((r) => r.coeff === t.coeff && r.steps === t.steps))] });
      if (!hit) log(`  search: coefficient ${coeff.toPrecision(4)}, ${n} steps: held-out L0 ${l0.toFixed(2)} (target ${spec.k})`);
      return l0;
    },
    { tol: o.search.tol, shortSteps, fullSteps: steps, initial: opts.l0Coeff, maxShort: o.search.maxShort, maxFull: o.search.maxFull },
  );
  return res;
}
