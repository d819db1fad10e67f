// Harvest residual-stream activations: run the model over documents, capture the stream entering block
// `layer` (TransformerLens blocks.<layer>.hook_resid_pre), and write .npy shards that `train --data <dir>`
// reads: acts_NNNNN.npy [rows, d] (f32 or f16), with side files tokens_NNNNN.npy and positions_NNNNN.npy
// (int32 [rows]) and manifest.json (listing the activation shards under "shards", the rule the shard folder
// reader follows). Shards hold exactly shardRows rows (the last fewer). The manifest is rewritten after
// every shard with the position of the next row to write (document, row within it), so an interrupted run
// continues where it stopped with the same options, and produces the same files as an uninterrupted one.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { f32ToF16Array } from '../data/half.js';
import { npyHeader } from '../data/npy.js';
import { withAtomicFile, writeJsonAtomic } from '../io/atomic.js';
import { batches } from './lm.js';
import type { LoadedModel } from './load.js';
import type { TextEncoding } from './text.js';
import { Transformer } from './transformer.js';

export interface HarvestOptions {
  textFile: string;
  /** How the text file was decoded (readDocuments); recorded, and a resume must use the same. Default utf8. */
  encoding?: TextEncoding;
  layer: number;
  out: string;
  seqLen?: number;
  maxTokens?: number;
  dtype: 'f16' | 'f32';
  shardRows: number;
  skipBos: boolean;
  /** Rows per forward pass (sequences x padded length). */
  batchRows: number;
  /** Stop (resumably) after writing this many full shards in this invocation. */
  stopAfterShards?: number;
  /** Progress lines (stderr), or null for none. */
  progress?: ((line: string) => void) | null;
}

export interface HarvestManifest {
  format: 'batchtopk-harvest-1';
  model: string;
  model_path: string;
  hook_name: string;
  layer: number;
  d_model: number;
  seq_len: number;
  context_size: number;
  tokenizer: string;
  text: string;
  /** Absent in manifests written before it was recorded: those read their text as (lossy) utf8. */
  encoding?: TextEncoding;
  dtype: 'f16' | 'f32';
  skip_bos: boolean;
  shard_rows: number;
  max_tokens: number | null;
  documents: number;
  documents_truncated: number;
  shards: string[];
  token_files: string[];
  position_files: string[];
  rows: number;
  complete: boolean;
  /** The first row not yet written: document index and row within it (after BOS skipping). */
  next: { doc: number; row: number };
}

export const hookName = (layer: number): string => `blocks.${layer}.hook_resid_pre`;
const shardName = (kind: string, i: number) => `${kind}_${String(i).padStart(5, '0')}.npy`;

function writeI32Npy(path: string, data: Int32Array): void {
  const dict = `{'descr': '<i4', 'fortran_order': False, 'shape': (${data.length},), }`;
  const pad = (64 - ((10 + dict.length + 1) % 64)) % 64;
  const text = dict + ' '.repeat(pad) + '\n';
  const hdr = new Uint8Array(10 + text.length);
  hdr.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >>> 8]);
  hdr.set(Buffer.from(text, 'latin1'), 10);
  withAtomicFile(path, (f) => {
    f.write(hdr);
    f.write(data);
  });
}

/**
 * f16 holds magnitudes up to 65504; larger activations (a real model's outlier dimensions can be) would be
 * written as +-inf and poison training. Counted before the shard is written, and refused.
 */
function checkF16Range(data: Float32Array, out: string, hook: string): void {
  let over = 0;
  let largest = 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    if (a >= 65520) over++; // the smallest f32 that rounds to inf in f16 (65504 + half an f16 step)
    if (a > largest) largest = a;
  }
  if (over > 0) {
    throw new Error(
      `harvest: ${over} value${over === 1 ? '' : 's'} of ${hook} exceed f16's range (largest |x| ${largest.toPrecision(6)}, f16 max 65504) and would be written as +-inf: ` +
        `harvest with --dtype f32 into a new --out folder (${out} holds f16 shards)`,
    );
  }
}

