// A run folder's files and their formats, shared by what writes them (run/train.ts, run/sweep.ts) and what
// reads them (report/): summary.json (written by `train` at the end of every invocation), metrics.jsonl
// (training curves), the checkpoint, sae/ (the SAELens export), and two optional files a sweep adds: run.json
// (the configuration the sweep asked for: target L0, JumpReLU coefficient and its search) and ce.json (CE
// evaluation).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors.js';

export const SUMMARY_FILE = 'summary.json';
export const METRICS_FILE = 'metrics.jsonl';
export const RUN_META_FILE = 'run.json';
export const CE_FILE = 'ce.json';
export const SAE_DIR = 'sae';
/** Written by train/checkpoint.ts; named here so the folder's files are listed in one place. */
export const CHECKPOINT_NAME = 'checkpoint.safetensors';

/** The files that make a folder hold a run: a new run there would mix with it (or destroy it). */
export const RUN_MARKERS = [CHECKPOINT_NAME, SUMMARY_FILE, SAE_DIR, METRICS_FILE] as const;
/** Every file a run (and a sweep, beside it) writes into its folder: what --overwrite clears. */
export const RUN_FILES = [...RUN_MARKERS, 'index.html', 'plots', 'profile.txt', 'profile.json', RUN_META_FILE, CE_FILE] as const;

/** summary.json: what one invocation of `train` ended with. */

export interface TrainSummary {
  /** The architecture (sae/config.ts ARCHS). */
  arch: string;
  k: number;
  dictSize: number;
  dIn: number;
  steps: number;
  tokens: number;
  backend: string;
  nmse: number;
  fvu: number;
  /** SAEBench's core metrics on the same held-out rows (metrics.ts CORE_METRICS; absent in older folders). */
  explained_variance?: number;
  cossim?: number;
  l2_ratio?: number;
  frac_alive?: number;
  freq_over_1_percent?: number;
  freq_over_10_percent?: number;
  l0: number;
  deadFraction: number;
  /** Latents rarer than this firing frequency may show as dead in an evaluation of evalTokens (metrics.ts). */
  deadFrequencyFloor: number;
  /** BatchTopK: the saved theta, calibrated on `calibrationBatches` training batches with the final weights. */
  threshold: number | null;
  /** BatchTopK: the running (EMA) estimate at the last step, for comparison. */
  thresholdRunning: number | null;
  calibrationBatches: number | null;
  /** BatchTopK: the same weights on the same held-out rows with batch top-k (batches of batchSize). */
  batchTopK: { nmse: number; fvu: number; l0: number; batchSize: number } | null;
  tokensPerSecond: number;
  evalTokens: number;
  l0Histogram: number[];
  skippedNonFinite: number;
  /** What went wrong that the user should know (a theta that could not be calibrated, suspicious data). */
  warnings?: string[];
  featureRecovery?: { meanMaxCos: number; fracAbove09: number };
  out: string;
  finished: boolean;
}

/** Written by the sweep beside summary.json. */
export interface RunMeta {
  name: string;
  arch: string;
  /** k for TopK/BatchTopK; the target L0 for JumpReLU. */
  k: number;
  dictSize: number;
  l0Coeff?: number;
  /** The settings that define the run (every run-defining option and its grid point): a sweep refuses a folder made with others. */
  settings?: Record<string, unknown>;
  /** JumpReLU coefficient search: trials and cost (src/sweep/search.ts). */
  search?: { trials: { coeff: number; l0: number; steps: number }[]; steps: number; converged: boolean };
}

/** CE evaluation of an SAE spliced into the language model (the sweep's --model/--text hook). */
export interface CeFigures {
  /** Mean next-token CE of the model alone, with the SAE reconstruction, and with the activation zeroed. */
  ceClean: number;
  ceSae: number;
  ceZero?: number;
  /** ceSae - ceClean. */
  ceDegradation: number;
  /** (ceZero - ceSae) / (ceZero - ceClean), when ceZero is known. */
  ceRecovered?: number;
  tokens?: number;
}

export interface MetricsLine {
  step: number;
  tokens: number;
  loss: number;
  mse: number;
  l0: number;
  dead: number;
  [key: string]: number;
}

