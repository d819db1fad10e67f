// Evaluation of a trained SAE over batches of original-space activations. By default with the
// batch-independent inference encoders (theta for batchtopk): the SAE a user gets. With
// `encoder: 'batchtopk'`, each given batch instead keeps its rows * k largest post-ReLU latents, as the
// BatchTopK paper's code evaluates (metrics then depend on how the rows are batched).
import type { Backend } from './backend/backend.js';
import * as o from './ops.js';
import { MetricsAccumulator, type EvalMetrics } from './metrics.js';
import type { SaeConfig, NormalizeMode } from './sae/config.js';
import { reconstructBatchTopK } from './sae/batch_encode.js';
import { reconstructInference } from './sae/inference.js';
import { prefixReconstructions } from './sae/matryoshka.js';
import { normalizeInput } from './sae/normalize.js';
import type { SaeParams } from './sae/params.js';
import { fromArray, tidy, type Tensor } from './tensor.js';
import { noGrad } from './autodiff/tape.js';

export interface EvalModel {
  params: SaeParams;
  cfg: SaeConfig;
  /** Inference threshold (batchtopk). */
  theta: number;
  normalize: NormalizeMode;
  normScale: number;
}

export interface EvaluateOptions {
  /** 'inference' (default): theta / stored thresholds / per-sample top-k; 'batchtopk': batch top-k with cfg.k. */
  encoder?: 'inference' | 'batchtopk';
}

/**
 * Matryoshka (cfg.matryoshkaWidths set): nmse of each prefix's reconstruction (latents < w_i, with b_dec) from
 * the same latents, narrowest first, Σ‖x − x̂_i‖² / Σ‖x‖² in the original space; the last is the full width.
 */
export type EvalResult = EvalMetrics & { prefixNmse?: number[] };

/** Evaluate over host batches (each [rows * dIn], any row count). */
export async function evaluate(backend: Backend, model: EvalModel, batches: Iterable<Float32Array>, opts: EvaluateOptions = {}): Promise<EvalResult> {
  const batchTopK = opts.encoder === 'batchtopk';
  const { dIn, dSae } = model.cfg;
  const acc = new MetricsAccumulator(dIn, dSae);
  const widths = model.cfg.matryoshkaWidths ?? [];
  const prefixSse = new Float64Array(widths.length);
  let sumSqAll = 0;
  for (const batch of batches) {
    if (batch.length === 0) continue;
    if (batch.length % dIn !== 0) throw new Error(`evaluate: batch of ${batch.length} values is not a multiple of dIn (${dIn})`);
    const rows = batch.length / dIn;
    const out = noGrad(() =>
      tidy(() => {
        const x = fromArray(backend, batch, [rows, dIn]);
        const nx = normalizeInput(x, model.normalize, model.normScale);
        const { f, xhat } = batchTopK ? reconstructBatchTopK(nx.x, model.params, model.cfg.k) : reconstructInference(nx.x, model.params, model.cfg, model.theta);
        const xhatRaw = nx.undo(xhat);
        const err = o.sub(x, xhatRaw);
        const colMean = o.mulScalar(o.sumAxis(x, 0), 1 / rows);
        const on = o.step(f);
        return {
          sse: o.sum(o.square(err)),
          sumSq: o.sum(o.square(x)),
          colMean,
          colM2: o.sumAxis(o.square(o.sub(x, colMean)), 0),
          l0: o.sumAxis(on, 1),
          fired: o.sumAxis(on, 0),
          // Per row, for cossim and l2_ratio (float64 on the host).
          dot: o.sumAxis(o.mul(x, xhatRaw), 1),
          xSq: o.sumAxis(o.square(x), 1),
          xhatSq: o.sumAxis(o.square(xhatRaw), 1),
          prefixSse: prefixReconstructions(f, model.params, widths).map((xh) => o.sum(o.square(o.sub(x, nx.undo(xh))))),
        };
      }),
    );
    const rd = async (t: Tensor) => {
      const v = (await t.read()) as Float32Array;
      t.free();
      return v;
    };
    const [sse, sumSq, colMean, colM2, l0, fired, dot, xSq, xhatSq] = await Promise.all([
      rd(out.sse),
      rd(out.sumSq),
      rd(out.colMean),
      rd(out.colM2),
      rd(out.l0),
      rd(out.fired),
      rd(out.dot),
      rd(out.xSq),
      rd(out.xhatSq),
    ]);
    acc.add({ rows, sse: sse[0]!, sumSq: sumSq[0]!, colMean, colM2, l0, fired, dot, xSq, xhatSq });
    sumSqAll += sumSq[0]!;
    for (const [i, t] of out.prefixSse.entries()) prefixSse[i]! += (await rd(t))[0]!;
  }
  const result: EvalResult = acc.result();
  if (widths.length) result.prefixNmse = Array.from(prefixSse, (v) => v / sumSqAll);
  return result;
}
