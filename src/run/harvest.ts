// `batchtopk harvest --model <path> --text <file> --layer <n> --out <dir>`: residual-stream activations of a
// language model (model/harvest.ts) as .npy shards that `train --data <dir>` reads.
import { resolveBackend, type BackendOrOpen } from './backend.js';
import { OPTIONS } from './options.js';
import { flagOf, resolveOptions, type Schema } from './schema.js';
import { HARVEST_DEFINING, harvest, harvestDefining, readHarvestManifest, type HarvestManifest, type HarvestOptions } from '../model/harvest.js';
import { checkResume } from './resume.js';
import { harvestPart } from '../model/harvest_parts.js';
import { mergeParts } from '../model/parts.js';
import { OptionError } from './errors.js';
import { checkHarvestInputs, modelFiles } from './harvest_inputs.js';
import { lockHarvestFolder } from './lock.js';
import { partDir } from '../model/parts.js';
import * as path from 'node:path';
import { loadModel } from '../model/load.js';
import { formatTokenizeProgress, readDocuments, tokenizeDocuments } from '../model/text.js';

/** The harvest's own options (model/harvest.ts), with the model, tokenizer and documents to read. */
export interface HarvestRunOptions extends Omit<HarvestOptions, 'textFile' | 'progress'> {
  model: string;
  tokenizer?: string;
  text: string;
  /** The name written to manifest.json (default: model/load.ts modelNameOf). */
  modelName?: string;
  quiet: boolean;
  /** Split the documents into this many contiguous parts (model/parts.ts)... */
  parts?: number;
  /** ...and harvest this one (0-based, as $SLURM_ARRAY_TASK_ID) into <out>/part-<i>-of-<n>/. */
  part?: number;
}

export const HARVEST_SCHEMA: Schema<HarvestRunOptions> = {
  model: OPTIONS.model,
  tokenizer: OPTIONS.tokenizer,
  text: OPTIONS.text,
  encoding: OPTIONS.encoding,
  modelName: { kind: 'string', arg: 'name', help: "model_name written to manifest.json and the SAE's cfg.json (default: the repo id of a Hugging Face cache snapshot or config.json's _name_or_path, else the folder name)" },
  layer: { kind: 'int', min: 0, arg: 'n', help: 'Residual stream entering block n (blocks.n.hook_resid_pre, HF hidden_states[n])' },
  out: { kind: 'string', arg: 'dir', help: 'Output folder: acts_*.npy, tokens_*.npy, positions_*.npy, manifest.json' },
  seqLen: { kind: 'int', min: 2, arg: 'n', help: "Tokens per document, BOS included; longer documents are cut (default: the model's context)" },
  maxTokens: { kind: 'int', min: 1, arg: 'n', help: 'Stop after this many rows' },
  dtype: { kind: 'choice', choices: ['f32', 'f16'], arg: 't', default: 'f32', help: 'f32 | f16' },
  shardRows: { kind: 'int', min: 1, arg: 'n', default: 262144, help: 'Rows per shard' },
  skipBos: { kind: 'boolean', negatable: true, default: true, help: 'Keep the BOS rows (by default they are left out: one repeated outlier vector)' },
  batchRows: OPTIONS.batchRows,
  stopAfterShards: { kind: 'int', min: 1, arg: 'n', help: 'Stop after writing n shards (run the same command again to continue)' },
  parts: { kind: 'int', min: 1, arg: 'n', help: 'Split the documents into n contiguous parts (with --part, or --slurm for all of them)' },
  part: { kind: 'int', min: 0, arg: 'i', help: 'Harvest part i (0-based, like $SLURM_ARRAY_TASK_ID) into <out>/part-...; the last part to finish writes <out>/manifest.json' },
  quiet: OPTIONS.quiet,
};

