// `features`: the feature browser of a trained SAE over a harvest folder. One pass of the inference encoder
// (scan.ts) over the folder's rows, optionally each latent's logit effect through a model (logits.ts),
// then <out>/features.json (every figure), <out>/latents/*.js (the same per-latent data in blocks the page
// loads on demand) and <out>/index.html (page.ts), each written atomically. Nothing is written when the
// scan is stopped (Ctrl-C): a stopped run leaves the previous output as it was.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendLabel } from '../backend/open.js';
import { resolveBackend, type BackendOrOpen } from './backend.js';
import { OPTIONS } from './options.js';
import { resolveOptions, type Schema } from './schema.js';
import { DataError } from '../data/errors.js';
import { openSource, ShardedSource } from '../data/source.js';
import { AtomicFile, replaceDirAtomic, writeFileAtomic } from '../io/atomic.js';
import { readSae } from '../io/saelens.js';
import { loadModel, type LoadedModel } from '../model/load.js';
import { fromSaeExport } from '../sae/export.js';
import { paramList, uploadParams } from '../sae/params.js';
import { backendEncoder } from '../features/encoder.js';
import { BINS, BINS_PER_OCTAVE, trimHistogram } from '../features/histogram.js';
import type { ExampleSlots } from '../features/heap.js';
import { logitEffects, type LogitEffects } from '../features/logits.js';
import { CHUNK, chunkFile, indexEntry, pageHtml } from '../features/page.js';
import { contextWindow, readRowTokens, type RowTokens } from '../features/rows.js';
import { scanLatents, type LatentScan } from '../features/scan.js';
import { tokenTexts } from '../features/tokens.js';
import type { Example, LatentEntry } from '../features/format.js';

export type { Example, LatentEntry };

/** What `features` computes (each option described once, in FEATURES_SCHEMA). */
export interface FeaturesFlags {
  /** SAE folder (cfg.json + sae_weights.safetensors, ours or SAELens's). */
  sae: string;
  /** Harvest folder: activation shards with token ids and positions beside them. */
  data: string;
  /** Output folder (created). */
  out: string;
  /** The model the activations came from: token text, and each latent's logit effect. */
  model?: string;
  top: number;
  context: number;
  intervals: number;
  logits: number;
  batchRows: number;
  maxRows?: number;
  seed: number;
  shards?: string;
  tensor?: string;
}

export const FEATURES_SCHEMA: Schema<FeaturesFlags> = {
  sae: OPTIONS.sae,
  data: { ...OPTIONS.data, help: 'Harvest folder (batchtopk harvest --out): activation shards with their token ids and positions' },
  out: { kind: 'string', arg: 'dir', help: 'Output folder: features.json, index.html and latents/ (opens from disk, no server)' },
  model: { ...OPTIONS.model, help: `The model the activations came from: token text and each latent's positive/negative logits. ${OPTIONS.model.help}` },
  top: { kind: 'int', min: 1, arg: 'n', default: 20, help: 'Top activating rows kept per latent' },
  context: { kind: 'int', min: 0, arg: 'n', default: 8, help: 'Tokens of context each side of an example, within its document' },
  intervals: { kind: 'int', min: 1, arg: 'n', default: 3, help: 'Interval examples per activation quartile band' },
  logits: { kind: 'int', min: 1, arg: 'n', default: 10, help: 'Tokens listed per latent for positive and for negative logits' },
  batchRows: { kind: 'int', min: 1, arg: 'n', default: 1024, help: 'Rows encoded at once' },
  maxRows: { kind: 'int', min: 1, arg: 'n', help: 'Use only the first n rows' },
  seed: { kind: 'int', min: 0, max: 0xffffffff, arg: 'n', default: 0, help: 'Seed of the interval sampling' },
  shards: OPTIONS.shards,
  tensor: OPTIONS.tensor,
};

export interface FeaturesOptions extends FeaturesFlags {
  /** Progress lines and notes (stderr in the CLI). */
  log?: (line: string) => void;
  /** Checked between batches: when aborted, the run stops and writes nothing (an AbortSignal fits). */
  signal?: { readonly aborted: boolean };
}

export type FeaturesInput = Partial<FeaturesOptions> & Pick<FeaturesOptions, 'sae' | 'data' | 'out'>;

export interface FeaturesResult {
  out: string;
  /** Files written (none when stopped). */
  files: string[];
  rows: number;
  skipped: number;
  latents: number;
  alive: number;
  /** Mean active latents per row (what eval calls l0), from the same pass. */
  l0: number;
  /** Wall time of the whole run, and of the encoder pass alone (rowsPerSecond is rows / scanSeconds). */
  seconds: number;
  scanSeconds: number;
  rowsPerSecond: number;
  stopped: boolean;
  backend: string;
}


export const FEATURES_FILE = 'features.json';
export const PAGE_FILE = 'index.html';
export const CHUNK_DIR = 'latents';

