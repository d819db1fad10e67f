// CE degradation of an SAE spliced into a language model (SAELens run_evals' ce_loss_score and
// kl_div_score): per batch the model runs three times, clean, with the residual entering block `layer`
// replaced by the SAE's reconstruction, and with it zero-ablated. Predictions made at BOS positions are left
// out (as SAELens does with its ignore tokens); nmse and L0 are taken on the same (non-BOS) rows.
//   ce_loss_score = (CE_zero - CE_sae) / (CE_zero - CE_clean)      (1: no degradation, 0: as bad as zero)
//   kl_div_score  = (KL_zero - KL_sae) / KL_zero, KL = mean over predictions of KL(p_clean || p_modified)
// By default the BOS rows themselves are not replaced (harvest leaves them out of training by default, so an
// SAE never saw that outlier); spliceBos replaces every position, as SAELens's replacement hook does.
import type { Backend, Storage } from '../backend/backend.js';
import { batches } from './lm.js';
import type { Transformer } from './transformer.js';

/** What is spliced in: a reconstruction of x [rows, d] (a new storage the caller frees) and L0 per row. */
export interface Reconstructor {
  reconstruct(x: Storage, rows: number): Promise<{ xhat: Storage; l0: Float32Array }>;
}

export interface CeOptions {
  layer: number;
  batchRows: number;
  spliceBos: boolean;
  progress?: ((line: string) => void) | null;
}

export interface CeResult {
  hook_name: string;
  /** Predictions scored (targets of non-BOS positions). */
  predictions: number;
  ce_clean: number;
  ce_sae: number;
  ce_zero: number;
  ce_loss_score: number;
  kl_sae: number;
  kl_zero: number;
  kl_div_score: number;
  /** On the non-BOS rows of the same documents. */
  nmse: number;
  l0: number;
  rows: number;
  splice_bos: boolean;
}

/** Row-wise log-softmax of logits (freed) into a new storage. */
function logProbs(be: Backend, logits: Storage, rows: number, vocab: number): Storage {
  const lp = be.alloc(rows * vocab, 'f32');
  be.logSoftmax(lp, logits, rows, vocab);
  be.free(logits);
  return lp;
}

/** Per row: -log p(target) (gathered on the device) and KL(clean || this), both read back. */
async function rowStats(be: Backend, lpClean: Storage, lp: Storage, targetIdx: Storage, rows: number, vocab: number): Promise<{ nll: Float32Array; kl: Float32Array }> {
  const g = be.alloc(rows, 'f32');
  be.gather(g, lp, targetIdx);
  const p = be.alloc(rows * vocab, 'f32');
  be.unary('exp', p, lpClean);
  const diff = be.alloc(rows * vocab, 'f32');
  be.binary('sub', diff, lpClean, 'full', lp, 'full', rows, vocab);
  const prod = be.alloc(rows * vocab, 'f32');
  be.binary('mul', prod, p, 'full', diff, 'full', rows, vocab);
  const kl = be.alloc(rows, 'f32');
  be.reduce('sum', kl, prod, rows, vocab, 1);
  const [nll, klv] = await Promise.all([be.read(g), be.read(kl)]);
  for (const s of [g, p, diff, prod, kl]) be.free(s);
  return { nll: (nll as Float32Array).map((v) => -v), kl: klv as Float32Array };
}