export async function runHarvest(given: Partial<HarvestRunOptions> & Pick<HarvestRunOptions, 'model' | 'text' | 'layer' | 'out'>, backendOrOpen: BackendOrOpen): Promise<HarvestManifest> {
  const o = resolveOptions(HARVEST_SCHEMA, given);
  if ((o.parts === undefined) !== (o.part === undefined)) throw new OptionError('--parts <n> and --part <i> go together (or --parts <n> --slurm to submit every part)');
  if (o.parts !== undefined && o.part! >= o.parts) throw new OptionError(`--part ${o.part} out of range: --parts ${o.parts} has parts 0..${o.parts - 1}`);
  const lm = loadModel(o.model, { tokenizer: o.tokenizer, modelName: o.modelName });
  const c = lm.weights.config;
  if (!(Number.isInteger(o.layer) && o.layer >= 0 && o.layer < c.nLayers)) {
    throw new Error(`--layer ${o.layer} out of range: ${lm.name} has ${c.nLayers} blocks, so layers 0..${c.nLayers - 1} (the residual stream entering that block)`);
  }
  const seqLen = o.seqLen ?? c.maxSeqLen;
  if (seqLen > c.maxSeqLen) throw new Error(`--seq-len ${seqLen} exceeds the model's context of ${c.maxSeqLen} tokens`);
  const note = o.quiet ? null : (l: string) => console.error(l);
  const texts = readDocuments(o.text, { encoding: o.encoding });
  if (texts.length === 0) throw new Error(`${o.text}: no documents`);
  note?.(`harvest: ${lm.name} (${c.arch}, d ${c.dim}, ${c.nLayers} blocks), ${texts.length} documents from ${o.text}, tokenizing`);
  // The workload hint is the model's size: `auto` prefers a software WebGPU adapter only for big models.
  const params = lm.weights.embed.length + lm.weights.blocks.reduce((a, b) => a + b.q.w.length * 4 + b.up.w.length * 3, 0);
  const hint = { dIn: c.dim, dSae: Math.ceil(params / c.dim) };
  const opts = { ...o, textFile: o.text, seqLen, progress: note };
  // One process per folder (parts run side by side in one --out: each holds its own part's folder), and a
  // folder is continued only from the same input files.
  const dir = o.parts !== undefined ? path.join(o.out, partDir(o.parts, o.part!)) : o.out;
  const lock = lockHarvestFolder(dir, note ?? undefined);
  try {
    checkHarvestInputs(dir, { '--text': [o.text], '--model': modelFiles(lm.path), ...(o.tokenizer ? { '--tokenizer': [o.tokenizer] } : {}) });
    checkContinuation(dir, harvestDefining(lm, opts));
    if (o.parts !== undefined) {
      // One part: it tokenizes only its own documents; the last part to finish merges the folder.
      const r = await harvestPart(await resolveBackend(backendOrOpen, hint), lm, texts, { ...opts, parts: o.parts, part: o.part! });
      return r.merged ?? r.part;
    }
    const { ids, truncated } = tokenizeDocuments(texts, lm.tokenizer, seqLen, { progress: note && ((p) => note(formatTokenizeProgress(p))) });
    return await harvest(await resolveBackend(backendOrOpen, hint), lm, ids, truncated, opts);
  } finally {
    lock.release();
  }
}

/** The option each defining manifest field comes from (HARVEST_DEFINING), named by its flag in refusals. */
const OPTION_OF_FIELD: Record<(typeof HARVEST_DEFINING)[number], keyof HarvestRunOptions> = {
  model_path: 'model',
  layer: 'layer',
  seq_len: 'seqLen',
  text: 'text',
  encoding: 'encoding',
  dtype: 'dtype',
  skip_bos: 'skipBos',
  shard_rows: 'shardRows',
  max_tokens: 'maxTokens',
};

/** A folder holding an unfinished (or finished) harvest is continued only with the options it was made with. */
function checkContinuation(dir: string, now: Record<string, unknown>): void {
  const old = readHarvestManifest(dir);
  if (!old) return;
  checkResume({
    what: `${dir}: the harvest in this folder`,
    saved: old as unknown as Record<string, unknown>,
    now,
    keys: HARVEST_DEFINING,
    fix: 'continue it with the same options, or choose another --out',
    nameOf: (k) => flagOf(OPTION_OF_FIELD[k as (typeof HARVEST_DEFINING)[number]]),
  });
}

export const HARVEST_MERGE_SCHEMA: Schema<{ merge?: string }> = {
  merge: { kind: 'string', arg: 'dir', help: "Write <dir>/manifest.json from its complete parts (what the last part to finish does); nothing else is run" },
};

/** `harvest --merge <dir>`: <dir>/manifest.json from its complete parts, as the last part writes it. */
export function runHarvestMerge(dir: string): HarvestManifest {
  return mergeParts(dir);
}