/** The quartile bands the interval examples are drawn from, lowest first. */
const BANDS = ['0-25%', '25-50%', '50-75%', '75-100%'];

export async function runFeatures(given: FeaturesInput, backendOrOpen: BackendOrOpen): Promise<FeaturesResult> {
  const { log, signal, ...flags } = given;
  const o: FeaturesOptions = { ...resolveOptions(FEATURES_SCHEMA, flags), log, signal };
  const t0 = performance.now();
  const exp = readSae(o.sae);
  const { model, params: host, theta } = fromSaeExport(exp);
  const lm: LoadedModel | null = o.model !== undefined ? loadModel(o.model) : null;
  const source = openSource(o.data, { tensor: o.tensor, shards: o.shards });
  try {
    if (source instanceof ShardedSource) o.log?.(source.listing());
    if (source.dIn !== exp.dIn) throw new DataError(`${o.data}: rows have d=${source.dIn} but the SAE in ${o.sae} expects d_in=${exp.dIn}`);
    if (lm && lm.weights.config.dim !== exp.dIn) throw new Error(`--model ${o.model}: its residual stream has d=${lm.weights.config.dim}, the SAE's d_in is ${exp.dIn}; give the model the activations were harvested from`);
    const rowTokens = readRowTokens(o.data, source.rows);
    if (!lm) o.log?.(`features: no --model, so tokens show as ids (#123) and there are no logits; pass --model <the harvested model> for both`);
    const backend = await resolveBackend(backendOrOpen, { dIn: exp.dIn, dSae: exp.dSae });
    const params = uploadParams(backend, model.cfg, host);
    let scan: LatentScan;
    const scanStart = performance.now();
    try {
      let last = 0;
      scan = await scanLatents(source, backendEncoder(backend, { ...model, params }), {
        top: o.top,
        context: o.context,
        sample: 8 * o.intervals + 8,
        seed: o.seed,
        batchRows: o.batchRows,
        maxRows: o.maxRows,
        signal: o.signal,
        progress: (done, total) => {
          const now = performance.now();
          if (now - last < 2000 && done < total) return;
          last = now;
          const rate = done / ((now - scanStart) / 1000);
          o.log?.(`features: ${done}/${total} rows, ${Math.round(rate)} rows/s`);
        },
      });
    } finally {
      for (const p of paramList(params)) p.free();
    }
    const scanSeconds = (performance.now() - scanStart) / 1000;
    const label = backendLabel(backend);
    const fired = scan.count.reduce((a, c) => a + c, 0);
    const l0 = scan.rows > scan.skipped ? fired / (scan.rows - scan.skipped) : 0;
    const base = { out: o.out, rows: scan.rows, skipped: scan.skipped, latents: exp.dSae, backend: label, scanSeconds, rowsPerSecond: scan.rows / scanSeconds, l0 };
    if (scan.stopped) return { ...base, files: [], alive: 0, seconds: (performance.now() - t0) / 1000, stopped: true };
    const effects = lm ? await logitEffects(backend, host.W_dec, exp.dSae, { head: lm.weights.head, normScale: lm.weights.finalNorm.w, vocab: lm.weights.config.vocabSize, dim: lm.weights.config.dim }, o.logits) : null;
    const text = tokenTexts(lm?.tokenizer ?? null);
    const latents = Array.from({ length: exp.dSae }, (_, j) => latentEntry(j, scan, rowTokens, text, effects, o.intervals));
    const seconds = (performance.now() - t0) / 1000;
    const used = scan.rows - scan.skipped;
    const header = {
      format: 'batchtopk-features-1',
      sae: path.resolve(o.sae),
      data: path.resolve(o.data),
      model: lm ? lm.path : null,
      architecture: exp.architecture,
      // What the SAE was trained as, where our metadata says (a BatchTopK SAE is saved as jumprelu).
      trained_as: ((exp.metadata['batchtopk'] as { arch?: string } | undefined)?.arch ?? null) as string | null,
      d_in: exp.dIn,
      d_sae: exp.dSae,
      threshold: theta > 0 ? theta : null,
      rows: used,
      rows_skipped: scan.skipped,
      top: o.top,
      context: scan.context,
      backend: label,
      seconds,
      definitions: {
        density: 'rows with activation > 0 / rows (rows: the rows scanned, less those skipped for NaN/Inf)',
        mean_activation: 'mean activation over the rows where the latent fires (0 for a latent that never fires)',
        mean_activation_all_rows: 'mean activation over all rows (= density * mean_activation)',
        histogram: `counts of the nonzero activations in log-spaced bins, ${BINS_PER_OCTAVE} per octave: edges[i] <= a < edges[i+1]; an edge of 0 or ${Number.MAX_VALUE} is an open end`,
        row: "the row's index in the data folder's row order across its shards",
        examples: 'the top activations, descending (ties: earlier row first); tokens: the row and up to `context` tokens each side within its document; activations: the latent on each; focus: the row within tokens',
        interval_examples: "rows drawn from a uniform sample of the latent's firing rows, by quartile band of that sample; rows already in examples left out",
        logits: 'W_dec[j] . (g * W_U[v]) with g the final norm weight: the direct effect on each token logit',
      },
    };
    fs.mkdirSync(o.out, { recursive: true });
    const files = [path.join(o.out, CHUNK_DIR), path.join(o.out, FEATURES_FILE), path.join(o.out, PAGE_FILE)];
    writeChunks(files[0]!, latents);
    writeFeaturesJson(files[1]!, header, latents);
    writeFileAtomic(files[2]!, pageHtml({ ...header, alive: latents.filter((l) => l.count > 0).length }, latents.map(indexEntry)));
    return { ...base, files, alive: latents.filter((l) => l.count > 0).length, seconds: (performance.now() - t0) / 1000, stopped: false };
  } finally {
    source.close();
  }
}