export async function ceDegradation(model: Transformer, docs: readonly Int32Array[], rec: Reconstructor, o: CeOptions): Promise<CeResult> {
  const be = model.be;
  const c = model.config;
  if (!(Number.isInteger(o.layer) && o.layer >= 0 && o.layer < c.nLayers)) {
    throw new Error(`layer ${o.layer} out of range: the model has ${c.nLayers} blocks (layers 0..${c.nLayers - 1})`);
  }
  const V = c.vocabSize;
  const d = c.dim;
  let n = 0;
  let ceClean = 0, ceSae = 0, ceZero = 0, klSae = 0, klZero = 0;
  let sse = 0, sumSq = 0, l0 = 0, rowsUsed = 0;
  const maxLen = docs.reduce((a, x) => Math.max(a, x.length), 1);
  const t0 = performance.now();
  let last = 0;
  for (const b of batches(docs, Math.max(o.batchRows, maxLen))) {
    const rows = b.seqs * b.len;
    // Rows whose prediction counts (a target, not a BOS position), rows whose stats count (real, not BOS),
    // rows spliced (real rows; BOS rows only with spliceBos).
    const scored: number[] = [];
    const real = new Uint8Array(rows);
    const mask = new Float32Array(rows);
    for (let s = 0; s < b.seqs; s++) {
      for (let t = 0; t < b.lengths[s]!; t++) {
        const r = s * b.len + t;
        real[r] = t > 0 ? 1 : 0;
        mask[r] = t > 0 || o.spliceBos ? 1 : 0;
        if (t > 0 && b.targets[r]! >= 0) scored.push(r);
      }
    }
    const idx = be.alloc(rows, 'i32');
    be.write(idx, Int32Array.from({ length: rows }, (_, r) => r * V + Math.max(0, b.targets[r]!)));
    const m = be.alloc(rows, 'f32');
    be.write(m, mask);
    // Clean run, keeping the residual at the layer.
    const x = be.alloc(rows * d, 'f32');
    const lpClean = logProbs(be, (await model.forward(b, { layer: o.layer, fn: (r) => be.copy(x, r) }))!, rows, V);
    const { xhat, l0: l0rows } = await rec.reconstruct(x, rows);
    // The residuals to splice in: x + m (xhat - x) and x - m x.
    const diff = be.alloc(rows * d, 'f32');
    be.binary('sub', diff, xhat, 'full', x, 'full', rows, d);
    const md = be.alloc(rows * d, 'f32');
    be.binary('mul', md, diff, 'full', m, 'col', rows, d);
    const spliced = be.alloc(rows * d, 'f32');
    be.binary('add', spliced, x, 'full', md, 'full', rows, d);
    const mx = be.alloc(rows * d, 'f32');
    be.binary('mul', mx, x, 'full', m, 'col', rows, d);
    const zeroed = be.alloc(rows * d, 'f32');
    be.binary('sub', zeroed, x, 'full', mx, 'full', rows, d);
    // nmse terms per row.
    const sq = be.alloc(rows * d, 'f32');
    be.unary('square', sq, diff);
    const sseRows = be.alloc(rows, 'f32');
    be.reduce('sum', sseRows, sq, rows, d, 1);
    be.unary('square', sq, x);
    const ssRows = be.alloc(rows, 'f32');
    be.reduce('sum', ssRows, sq, rows, d, 1);
    const [sseH, ssH] = await Promise.all([be.read(sseRows), be.read(ssRows)]);
    for (const s of [diff, md, mx, sq, sseRows, ssRows, xhat]) be.free(s);
    for (let r = 0; r < rows; r++) if (real[r]) {
      sse += sseH[r]!;
      sumSq += ssH[r]!;
      l0 += l0rows[r]!;
      rowsUsed++;
    }
    const run = async (replacement: Storage) => {
      const lp = logProbs(be, (await model.forward(b, { layer: o.layer, fn: (r) => be.copy(r, replacement) }))!, rows, V);
      const st = await rowStats(be, lpClean, lp, idx, rows, V);
      be.free(lp);
      return st;
    };
    const sae = await run(spliced);
    const zero = await run(zeroed);
    const clean = await rowStats(be, lpClean, lpClean, idx, rows, V);
    for (const r of scored) {
      ceClean += clean.nll[r]!;
      ceSae += sae.nll[r]!;
      ceZero += zero.nll[r]!;
      klSae += sae.kl[r]!;
      klZero += zero.kl[r]!;
      n++;
    }
    for (const s of [idx, m, x, lpClean, spliced, zeroed]) be.free(s);
    const now = performance.now();
    if (o.progress && now - last > 2000) {
      last = now;
      o.progress(`ce: ${b.first + b.seqs}/${docs.length} documents, ${n} predictions, ${Math.round(n / ((now - t0) / 1000))} tokens/s`);
    }
  }
  if (n === 0) throw new Error('ce: no predictions to score (documents need at least two tokens after BOS)');
  const r = {
    ce_clean: ceClean / n,
    ce_sae: ceSae / n,
    ce_zero: ceZero / n,
    kl_sae: klSae / n,
    kl_zero: klZero / n,
  };
  return {
    hook_name: `blocks.${o.layer}.hook_resid_pre`,
    predictions: n,
    ...r,
    ce_loss_score: (r.ce_zero - r.ce_sae) / (r.ce_zero - r.ce_clean),
    kl_div_score: (r.kl_zero - r.kl_sae) / r.kl_zero,
    nmse: sse / sumSq,
    l0: l0 / rowsUsed,
    rows: rowsUsed,
    splice_bos: o.spliceBos,
  };
}
