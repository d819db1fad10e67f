// Language-model measurements on the forward pass: documents packed into batches, per-token log-probabilities
// of the next token (log-softmax and the gather of each target on the device; only one value per row comes
// back), and greedy decoding.
import type { Backend, Storage } from '../backend/backend.js';
import type { Batch, Transformer } from './transformer.js';

/**
 * Pack documents (each already starting with BOS) into batches of at most `maxRows` rows: sequences are
 * padded to the longest in the batch (pad id 0 after the end; causal attention ignores it).
 * `targets[r]` is the next token of row r, or -1 where there is none (last token, padding).
 */
export function* batches(docs: readonly Int32Array[], maxRows: number): Generator<Batch & { targets: Int32Array; lengths: number[]; first: number }> {
  let i = 0;
  while (i < docs.length) {
    const start = i;
    let len = docs[i]!.length;
    i++;
    while (i < docs.length && Math.max(len, docs[i]!.length) * (i - start + 1) <= maxRows) {
      len = Math.max(len, docs[i]!.length);
      i++;
    }
    const seqs = i - start;
    const rows = seqs * len;
    const tokens = new Int32Array(rows);
    const positions = new Int32Array(rows);
    const targets = new Int32Array(rows).fill(-1);
    const lengths: number[] = [];
    for (let s = 0; s < seqs; s++) {
      const d = docs[start + s]!;
      lengths.push(d.length);
      tokens.set(d, s * len);
      for (let t = 0; t < len; t++) positions[s * len + t] = t;
      for (let t = 0; t + 1 < d.length; t++) targets[s * len + t] = d[t + 1]!;
    }
    yield { tokens, positions, seqs, len, targets, lengths, first: start };
  }
}

/** log p(target) for each row with a target (NaN elsewhere), from logits [rows, vocab] on the device. */
export async function targetLogProbs(be: Backend, logits: Storage, targets: Int32Array, vocab: number): Promise<Float64Array> {
  const rows = targets.length;
  const lp = be.alloc(rows * vocab, 'f32');
  be.logSoftmax(lp, logits, rows, vocab);
  const out = new Float64Array(rows).fill(NaN);
  const idx: number[] = [];
  const which: number[] = [];
  for (let r = 0; r < rows; r++) if (targets[r]! >= 0) {
    idx.push(r * vocab + targets[r]!);
    which.push(r);
  }
  if (idx.length > 0) {
    const is = be.alloc(idx.length, 'i32');
    be.write(is, Int32Array.from(idx));
    const g = be.alloc(idx.length, 'f32');
    be.gather(g, lp, is);
    const v = await be.read(g);
    which.forEach((r, i) => (out[r] = v[i]!));
    be.free(is);
    be.free(g);
  }
  be.free(lp);
  return out;
}

/** Mean next-token loss (nats) over documents, with the number of predictions. */
export async function nextTokenLoss(model: Transformer, docs: readonly Int32Array[], maxRows = 4096): Promise<{ loss: number; predictions: number }> {
  let sum = 0;
  let n = 0;
  for (const b of batches(docs, maxRows)) {
    const logits = (await model.forward(b))!;
    const lp = await targetLogProbs(model.be, logits, b.targets, model.config.vocabSize);
    model.be.free(logits);
    for (const v of lp) if (!Number.isNaN(v)) {
      sum -= v;
      n++;
    }
  }
  return { loss: sum / n, predictions: n };
}

/** Greedy decoding from `prompt` until `total` tokens (prompt included) or `stopId` is produced. */
export async function greedy(model: Transformer, prompt: readonly number[], total: number, stopId?: number): Promise<number[]> {
  const ids = [...prompt];
  const V = model.config.vocabSize;
  while (ids.length < total) {
    const len = ids.length;
    const logits = (await model.forward({ tokens: Int32Array.from(ids), positions: Int32Array.from(ids, (_, i) => i), seqs: 1, len }))!;
    const all = await model.be.read(logits);
    model.be.free(logits);
    let best = 0;
    for (let v = 1; v < V; v++) if (all[(len - 1) * V + v]! > all[(len - 1) * V + best]!) best = v;
    if (best === stopId) break;
    ids.push(best);
  }
  return ids;
}
