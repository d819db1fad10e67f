// One streamed pass of an SAE's inference encoder over activation rows, keeping per latent: how many rows
// it fires on (activation > 0), the sum and maximum of its activations, a histogram of them
// (histogram.ts), its `top` largest activations and a uniform sample of its firing rows (heap.ts), each
// with the latent's activation on the `context` rows either side. Rows are read in batches of `batchRows`
// with `context` extra rows at each end, so every kept row's neighbours are encoded in the same batch
// (the inference encoders are per row, so the overlap only costs 2 * context rows per batch).
// Rows with a NaN or Inf are skipped (as eval does): they count in no statistic and show activation 0 as
// a neighbour. Memory: latents * (top + sample) * (2 * context + 1) floats for the windows.
import type { ActivationSource } from '../data/source.js';
import { Rng } from '../rng.js';
import { BINS, binOf } from './histogram.js';
import { SampledExamples, TopExamples, type ExampleSlots } from './heap.js';

/** Dense latents [rows, dSae] of host rows [rows, dIn]. */
export interface LatentEncoder {
  readonly dIn: number;
  readonly dSae: number;
  encode(x: Float32Array, rows: number): Promise<Float32Array>;
}

export interface ScanOptions {
  /** Top examples kept per latent (default 20). */
  top?: number;
  /** Rows of context each side of an example (default 8). */
  context?: number;
  /** Firing rows sampled per latent for the interval examples (default 32). */
  sample?: number;
  /** Seed of the sampling Rng (default 0). */
  seed?: number;
  /** Rows encoded at once (default 1024). */
  batchRows?: number;
  /** Scan only the first maxRows rows. */
  maxRows?: number;
  /** Called after every batch with the rows done and the rows to do. */
  progress?: (done: number, total: number) => void;
  /** Checked before every batch: when aborted, the scan stops and says so (an AbortSignal fits). */
  signal?: { readonly aborted: boolean };
}

export interface LatentScan {
  /** Rows scanned (skipped ones included), and of those the ones skipped for NaN/Inf. */
  rows: number;
  skipped: number;
  /** True when the signal stopped the scan before the end. */
  stopped: boolean;
  context: number;
  /** [dSae] firing rows, sum and max of the activations. */
  count: Float64Array;
  sum: Float64Array;
  max: Float32Array;
  /** [dSae * BINS] histogram counts. */
  hist: Uint32Array;
  top: TopExamples;
  sample: SampledExamples;
}

export async function scanLatents(source: ActivationSource, enc: LatentEncoder, o: ScanOptions = {}): Promise<LatentScan> {
  const top = o.top ?? 20;
  const context = o.context ?? 8;
  const sampleSize = o.sample ?? 32;
  const batchRows = o.batchRows ?? 1024;
  for (const [name, v, min] of [['top', top, 1], ['context', context, 0], ['sample', sampleSize, 1], ['batchRows', batchRows, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`features: ${name} must be an integer >= ${min}, got ${v}`);
  }
  if (source.dIn !== enc.dIn) throw new Error(`features: rows have d=${source.dIn} but the SAE expects d_in=${enc.dIn}`);
  const D = enc.dIn;
  const M = enc.dSae;
  const total = Math.min(source.rows, o.maxRows ?? Infinity);
  const window = 2 * context + 1;
  const s: LatentScan = {
    rows: 0,
    skipped: 0,
    stopped: false,
    context,
    count: new Float64Array(M),
    sum: new Float64Array(M),
    max: new Float32Array(M),
    hist: new Uint32Array(M * BINS),
    top: new TopExamples(M, top, window),
    sample: new SampledExamples(M, sampleSize, window, new Rng(o.seed ?? 0)),
  };
  const buf = new Float32Array((batchRows + 2 * context) * D);
  const finite = new Uint8Array(batchRows + 2 * context);
  for (let start = 0; start < total; start += batchRows) {
    // Let the event loop deliver a pending Ctrl-C (a CPU pass never leaves the microtask queue otherwise).
    if (o.signal) await new Promise((resolve) => setImmediate(resolve));
    if (o.signal?.aborted) {
      s.stopped = true;
      break;
    }
    const n = Math.min(batchRows, total - start);
    const lo = Math.max(0, start - context);
    const hi = Math.min(total, start + n + context);
    const x = buf.subarray(0, (hi - lo) * D);
    source.readRows(lo, hi - lo, x);
    for (let r = 0; r < hi - lo; r++) {
      const row = x.subarray(r * D, (r + 1) * D);
      let ok = 1;
      for (let c = 0; c < D; c++) if (!Number.isFinite(row[c]!)) ok = 0;
      finite[r] = ok;
      // Encoded as zeros so that no NaN reaches the backend; its latents are never read.
      if (!ok) row.fill(0);
    }
    const f = await enc.encode(x, hi - lo);
    // The latent's activation on rows row - context .. row + context into a slot's window.
    const keep = (set: ExampleSlots, slot: number, j: number, row: number) => {
      const at = slot * window;
      for (let t = 0; t < window; t++) {
        const rr = row - context + t;
        set.ctx[at + t] = rr < lo || rr >= hi ? NaN : finite[rr - lo] ? f[(rr - lo) * M + j]! : 0;
      }
    };
    for (let row = start; row < start + n; row++) {
      if (!finite[row - lo]) {
        s.skipped++;
        continue;
      }
      const base = (row - lo) * M;
      for (let j = 0; j < M; j++) {
        const v = f[base + j]!;
        if (!(v > 0)) continue;
        s.count[j]!++;
        s.sum[j]! += v;
        if (v > s.max[j]!) s.max[j] = v;
        s.hist[j * BINS + binOf(v)]!++;
        if (v > s.top.floor(j)) keep(s.top, s.top.offer(j, v, row), j, row);
        const slot = s.sample.offer(j, v, row);
        if (slot >= 0) keep(s.sample, slot, j, row);
      }
    }
    s.rows = start + n;
    o.progress?.(s.rows, total);
  }
  return s;
}
