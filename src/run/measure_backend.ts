// `--backend auto` between CPU paths and a software WebGPU adapter: which is faster depends on the machine
// (cores, SIMD width, the rasteriser) and on the SAE's shape, so it is measured, not guessed from a size rule.
// A short training run of the shape (capped in width and batch so it takes a few seconds at most) is timed on
// each candidate; the result is cached per machine, adapter and shape, so later runs decide at once.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Backend } from '../backend/backend.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { Rng } from '../rng.js';
import { makeTrainConfig } from '../train/config.js';
import { Trainer } from '../train/trainer.js';

export interface Candidate {
  label: string;
  backend: Backend;
}

export interface CalibrationShape {
  dIn: number;
  dSae: number;
}

export interface Calibration {
  /** ms per timed step of the proxy run, per candidate label. */
  msPerStep: Record<string, number>;
  /** The proxy run: rows per batch and latents. */
  batch: number;
  dSae: number;
  winner: string;
  cached: boolean;
  file: string;
}

/** Proxy size: the encoder product dominates, so cap the width and batch but keep d exact. */
const PROXY_BATCH = 256;
const PROXY_MAX_LATENTS = 8192;

export function calibrationFile(): string {
  const dir = process.env['BATCHTOPK_CACHE_DIR'] ?? path.join(process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'batchtopk');
  return path.join(dir, 'calibration.json');
}

function readCache(file: string): Record<string, Record<string, number>> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, number>>;
  } catch {
    return {};
  }
}

/** Time each candidate on a short BatchTopK training run of the shape (or read the cached times); pick the fastest. */
export async function measureBackends(cands: Candidate[], shape: CalibrationShape, machine: string): Promise<Calibration> {
  const dSae = Math.min(shape.dSae, PROXY_MAX_LATENTS);
  const file = calibrationFile();
  const key = `${machine}|d=${shape.dIn}|m=${dSae}|b=${PROXY_BATCH}|${cands.map((c) => c.label).join(',')}`;
  const cache = readCache(file);
  let ms = cache[key];
  const cached = ms !== undefined && cands.every((c) => typeof ms![c.label] === 'number');
  if (!cached) {
    ms = {};
    for (const c of cands) ms[c.label] = await timeSteps(c.backend, shape.dIn, dSae);
    cache[key] = ms;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeJsonAtomic(file, cache);
    } catch {
      // An unwritable cache only costs a new calibration next time.
    }
  }
  const winner = cands.reduce((best, c) => (ms![c.label]! < ms![best.label]! ? c : best)).label;
  return { msPerStep: ms!, batch: PROXY_BATCH, dSae, winner, cached, file };
}

/** Mean ms of 2 training steps after one warm-up step (pipelines, pools), on random normal data. */
async function timeSteps(be: Backend, dIn: number, dSae: number): Promise<number> {
  const cfg = makeTrainConfig({ sae: { arch: 'batchtopk', dIn, dSae, k: Math.min(32, dSae) }, batchSize: PROXY_BATCH, steps: 10, seed: 0 });
  const rng = new Rng(1);
  const batch = rng.fillNormal(new Float32Array(PROXY_BATCH * dIn));
  const t = await Trainer.create(be, cfg, batch);
  try {
    await t.trainStep(batch);
    const t0 = performance.now();
    // As train runs steps between two log steps: recorded without a wait, one settle at the end.
    for (let i = 0; i < 2; i++) await t.advance(batch);
    await t.settle();
    return (performance.now() - t0) / 2;
  } finally {
    t.dispose();
  }
}
