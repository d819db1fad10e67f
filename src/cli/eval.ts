// `batchtopk eval <sae-dir> --data <file>`: inference metrics of a saved SAE (ours or SAELens-written)
// on activations, with the batch-independent encoder (theta / stored thresholds): the SAE a user gets. For a
// BatchTopK SAE of ours it also reports, on the same rows in batches of --batch-size, the batch-top-k
// metrics of the same weights (how the paper's code evaluates), so the two can be compared in one command.
import type { Backend } from '../backend/backend.js';
import { backendLabel, type WorkloadHint } from '../backend/open.js';
import { DataError } from '../data/errors.js';
import { openSource, ShardedSource } from '../data/source.js';
import { evaluate } from '../eval.js';
import { readSae } from '../io/saelens.js';
import type { EvalMetrics } from '../metrics.js';
import { fromSaeExport, savedBatchTopK } from '../sae/export.js';
import { paramList, uploadParams } from '../sae/params.js';

export interface EvalOptions {
  sae: string;
  data: string;
  tensor?: string;
  /** Shard glob for a --data directory. */
  shards?: string;
  batchSize: number;
  /** Where to say which shards were read (stderr in the CLI). */
  log?: (line: string) => void;
  /** Evaluate at most this many rows (from the start). */
  maxRows?: number;
}

export interface EvalSummary extends EvalMetrics {
  architecture: string;
  dIn: number;
  dictSize: number;
  threshold: number | null;
  backend: string;
  /** BatchTopK SAEs: the same weights with batch top-k over batches of `batchSize` rows (the last may be short). */
  batchTopK: (EvalMetrics & { k: number; batchSize: number }) | null;
}

/** `backend` may be a factory, called only once the SAE and the data have been opened and checked. */
export async function runEval(o: EvalOptions, backendOrOpen: Backend | ((hint: WorkloadHint) => Promise<Backend>)): Promise<EvalSummary> {
  const exp = readSae(o.sae);
  const { model, params: host, theta } = fromSaeExport(exp);
  const source = openSource(o.data, { tensor: o.tensor, shards: o.shards });
  try {
    if (source instanceof ShardedSource) o.log?.(source.listing());
    if (source.dIn !== exp.dIn) throw new DataError(`${o.data}: rows have d=${source.dIn} but the SAE in ${o.sae} expects d_in=${exp.dIn}`);
    const backend = typeof backendOrOpen === 'function' ? await backendOrOpen({ dIn: exp.dIn, dSae: exp.dSae }) : backendOrOpen;
    const params = uploadParams(backend, model.cfg, host);
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
    let metrics;
    let batchTopK: EvalSummary['batchTopK'] = null;
    try {
      metrics = await evaluate(backend, { ...model, params }, batches());
      if (btk) {
        const m = await evaluate(backend, { ...model, params, cfg: { ...model.cfg, k: btk.k } }, batches(), { encoder: 'batchtopk' });
        batchTopK = { k: btk.k, batchSize: o.batchSize, ...m };
      }
    } finally {
      for (const p of paramList(params)) p.free();
    }
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