export interface RunData {
  dir: string;
  name: string;
  summary: TrainSummary;
  meta: RunMeta | null;
  ce: CeFigures | null;
}

type JsonType = 'number' | 'string' | 'boolean' | 'object' | 'metric';

/**
 * A JSON object file, or null when there is none; a file that is not a JSON object (torn, truncated,
 * `null`, edited by hand) is a DataError naming it, so no reader fails later on a missing property.
 * `required` lists keys it must have (with those types).
 */
export function readJsonFile<T>(file: string, required: Record<string, JsonType> = {}, fix = 'restore it or delete it'): T | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DataError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ${fix}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${file}: not valid JSON (${(err as Error).message}); ${fix}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DataError(`${file}: expected a JSON object, found ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}; ${fix}`);
  for (const [k, type] of Object.entries(required)) {
    const x = (v as Record<string, unknown>)[k];
    // A metric that was NaN (e.g. the NMSE of all-zero data) is written by JSON.stringify as null.
    const ok = type === 'metric' ? typeof x === 'number' || x === null : typeof x === type && x !== null;
    if (!ok) throw new DataError(`${file}: "${k}" is ${x === undefined ? 'missing' : `not a ${type === 'metric' ? 'number' : type}`}; ${fix}`);
  }
  return v as T;
}

/** What summary.json must hold for a report to read it. */
const SUMMARY_KEYS = { arch: 'string', k: 'number', dictSize: 'number', dIn: 'number', steps: 'number', tokens: 'number', nmse: 'metric', l0: 'metric', finished: 'boolean' } as const;

export function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, SUMMARY_FILE));
}

/** The run in `dir`, or null when it has no summary.json; a damaged file is a DataError naming it. */
export function readRun(dir: string): RunData | null {
  const summary = readJsonFile<TrainSummary>(path.join(dir, SUMMARY_FILE), SUMMARY_KEYS, `restore it, or resume the run to rewrite it (batchtopk train --resume ${dir})`);
  if (!summary) return null;
  const meta = readJsonFile<RunMeta>(path.join(dir, RUN_META_FILE), { name: 'string' });
  return { dir, name: meta?.name ?? path.basename(path.resolve(dir)), summary, meta, ce: readJsonFile<CeFigures>(path.join(dir, CE_FILE)) };
}

/** The files of `dir` that show it holds a run (RUN_MARKERS present), empty when none. */
export function runMarkers(dir: string): string[] {
  return RUN_MARKERS.filter((n) => fs.existsSync(path.join(dir, n)));
}

const TRASH_PREFIX = '.overwritten-';

/**
 * Remove the run in `dir` (RUN_FILES; the folder's other files and the lock stay). Each file is first moved
 * into one hidden folder by a rename (summary.json first, so no reader takes the folder for a finished run
 * once clearing began), then that folder is deleted. The caller holds the folder's lock and has its
 * interrupt watch installed, so a Ctrl-C waits for the (synchronous) clearing to end; a harder kill leaves
 * the old run's remaining files (still refused without --overwrite) and a trash folder the next clear removes.
 */
export function clearRun(dir: string): string[] {
  const trash = path.join(dir, `${TRASH_PREFIX}${process.pid}-${Date.now()}`);
  const moved: string[] = [];
  fs.mkdirSync(trash);
  for (const n of [SUMMARY_FILE, ...RUN_FILES.filter((f) => f !== SUMMARY_FILE)]) {
    if (!fs.existsSync(path.join(dir, n))) continue;
    fs.renameSync(path.join(dir, n), path.join(trash, n));
    moved.push(n);
  }
  for (const n of fs.readdirSync(dir)) if (n.startsWith(TRASH_PREFIX)) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  return moved;
}

/** metrics.jsonl lines (a torn line from a killed process is skipped). */
export function readMetrics(dir: string): MetricsLine[] {
  const file = path.join(dir, METRICS_FILE);
  if (!fs.existsSync(file)) return [];
  const out: MetricsLine[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as MetricsLine);
    } catch {
      // only the last line can be partial
    }
  }
  return out;
}
