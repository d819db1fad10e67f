// `harvest --parts N --part i`: harvest one part of the documents (parts.ts) with the ordinary harvest into
// <out>/part-<i>-of-<N>/, then merge <out> when this was the last part to complete. What runHarvest calls
// instead of tokenizing every document and calling harvest() when --parts is given.
import * as path from 'node:path';
import type { Backend } from '../backend/backend.js';
import { harvest, type HarvestManifest, type HarvestOptions } from './harvest.js';
import type { LoadedModel } from './load.js';
import { mergeIfComplete, partDir, planPart, writePartInfo, type MergedManifest, type PartPlan } from './parts.js';
import { tokenizeDocuments } from './text.js';

export interface HarvestPartOptions extends HarvestOptions {
  parts: number;
  /** 0-based, as Slurm's $SLURM_ARRAY_TASK_ID. */
  part: number;
}

export interface HarvestPartResult {
  plan: PartPlan;
  /** The part's own manifest (<out>/part-<i>-of-<N>/manifest.json). */
  part: HarvestManifest;
  /** <out>/manifest.json when this part completed the set, else null (other parts still to come). */
  merged: MergedManifest | null;
}

/**
 * Harvest part `o.part` of `texts` (every document of the harvest, in order: the split is by position in this
 * list). Only this part's documents are tokenized, and with --max-tokens those before it too (to know
 * where the limit falls), so a part costs its share of the work.
 */
export async function harvestPart(be: Backend, lm: LoadedModel, texts: readonly string[], o: HarvestPartOptions): Promise<HarvestPartResult> {
  const seqLen = o.seqLen ?? lm.weights.config.maxSeqLen;
  const rowsOf = (doc: number): number => {
    const n = tokenizeDocuments([texts[doc]!], lm.tokenizer, seqLen).ids[0]!.length;
    return Math.max(0, n - (o.skipBos ? 1 : 0));
  };
  const plan = planPart({ documents: texts.length, parts: o.parts, part: o.part, maxTokens: o.maxTokens, rowsOf });
  const dir = path.join(o.out, partDir(o.parts, o.part));
  writePartInfo(dir, plan);
  // documents_truncated counts over the whole range, as a single harvest counts over every document.
  const { ids, truncated } = tokenizeDocuments(texts.slice(plan.doc_start, plan.doc_end), lm.tokenizer, seqLen);
  const part = await harvest(be, lm, ids.slice(0, plan.harvest_end - plan.doc_start), truncated, {
    ...o,
    out: dir,
    seqLen,
    maxTokens: plan.part_max_tokens,
    progress: o.progress && ((line) => o.progress!(`part ${o.part}/${o.parts}: ${line}`)),
  });
  const merged = part.complete ? mergeIfComplete(o.out, o.parts) : null;
  if (merged) o.progress?.(`harvest: all ${o.parts} parts complete, merged: ${merged.rows} rows in ${merged.shards.length} shards listed in ${path.join(o.out, 'manifest.json')}`);
  return { plan, part, merged };
}
