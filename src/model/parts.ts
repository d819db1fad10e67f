// A harvest in parts: the documents split into N contiguous ranges, part i harvested on its own (another
// process, another node) into <out>/part-<i>-of-<N>/ by the ordinary resumable harvest, and, once every part
// is complete, a merge that makes <out> read exactly as one harvest of all the documents: its manifest.json
// lists every part's shards in document order, under the global names a single harvest uses
// (acts_00000.npy, ...), hard-linked from the part folders (copied where the file system has no hard links).
// Shard boundaries differ from a single harvest's (each part's last shard is short); the rows, read in
// order, are the same. --max-tokens keeps its meaning over the whole harvest: a part knows how many rows the
// parts before it write from the token counts of their documents, and stops where a single harvest would.
//
// A part's folder holds part.json (which range of which split, written before the harvest starts) and the
// part's own manifest.json (the harvest's, so a killed part resumes where it stopped). The merge is
// idempotent and safe to run from two processes at once (the last two parts finishing together): every file
// it writes is written to a temporary name and renamed, and every writer writes the same bytes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeJsonAtomic } from '../io/atomic.js';
import type { HarvestManifest } from './harvest.js';

export const PART_FORMAT = 'batchtopk-harvest-part-1';

/** <out>/manifest.json after a merge: a single harvest's manifest, plus how many parts it was made of. */
export type MergedManifest = HarvestManifest & { parts: number };

/** part.json: which documents a part covers. */
export interface PartInfo {
  format: typeof PART_FORMAT;
  part: number;
  parts: number;
  /** Documents of the whole harvest. */
  documents: number;
  /** This part's range of documents, [doc_start, doc_end). */
  doc_start: number;
  doc_end: number;
  /** --max-tokens of the whole harvest (null: none). */
  max_tokens: number | null;
  /** Rows written by the parts before this one (null when not needed: no --max-tokens). */
  row_start: number | null;
}

const pad = (i: number) => String(i).padStart(5, '0');

/** The folder of part `part` (0-based) of `parts`, inside the harvest's --out. */
export const partDir = (parts: number, part: number): string => `part-${pad(part)}-of-${pad(parts)}`;

function checkPart(parts: number, part: number): void {
  if (!(Number.isInteger(parts) && parts >= 1)) throw new Error(`--parts ${parts}: expects a whole number >= 1`);
  if (!(Number.isInteger(part) && part >= 0 && part < parts)) throw new Error(`--part ${part}: expects a whole number from 0 to ${parts - 1} (parts are numbered from 0, as Slurm's array tasks)`);
}

/**
 * Documents [start, end) of part `part` of `parts`: contiguous, in order, covering [0, nDocs) exactly once,
 * sizes differing by at most one (a part may be empty when there are more parts than documents).
 */
export function partRange(nDocs: number, parts: number, part: number): [number, number] {
  checkPart(parts, part);
  if (!(Number.isInteger(nDocs) && nDocs >= 0)) throw new Error(`partRange: ${nDocs} documents`);
  const at = (p: number) => Math.floor((p * nDocs) / parts);
  return [at(part), at(part + 1)];
}

export interface PartPlan extends PartInfo {
  /** Harvest documents [doc_start, harvest_end) only: --max-tokens ends the harvest before doc_end. */
  harvest_end: number;
  /** The row limit to give this part's harvest (undefined: none). */
  part_max_tokens?: number;
}

/**
 * What part `part` harvests. `rowsOf(doc)` is the number of rows document `doc` gives (its tokens, less BOS
 * when BOS rows are skipped); it is asked only with --max-tokens, only for documents up to this part's end,
 * and no further than the limit needs.
 */
