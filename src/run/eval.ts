// `batchtopk eval <sae-dir> --data <file>`: inference metrics of a saved SAE (ours or SAELens-written)
// on activations, with the batch-independent encoder (theta / stored thresholds): the SAE a user gets. For a
// BatchTopK SAE of ours it also reports, on the same rows in batches of --batch-size, the batch-top-k
// metrics of the same weights (how the paper's code evaluates), so the two can be compared in one command.
import { backendLabel } from '../backend/open.js';
import { DataError } from '../data/errors.js';
import { openSource, ShardedSource } from '../data/source.js';
import { evaluate, type EvalResult } from '../eval.js';
import type { EvalMetrics } from '../metrics.js';
import { savedBatchTopK } from '../sae/export.js';
import { TRAIN_DEFAULTS } from '../train/config.js';
import { resolveBackend, type BackendOrOpen } from './backend.js';
import { readSavedSae, withUploadedSae } from './saved_sae.js';
import { resolveOptions, type Schema } from './schema.js';
import { OPTIONS } from './options.js';

export interface EvalOptions {
  /** The SAELens folder (the command's argument). */
  sae: string;
  data: string;
  tensor?: string;
  /** Shard glob for a --data directory. */
  shards?: string;
  batchSize: number;
  /** Evaluate at most this many rows (from the start). */
  maxRows?: number;
}

export const EVAL_SCHEMA: Schema<EvalOptions> = {
  sae: OPTIONS.sae,
  data: OPTIONS.data,
  tensor: OPTIONS.tensor,
  shards: OPTIONS.shards,
  batchSize: { kind: 'int', min: 1, arg: 'n', default: TRAIN_DEFAULTS.batchSize, help: 'Rows per evaluation batch; for BatchTopK SAEs also the batch of the batch-top-k metrics' },
  maxRows: { kind: 'int', min: 1, arg: 'n', help: 'Evaluate at most this many rows' },
};

export interface EvalSummary extends EvalResult {
  architecture: string;
  dIn: number;
  dictSize: number;
  threshold: number | null;
  backend: string;
  /** BatchTopK SAEs: the same weights with batch top-k over batches of `batchSize` rows (the last may be short). */
  batchTopK: (EvalMetrics & { k: number; batchSize: number }) | null;
}

/**
 * `backend` may be an opener, called only once the SAE and the data have been opened and checked; `log` says
 * which shards were read (stderr in the CLI).
 */
export async function runEval(given: Partial<EvalOptions> & Pick<EvalOptions, 'sae' | 'data'>, backendOrOpen: BackendOrOpen, log?: (line: string) => void): Promise<EvalSummary> {
  const o = resolveOptions(EVAL_SCHEMA, given);
  const sae = readSavedSae(o.sae);
  const { exp, theta } = sae;
  const source = openSource(o.data, { tensor: o.tensor, shards: o.shards });
  try {
    if (source instanceof ShardedSource) log?.(source.listing());
    if (source.dIn !== exp.dIn) throw new DataError(`${o.data}: rows have d=${source.dIn} but the SAE in ${o.sae} expects d_in=${exp.dIn}`);
    const backend = await resolveBackend(backendOrOpen, { dIn: exp.dIn, dSae: exp.dSae });
    const rows = Math.min(source.rows, o.maxRows ?? Infinity);
    const batches = function* () {
      const buf = new Float32Array(o.batchSize * source.dIn);
      for (let start = 0; start < rows; start += o.batchSize) {
        const n = Math.min(o.batchSize, rows - start);
        source.readRows(start, n, buf);
        const view = buf.subarray(0, n * source.dIn);
        // NaN/Inf rows are skipped, as in training.
        yield finiteRows(view, source.dIn);
      }
    };
    const btk = savedBatchTopK(exp);
    const { metrics, batchTopK } = await withUploadedSae(backend, sae, async (model) => {
      const metrics = await evaluate(backend, model, batches());
      let batchTopK: EvalSummary['batchTopK'] = null;
      if (btk) {
        const m = await evaluate(backend, { ...model, cfg: { ...model.cfg, k: btk.k } }, batches(), { encoder: 'batchtopk' });
        batchTopK = { k: btk.k, batchSize: o.batchSize, ...m };
      }
      return { metrics, batchTopK };
    });
    return { architecture: exp.architecture, dIn: exp.dIn, dictSize: exp.dSae, threshold: theta > 0 ? theta : null, backend: backendLabel(backend), ...metrics, batchTopK };
  } finally {
    source.close();
  }
}

function finiteRows(a: Float32Array, d: number): Float32Array {
  let bad = false;
  for (const v of a) if (!Number.isFinite(v)) bad = true;
  if (!bad) return a;
  const keep: number[] = [];
  for (let r = 0; r < a.length / d; r++) if (a.subarray(r * d, (r + 1) * d).every(Number.isFinite)) keep.push(r);
  const out = new Float32Array(keep.length * d);
  keep.forEach((r, i) => out.set(a.subarray(r * d, (r + 1) * d), i * d));
  return out;
}
