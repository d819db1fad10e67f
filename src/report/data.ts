// What a report reads from a run folder: summary.json (written by `train` at the end of every invocation),
// metrics.jsonl (training curves), and two optional files a sweep adds: run.json (the configuration the
// sweep asked for: target L0, JumpReLU coefficient and its search) and ce.json (CE evaluation).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainSummary } from '../cli/train.js';

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
  return fs.existsSync(path.join(dir, 'summary.json'));
}

export function readRun(dir: string): RunData | null {
  const summary = readJson<TrainSummary>(path.join(dir, 'summary.json'));
  if (!summary) return null;
  const meta = readJson<RunMeta>(path.join(dir, 'run.json'));
  return { dir, name: meta?.name ?? path.basename(path.resolve(dir)), summary, meta, ce: readJson<CeFigures>(path.join(dir, 'ce.json')) };
}

/** metrics.jsonl lines (a torn last line from a killed process is skipped). */
export function readMetrics(dir: string): MetricsLine[] {
  const file = path.join(dir, 'metrics.jsonl');
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
