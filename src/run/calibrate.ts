// `batchtopk calibrate <sae-dir> --data <acts>`: re-estimate the inference threshold theta of a saved
// BatchTopK SAE on other activations, exactly as training calibrates it (the mean over N batches of the
// smallest positive value the batch top-k keeps, with the saved weights), and rewrite the SAELens folder
// atomically with the new threshold. Batches are drawn through the training loader (seeded shuffle, NaN/Inf
// rows skipped), so the result is a function of the data, --seed, --batch-size and --batches.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendLabel } from '../backend/open.js';
import { DataError } from '../data/errors.js';
import { BatchLoader } from '../data/loader.js';
import { openSource } from '../data/source.js';
import { replaceDirAtomic } from '../io/atomic.js';
import { CFG_FILE, WEIGHTS_FILE, writeSaelens } from '../io/saelens.js';
import { prevFloat32, savedBatchTopK } from '../sae/export.js';
import { calibrateThreshold, isCut } from '../sae/threshold.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { resolveBackend, type BackendOrOpen } from './backend.js';
import { readSavedSae, withUploadedSae } from './saved_sae.js';
import { OPTIONS } from './options.js';
import { resolveOptions, type Schema } from './schema.js';

export interface CalibrateOptions {
  /** The SAELens folder (the command's argument). */
  sae: string;
  data: string;
  tensor?: string;
  /** Rows per batch (default: the SAE's training batch size, else 4096). */
  batchSize?: number;
  /** Batches (default: the SAE's training calibration batches, else TRAIN_DEFAULTS.calibrationBatches). */
  batches?: number;
  seed: number;
  /** Compute and report, but leave the folder as it is. */
  dryRun: boolean;
}

export const CALIBRATE_SCHEMA: Schema<CalibrateOptions> = {
  sae: { ...OPTIONS.sae, help: 'The SAELens folder of a BatchTopK SAE' },
  data: OPTIONS.data,
  tensor: OPTIONS.tensor,
  batchSize: { kind: 'int', min: 1, arg: 'n', help: 'Rows per batch', defaultText: `the SAE's training batch size, else ${TRAIN_DEFAULTS.batchSize}` },
  batches: { kind: 'int', min: 1, arg: 'n', help: 'Batches averaged', defaultText: `the SAE's training setting, else ${TRAIN_DEFAULTS.calibrationBatches}` },
  seed: { kind: 'int', min: 0, max: 0xffffffff, arg: 'n', default: TRAIN_DEFAULTS.seed, help: 'Seed of the row shuffle' },
  dryRun: { kind: 'boolean', default: false, help: 'Report the new theta without rewriting the folder' },
};

export interface CalibrateSummary {
  sae: string;
  data: string;
  k: number;
  batchSize: number;
  batches: number;
  rows: number;
  theta: number;
  previousTheta: number;
  /** Standard deviation of the per-batch cuts theta_b (their mean is theta). */
  batchSd: number;
  written: boolean;
  backend: string;
}

/** `log` says when rows repeat across batches (stderr in the CLI). */
export async function runCalibrate(given: Partial<CalibrateOptions> & Pick<CalibrateOptions, 'sae' | 'data'>, backendOrOpen: BackendOrOpen, log?: (msg: string) => void): Promise<CalibrateSummary> {
  const o = resolveOptions(CALIBRATE_SCHEMA, given);
  const st = fs.statSync(o.sae, { throwIfNoEntry: false });
  if (!st) throw new DataError(`${o.sae}: no such SAE folder`);
  if (!st.isDirectory()) throw new DataError(`${o.sae}: not a folder (give the SAELens folder holding ${CFG_FILE} and ${WEIGHTS_FILE})`);
  const sae = readSavedSae(o.sae);
  const { exp } = sae;
  const saved = savedBatchTopK(exp);
  if (!saved) {
    const arch = (exp.metadata['batchtopk'] as { arch?: unknown } | undefined)?.arch;
    throw new DataError(
      `${o.sae}: not a BatchTopK SAE (architecture '${exp.architecture}', metadata.batchtopk.arch ${arch === undefined ? 'absent' : `'${String(arch)}'`}); ` +
        'calibrate re-estimates the global threshold of BatchTopK SAEs saved by batchtopk train',
    );
  }
  const batchSize = o.batchSize ?? saved.batchSize ?? TRAIN_DEFAULTS.batchSize;
  const batches = o.batches ?? saved.calibrationBatches ?? TRAIN_DEFAULTS.calibrationBatches;
  const source = openSource(o.data, { tensor: o.tensor });
  try {
    if (source.dIn !== exp.dIn) throw new DataError(`${o.data}: rows have d=${source.dIn} but the SAE in ${o.sae} expects d_in=${exp.dIn}`);
    if (source.rows < batchSize) {
      throw new DataError(`${o.data}: ${source.rows} rows, fewer than one batch of ${batchSize}; give a smaller --batch-size (theta depends little on it, but a batch should hold many times k rows)`);
    }
    if (source.rows < batchSize * batches) {
      log?.(`calibrate: ${batches} batches of ${batchSize} need ${batchSize * batches} rows, the data has ${source.rows}: rows repeat across batches`);
    }
    const loader = new BatchLoader({ source, batchSize, seed: o.seed, evalFraction: 0, shuffleBufferRows: Math.max(65536, batchSize) });
    const backend = await resolveBackend(backendOrOpen, { dIn: exp.dIn, dSae: exp.dSae });
    const buf = new Float32Array(batchSize * exp.dIn);
    const c = await withUploadedSae(backend, sae, (model) =>
      calibrateThreshold(
        backend,
        { params: model.params, k: saved.k, normalize: model.normalize, normScale: model.normScale, dIn: exp.dIn },
        (function* () {
          for (let i = 0; i < batches; i++) {
            loader.nextBatch(buf);
            yield buf;
          }
        })(),
      ),
    );
    const cuts = c.minima.filter(isCut);
    const batchSd = Math.sqrt(cuts.reduce((a, v) => a + (v - c.theta) ** 2, 0) / Math.max(1, cuts.length - 1));
    if (!o.dryRun) {
      const meta = exp.metadata['batchtopk'] as Record<string, unknown>;
      const next = {
        ...exp,
        threshold: new Float32Array(exp.dSae).fill(prevFloat32(c.theta)),
        metadata: {
          ...exp.metadata,
          batchtopk: {
            ...meta,
            theta: c.theta,
            calibration: { data: source.describe(), batchSize, batches, rows: c.rows, seed: o.seed, previousTheta: saved.theta },
          },
        },
      };
      replaceDirAtomic(path.resolve(o.sae), (tmp) => {
        writeSaelens(tmp, next);
        // Anything else in the folder (sparsity.safetensors, notes) comes along unchanged.
        for (const name of fs.readdirSync(o.sae)) {
          if (name !== CFG_FILE && name !== WEIGHTS_FILE) fs.cpSync(path.join(o.sae, name), path.join(tmp, name), { recursive: true });
        }
      });
    }
    return {
      sae: o.sae,
      data: o.data,
      k: saved.k,
      batchSize,
      batches,
      rows: c.rows,
      theta: c.theta,
      previousTheta: saved.theta,
      batchSd,
      written: !o.dryRun,
      backend: backendLabel(backend),
    };
  } finally {
    source.close();
  }
}
