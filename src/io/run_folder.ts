// A run folder's files and their formats, shared by what writes them (run/train.ts, run/sweep.ts) and what
// reads them (report/): summary.json (written by `train` at the end of every invocation), metrics.jsonl
// (training curves), the checkpoint, sae/ (the SAELens export), and two optional files a sweep adds: run.json
// (the configuration the sweep asked for: target L0, JumpReLU coefficient and its search) and ce.json (CE
// evaluation).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SUMMARY_FILE = 'summary.json';
export const METRICS_FILE = 'metrics.jsonl';
export const RUN_META_FILE = 'run.json';
export const CE_FILE = 'ce.json';
export const SAE_DIR = 'sae';

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

function readJson<T>(file: string): T | null {
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, SUMMARY_FILE));
}

export function readRun(dir: string): RunData | null {
  const summary = readJson<TrainSummary>(path.join(dir, SUMMARY_FILE));
  if (!summary) return null;
  const meta = readJson<RunMeta>(path.join(dir, RUN_META_FILE));
  return { dir, name: meta?.name ?? path.basename(path.resolve(dir)), summary, meta, ce: readJson<CeFigures>(path.join(dir, CE_FILE)) };
}

/** metrics.jsonl lines (a torn last line from a killed process is skipped). */
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