function writeActs(path: string, data: Float32Array, rows: number, d: number, dtype: 'f16' | 'f32'): void {
  withAtomicFile(path, (f) => {
    f.write(npyHeader(dtype, rows, d));
    f.write(dtype === 'f32' ? data : f32ToF16Array(data));
  });
}

/**
 * The manifest fields that define a harvest: a folder is continued only with the same values. The check is the
 * harvest command's (run/harvest.ts, with the other continuations' checkResume); harvest() itself continues
 * whatever the folder holds.
 */
export const HARVEST_DEFINING = ['model_path', 'layer', 'seq_len', 'text', 'encoding', 'dtype', 'skip_bos', 'shard_rows', 'max_tokens'] as const;
export type HarvestDefining = Pick<HarvestManifest, (typeof HARVEST_DEFINING)[number]>;

/** The defining fields a harvest of `lm` with these options writes to its manifest. */
export function harvestDefining(lm: LoadedModel, o: Pick<HarvestOptions, 'textFile' | 'encoding' | 'layer' | 'seqLen' | 'dtype' | 'skipBos' | 'shardRows' | 'maxTokens'>): HarvestDefining {
  return {
    model_path: lm.path,
    layer: o.layer,
    seq_len: o.seqLen ?? lm.weights.config.maxSeqLen,
    text: o.textFile,
    encoding: o.encoding ?? 'utf8',
    dtype: o.dtype,
    skip_bos: o.skipBos,
    shard_rows: o.shardRows,
    max_tokens: o.maxTokens ?? null,
  };
}

/** The harvest manifest in `dir`, or null when there is none; a damaged or foreign one is an error naming it. */
export function readHarvestManifest(dir: string): HarvestManifest | null {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return null;
  let old: HarvestManifest;
  try {
    old = JSON.parse(readFileSync(file, 'utf8')) as HarvestManifest;
  } catch (err) {
    throw new Error(`${file}: cannot read the harvest manifest (${(err as Error).message}); delete the folder's files to start over, or choose another --out`);
  }
  if (old === null || typeof old !== 'object' || old.format !== 'batchtopk-harvest-1') throw new Error(`${file}: not a batchtopk harvest manifest; choose an empty --out folder`);
  old.encoding ??= 'utf8';
  return old;
}