function example(set: ExampleSlots, slot: number, scan: LatentScan, rt: RowTokens, text: (id: number) => string): Example {
  const row = set.row[slot]!;
  const [a, b] = contextWindow(rt.positions, row, scan.context, scan.rows);
  const at = slot * set.window + (a - (row - scan.context));
  const acts = Array.from(set.ctx.subarray(at, at + (b - a)));
  return { row, activation: set.act[slot]!, tokens: Array.from(rt.ids.subarray(a, b), text), activations: acts, focus: row - a };
}

function latentEntry(j: number, scan: LatentScan, rt: RowTokens, text: (id: number) => string, effects: LogitEffects | null, perBand: number): LatentEntry {
  const used = scan.rows - scan.skipped;
  const count = scan.count[j]!;
  const examples = scan.top.sorted(j).map((slot) => example(scan.top, slot, scan, rt, text));
  const inTop = new Set(examples.map((e) => e.row));
  // The sample ascending by activation, cut into quartile bands; up to perBand rows spread over each.
  const sample = scan.sample.sorted(j).reverse();
  const interval: LatentEntry['interval_examples'] = [];
  BANDS.forEach((band, q) => {
    const lo = Math.floor((q * sample.length) / BANDS.length);
    const hi = Math.floor(((q + 1) * sample.length) / BANDS.length);
    const pool = sample.slice(lo, hi).filter((slot) => !inTop.has(scan.sample.row[slot]!));
    const pick = pool.length <= perBand ? pool : Array.from({ length: perBand }, (_, i) => pool[Math.floor(((i + 0.5) * pool.length) / perBand)]!);
    for (const slot of pick) interval.push({ ...example(scan.sample, slot, scan, rt, text), band });
  });
  // Descending, as examples: the highest band first.
  interval.reverse();
  const e: LatentEntry = {
    index: j,
    density: used > 0 ? count / used : 0,
    count,
    max_activation: scan.max[j]!,
    mean_activation: count > 0 ? scan.sum[j]! / count : 0,
    mean_activation_all_rows: used > 0 ? scan.sum[j]! / used : 0,
    histogram: trimHistogram(scan.hist.subarray(j * BINS, (j + 1) * BINS)),
    examples,
    interval_examples: interval,
  };
  if (effects) {
    e.top_logits = effects.top[j]!.map((t) => ({ token: text(t.id), value: t.value }));
    e.bottom_logits = effects.bottom[j]!.map((t) => ({ token: text(t.id), value: t.value }));
  }
  return e;
}

/** features.json, written a latent at a time (a large SAE's file can exceed one JS string). */
function writeFeaturesJson(file: string, header: Record<string, unknown>, latents: LatentEntry[]): void {
  const f = new AtomicFile(file);
  try {
    const head = JSON.stringify(header, null, 1);
    f.write(Buffer.from(head.slice(0, -1) + ',\n "latents": [\n', 'utf8'));
    latents.forEach((l, i) => f.write(Buffer.from(JSON.stringify(l) + (i + 1 < latents.length ? ',\n' : '\n'), 'utf8')));
    f.write(Buffer.from(']}\n', 'utf8'));
    f.commit();
  } catch (err) {
    f.abort();
    throw err;
  }
}

/** <out>/latents/NNNNN.js: blocks of CHUNK latents, each a script the page adds when it needs one. */
function writeChunks(dir: string, latents: LatentEntry[]): void {
  if (!fs.existsSync(dir)) fs.mkdirSync(dir);
  replaceDirAtomic(dir, (tmp) => {
    for (let c = 0; c * CHUNK < latents.length; c++) {
      fs.writeFileSync(path.join(tmp, chunkFile(c)), `featuresChunk(${c}, ${JSON.stringify(latents.slice(c * CHUNK, (c + 1) * CHUNK))});\n`);
    }
  });
}
