// Differential check of whole model forward passes (harvest-like): batches of real documents with varied
// counts, truncations (so varied padding) and batch row budgets, through the fast CPU backend on several
// threads, the same backend on one thread (no worker, no hand-off: the bits the threaded run must give, as
// every fast primitive promises results independent of the thread count) and the CPU reference (different
// matmul rounding: compared within a corruption bound). Issue 17, item 1: a harvest on the fast backend once
// wrote positions 1-6 of one story off by ~1 under heavy machine load.
import type { Backend } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu/reference.js';
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';
import { batches } from '../../src/model/lm.js';
import { loadModel } from '../../src/model/load.js';
import { readStoriesDocs } from '../../src/model/stories.js';
import { Transformer, type Batch } from '../../src/model/transformer.js';
import { Rng } from '../../src/rng.js';
import { bitDiff, closeDiff, type Mismatch } from './compare.js';

export interface ForwardCheckOptions {
  /** llama2.c checkpoint and its token stream (default: shared/data/stories260K). */
  model: string;
  tokens: string;
  /** Threads of the backend under test (>= 2 for the worker paths). */
  threads: number;
  /** Stop after this many batches, or at the deadline (ms since epoch), whichever comes first. */
  batches: number;
  deadline: number;
  seed: number;
  /** Largest number of documents and rows per forward. */
  maxDocs: number;
  maxRows: number;
  /** Also run the CPU reference (slow: its attention and matmul are plain loops) and compare within 1e-3. */
  reference: boolean;
  /** Run every threaded primitive on the workers whatever its size (FastCpuBackend.parMinWork = 0). */
  allThreaded: boolean;
  progress?: (line: string) => void;
}

export interface CheckResult {
  cases: number;
  mismatches: Mismatch[];
  seconds: number;
}

/** The residual entering `layer` (harvest) or the logits (layer = null) of one batch. */
async function run(model: Transformer, be: Backend, b: Batch, layer: number | null): Promise<Float32Array> {
  if (layer === null) {
    const logits = (await model.forward(b))!;
    const out = (await be.read(logits)) as Float32Array;
    be.free(logits);
    return out;
  }
  let resid: Float32Array | null = null;
  await model.forward(b, { layer, stop: true, fn: async (x) => void (resid = (await be.read(x)) as Float32Array) });
  return resid!;
}

export async function checkForwards(o: ForwardCheckOptions): Promise<CheckResult> {
  const t0 = Date.now();
  const lm = loadModel(o.model);
  const docs = readStoriesDocs(o.tokens);
  const rng = new Rng(o.seed);
  const fast = new FastCpuBackend(o.threads);
  const one = new FastCpuBackend(1);
  if (o.allThreaded) fast.parMinWork = 0;
  const ref = o.reference ? new CpuBackend() : null;
  const models = [fast, one, ...(ref ? [ref] : [])].map((be) => new Transformer(be, lm.weights));
  const mismatches: Mismatch[] = [];
  let cases = 0;
  try {
    while (cases < o.batches && Date.now() < o.deadline) {
      // A random run of documents, each cut at a random length (>= 2 tokens), packed as harvest packs them.
      const n = 1 + rng.int(o.maxDocs);
      const start = rng.int(Math.max(1, docs.length - n));
      const picked = docs.slice(start, start + n).map((d) => d.subarray(0, Math.max(2, Math.min(d.length, 2 + rng.int(d.length)))));
      const rows = 16 + rng.int(o.maxRows);
      const layer = rng.int(lm.weights.config.nLayers + 1);
      const hook = layer === lm.weights.config.nLayers ? null : layer;
      for (const b of batches(picked, Math.max(rows, ...picked.map((d) => d.length)))) {
        const what = `batch ${cases} (docs ${start}+${b.first}, ${b.seqs} x ${b.len} rows, ${hook === null ? 'logits' : `resid ${hook}`})`;
        const [got, want] = [await run(models[0]!, fast, b, hook), await run(models[1]!, one, b, hook)];
        const m = bitDiff(`${what}: ${o.threads} threads vs 1`, got, want);
        if (m) mismatches.push(m);
        if (ref) {
          const r = await run(models[2]!, ref, b, hook);
          const c = closeDiff(`${what}: fast vs reference`, got, r, 1e-3);
          if (c) mismatches.push(c);
        }
        cases++;
        o.progress?.(`forward ${cases}: ${b.seqs} x ${b.len}${m ? ' MISMATCH' : ''}`);
        if (cases >= o.batches || Date.now() >= o.deadline) break;
      }
    }
  } finally {
    for (const m of models) m.dispose();
    fast.dispose();
    one.dispose();
  }
  return { cases, mismatches, seconds: (Date.now() - t0) / 1000 };
}
