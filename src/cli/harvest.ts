// `batchtopk harvest --model <path> --text <file> --layer <n> --out <dir>`: residual-stream activations of a
// language model (model/harvest.ts) as .npy shards that `train --data <dir>` reads.
import type { Backend } from '../backend/backend.js';
import type { WorkloadHint } from '../backend/open.js';
import { harvest, type HarvestManifest } from '../model/harvest.js';
import { loadModel } from '../model/load.js';
import { readDocuments, tokenizeDocuments } from '../model/text.js';

export interface HarvestCliOptions {
  model: string;
  tokenizer?: string;
  text: string;
  layer: number;
  out: string;
  seqLen?: number;
  maxTokens?: number;
  dtype: 'f16' | 'f32';
  shardRows: number;
  skipBos: boolean;
  batchRows: number;
  stopAfterShards?: number;
  quiet: boolean;
}

export async function runHarvest(o: HarvestCliOptions, backendOrOpen: Backend | ((hint: WorkloadHint) => Promise<Backend>)): Promise<HarvestManifest> {
  const lm = loadModel(o.model, { tokenizer: o.tokenizer });
  const c = lm.weights.config;
  if (!(Number.isInteger(o.layer) && o.layer >= 0 && o.layer < c.nLayers)) {
    throw new Error(`--layer ${o.layer} out of range: ${lm.name} has ${c.nLayers} blocks, so layers 0..${c.nLayers - 1} (the residual stream entering that block)`);
  }
  const seqLen = o.seqLen ?? c.maxSeqLen;
  if (seqLen > c.maxSeqLen) throw new Error(`--seq-len ${seqLen} exceeds the model's context of ${c.maxSeqLen} tokens`);
  const note = o.quiet ? null : (l: string) => console.error(l);
  const texts = readDocuments(o.text);
  if (texts.length === 0) throw new Error(`${o.text}: no documents`);
  note?.(`harvest: ${lm.name} (${c.arch}, d ${c.dim}, ${c.nLayers} blocks), ${texts.length} documents from ${o.text}, tokenizing`);
  const { ids, truncated } = tokenizeDocuments(texts, lm.tokenizer, seqLen);
  // The workload hint is the model's size: `auto` prefers a software WebGPU adapter only for big models.
  const params = lm.weights.embed.length + lm.weights.blocks.reduce((a, b) => a + b.q.w.length * 4 + b.up.w.length * 3, 0);
  const be = typeof backendOrOpen === 'function' ? await backendOrOpen({ dIn: c.dim, dSae: Math.ceil(params / c.dim) }) : backendOrOpen;
  return harvest(be, lm, ids, truncated, {
    textFile: o.text,
    layer: o.layer,
    out: o.out,
    seqLen,
    maxTokens: o.maxTokens,
    dtype: o.dtype,
    shardRows: o.shardRows,
    skipBos: o.skipBos,
    batchRows: o.batchRows,
    stopAfterShards: o.stopAfterShards,
    progress: note,
  });
}