export async function harvest(be: Backend, lm: LoadedModel, docIds: Int32Array[], truncated: number, o: HarvestOptions): Promise<HarvestManifest> {
  const c = lm.weights.config;
  if (!(Number.isInteger(o.layer) && o.layer >= 0 && o.layer < c.nLayers)) {
    throw new Error(`--layer ${o.layer} out of range: ${lm.name} has ${c.nLayers} blocks, so layers 0..${c.nLayers - 1} (the residual stream entering that block)`);
  }
  const seqLen = o.seqLen ?? c.maxSeqLen;
  const d = c.dim;
  mkdirSync(o.out, { recursive: true });
  const manifestFile = join(o.out, 'manifest.json');
  const def = harvestDefining(lm, o);
  let m: HarvestManifest = {
    format: 'batchtopk-harvest-1',
    model: lm.name,
    model_path: def.model_path,
    hook_name: hookName(o.layer),
    layer: def.layer,
    d_model: d,
    seq_len: def.seq_len,
    context_size: seqLen,
    tokenizer: lm.tokenizer.name,
    text: def.text,
    encoding: def.encoding,
    dtype: def.dtype,
    skip_bos: def.skip_bos,
    shard_rows: def.shard_rows,
    max_tokens: def.max_tokens,
    documents: docIds.length,
    documents_truncated: truncated,
    shards: [],
    token_files: [],
    position_files: [],
    rows: 0,
    complete: false,
    next: { doc: 0, row: 0 },
  };
  const old = readHarvestManifest(o.out);
  if (old) {
    if (old.complete) {
      o.progress?.(`harvest: ${o.out} is already complete (${old.rows} rows in ${old.shards.length} shards)`);
      return old;
    }
    m = old;
    o.progress?.(`harvest: continuing ${o.out} at document ${m.next.doc} (${m.rows} rows in ${m.shards.length} shards already written)`);
  }
  const limit = o.maxTokens ?? Infinity;
  // Rows of the current shard being filled (acts, tokens, positions), and where its first row came from.
  const acts = new Float32Array(o.shardRows * d);
  const toks = new Int32Array(o.shardRows);
  const poss = new Int32Array(o.shardRows);
  let fill = 0;
  let total = m.rows;
  let next = { ...m.next };
  const flush = () => {
    if (fill === 0) return;
    const i = m.shards.length;
    if (o.dtype === 'f16') checkF16Range(acts.subarray(0, fill * d), o.out, hookName(o.layer));
    writeActs(join(o.out, shardName('acts', i)), acts.subarray(0, fill * d), fill, d, o.dtype);
    writeI32Npy(join(o.out, shardName('tokens', i)), toks.slice(0, fill));
    writeI32Npy(join(o.out, shardName('positions', i)), poss.slice(0, fill));
    m.shards.push(shardName('acts', i));
    m.token_files.push(shardName('tokens', i));
    m.position_files.push(shardName('positions', i));
    m.rows = total;
    m.next = { ...next };
    writeJsonAtomic(manifestFile, m);
    fill = 0;
  };
  const model = new Transformer(be, lm.weights);
  const t0 = performance.now();
  const startRows = total;
  const startShards = m.shards.length;
  let stopped = false;
  let lastNote = 0;
  try {
    const startDoc = m.next.doc;
    let skipRows = m.next.row;
    const rest = docIds.slice(startDoc);
    outer: for (const b of batches(rest, Math.max(o.batchRows, seqLen))) {
      let resid: Float32Array | null = null;
      await model.forward(b, {
        layer: o.layer,
        stop: true,
        fn: async (x) => {
          resid = (await be.read(x)) as Float32Array;
        },
      });
      for (let s = 0; s < b.seqs; s++) {
        const doc = startDoc + b.first + s;
        const first = o.skipBos ? 1 : 0;
        for (let t = first; t < b.lengths[s]!; t++) {
          const rowInDoc = t - first;
          if (doc === startDoc && rowInDoc < skipRows) continue;
          if (total >= limit) break outer;
          const r = s * b.len + t;
          acts.set(resid!.subarray(r * d, (r + 1) * d), fill * d);
          toks[fill] = b.tokens[r]!;
          poss[fill] = t;
          fill++;
          total++;
          // The row after this one.
          next = t + 1 < b.lengths[s]! ? { doc, row: rowInDoc + 1 } : { doc: doc + 1, row: 0 };
          if (fill === o.shardRows) {
            flush();
            if (o.stopAfterShards !== undefined && m.shards.length - startShards >= o.stopAfterShards && total < limit) {
              stopped = true;
              break outer;
            }
          }
        }
      }
      skipRows = 0;
      const now = performance.now();
      if (o.progress && now - lastNote > 2000) {
        lastNote = now;
        const rate = (total - startRows) / ((now - t0) / 1000);
        const done = startDoc + b.first + b.seqs;
        o.progress(`harvest: ${done}/${docIds.length} documents, ${total} rows, ${Math.round(rate)} tokens/s`);
      }
    }
    if (!stopped) {
      flush();
      m.rows = total;
      m.next = { ...next };
      m.complete = true;
      writeJsonAtomic(manifestFile, m);
    }
  } finally {
    model.dispose();
  }
  const s = (performance.now() - t0) / 1000;
  o.progress?.(
    `harvest: ${m.rows} rows of ${hookName(o.layer)} in ${m.shards.length} shards (${Math.round((m.rows - startRows) / Math.max(s, 1e-9))} tokens/s)` +
      (stopped ? ` -- stopped, run the same command again to continue` : ''),
  );
  return m;
}