export function planPart(o: { documents: number; parts: number; part: number; maxTokens?: number; rowsOf: (doc: number) => number }): PartPlan {
  const [start, end] = partRange(o.documents, o.parts, o.part);
  const base: PartInfo = { format: PART_FORMAT, part: o.part, parts: o.parts, documents: o.documents, doc_start: start, doc_end: end, max_tokens: o.maxTokens ?? null, row_start: null };
  if (o.maxTokens === undefined) return { ...base, harvest_end: end };
  let before = 0;
  for (let d = 0; d < start && before < o.maxTokens; d++) before += o.rowsOf(d);
  const left = Math.max(0, o.maxTokens - before);
  let stop = start;
  for (let got = 0; stop < end && got < left; stop++) got += o.rowsOf(stop);
  return { ...base, row_start: Math.min(before, o.maxTokens), harvest_end: stop, part_max_tokens: left };
}

function readJson<T>(file: string): T | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); delete the part's folder to harvest it again`);
  }
}

/**
 * Record (or check) a part's range before it harvests: a folder already holding another split's part is an
 * error, so parts of different --parts or document lists never mix.
 */
export function writePartInfo(dir: string, info: PartInfo): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'part.json');
  const old = readJson<PartInfo>(file);
  if (old) {
    const keys = Object.keys(info) as (keyof PartInfo)[];
    const diff = keys.filter((k) => JSON.stringify(old[k]) !== JSON.stringify(info[k]));
    if (diff.length) throw new Error(`${file} was written for another split (${diff.map((k) => `${k} ${JSON.stringify(old[k])}, now ${JSON.stringify(info[k])}`).join('; ')}): use the same --parts, --text and --max-tokens, or another --out`);
    return;
  }
  writeJsonAtomic(file, { format: info.format, part: info.part, parts: info.parts, documents: info.documents, doc_start: info.doc_start, doc_end: info.doc_end, max_tokens: info.max_tokens, row_start: info.row_start });
}

/** A part folder whose harvest has completed (part.json and a complete manifest.json). */
export function partFinished(dir: string): boolean {
  try {
    return readJson<PartInfo>(path.join(dir, 'part.json')) !== null && readJson<HarvestManifest>(path.join(dir, 'manifest.json'))?.complete === true;
  } catch {
    return false;
  }
}

/** The parts of `out` not yet complete (0-based), out of `parts`. */
export function unfinishedParts(out: string, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => i).filter((i) => !partFinished(path.join(out, partDir(parts, i))));
}

/** The number of parts the part folders of `out` were made for, from their names; an error when none or mixed. */
export function partsOf(out: string): number {
  const counts = new Set<number>();
  for (const n of fs.existsSync(out) ? fs.readdirSync(out) : []) {
    const m = /^part-\d{5}-of-(\d{5})$/.exec(n);
    if (m) counts.add(Number(m[1]));
  }
  if (counts.size === 0) throw new Error(`${out}: no part folders (part-NNNNN-of-NNNNN); harvest the parts first (harvest --parts N --part i)`);
  if (counts.size > 1) throw new Error(`${out}: part folders of different splits (--parts ${[...counts].sort((a, b) => a - b).join(', ')}); keep one split's folders`);
  return [...counts][0]!;
}

/** Fields every part must share (what a single harvest's manifest says once). */
const SHARED = ['format', 'model', 'model_path', 'hook_name', 'layer', 'd_model', 'seq_len', 'context_size', 'tokenizer', 'text', 'encoding', 'dtype', 'skip_bos', 'shard_rows'] as const;

const shardName = (kind: string, i: number) => `${kind}_${pad(i)}.npy`;

let counter = 0;
// Two merges may run at once on different nodes (or in containers with the same pids): name the writer fully.
const WRITER = `${os.hostname()}-${process.pid}-${process.hrtime.bigint().toString(36)}`;

/** `dest` becomes the file `src` (a hard link, or a copy where links are refused), atomically; skipped when it already is. */
function place(src: string, dest: string): void {
  const s = fs.statSync(src);
  const d = fs.statSync(dest, { throwIfNoEntry: false });
  if (d && d.ino === s.ino && d.dev === s.dev) return;
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.tmp-${WRITER}-${counter++}`);
  try {
    fs.linkSync(src, tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
    fs.copyFileSync(src, tmp);
  }
  fs.renameSync(tmp, dest);
}

/**
 * Merge the complete parts of `out` (all `parts` of them; by default the count the part folders name) into
 * <out>/manifest.json. An error names the parts still missing or unfinished.
 */
export function mergeParts(out: string, parts = partsOf(out)): MergedManifest {
  checkPart(parts, 0);
  const missing = unfinishedParts(out, parts);
  if (missing.length) {
    throw new Error(`${out}: ${missing.length} of ${parts} parts not complete (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}); run those parts (harvest --parts ${parts} --part i), then merge`);
  }
  const top = path.join(out, 'manifest.json');
  const old = readJson<Partial<MergedManifest>>(top);
  if (old && old.parts !== parts) {
    throw new Error(old.parts === undefined ? `${top} is a single harvest's manifest, not a merge of parts: merge into another --out` : `${top} merges ${old.parts} parts, not ${parts}: keep one split's folders`);
  }
  const dirs = Array.from({ length: parts }, (_, i) => path.join(out, partDir(parts, i)));
  const infos = dirs.map((d) => readJson<PartInfo>(path.join(d, 'part.json'))!);
  const mans = dirs.map((d) => readJson<HarvestManifest>(path.join(d, 'manifest.json'))!);
  const first = mans[0]!;
  infos.forEach((inf, i) => {
    const [s, e] = partRange(infos[0]!.documents, parts, i);
    if (inf.part !== i || inf.parts !== parts || inf.documents !== infos[0]!.documents || inf.doc_start !== s || inf.doc_end !== e || inf.max_tokens !== infos[0]!.max_tokens) {
      throw new Error(`${dirs[i]}/part.json is not part ${i} of the same ${parts}-part split as ${dirs[0]} (documents, range or --max-tokens differ): harvest it again`);
    }
    for (const k of SHARED) {
      if (JSON.stringify(mans[i]![k]) !== JSON.stringify(first[k])) {
        throw new Error(`${dirs[i]}/manifest.json has ${k} = ${JSON.stringify(mans[i]![k])}, but ${dirs[0]} has ${JSON.stringify(first[k])}: every part must be harvested with the same options`);
      }
    }
  });
  const shards: string[] = [];
  const tokenFiles: string[] = [];
  const positionFiles: string[] = [];
  let rows = 0;
  let next = { doc: 0, row: 0 };
  mans.forEach((m, i) => {
    for (let j = 0; j < m.shards.length; j++) {
      const g = shards.length;
      place(path.join(dirs[i]!, m.shards[j]!), path.join(out, shardName('acts', g)));
      place(path.join(dirs[i]!, m.token_files[j]!), path.join(out, shardName('tokens', g)));
      place(path.join(dirs[i]!, m.position_files[j]!), path.join(out, shardName('positions', g)));
      shards.push(shardName('acts', g));
      tokenFiles.push(shardName('tokens', g));
      positionFiles.push(shardName('positions', g));
    }
    rows += m.rows;
    // A single harvest's `next` is the row after the last one written: that of the last part with rows.
    if (m.rows > 0) next = { doc: infos[i]!.doc_start + m.next.doc, row: m.next.row };
  });
  const merged: MergedManifest = {
    format: first.format,
    model: first.model,
    model_path: first.model_path,
    hook_name: first.hook_name,
    layer: first.layer,
    d_model: first.d_model,
    seq_len: first.seq_len,
    context_size: first.context_size,
    tokenizer: first.tokenizer,
    text: first.text,
    encoding: first.encoding,
    dtype: first.dtype,
    skip_bos: first.skip_bos,
    shard_rows: first.shard_rows,
    max_tokens: infos[0]!.max_tokens,
    documents: infos[0]!.documents,
    documents_truncated: mans.reduce((a, m) => a + m.documents_truncated, 0),
    shards,
    token_files: tokenFiles,
    position_files: positionFiles,
    rows,
    complete: true,
    next,
    parts,
  };
  writeJsonAtomic(top, merged);
  return merged;
}

/** Merge when every part is complete (what the last part to finish does), else null. */
export function mergeIfComplete(out: string, parts: number): MergedManifest | null {
  return unfinishedParts(out, parts).length === 0 ? mergeParts(out, parts) : null;
}
