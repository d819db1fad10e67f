// Streams shuffled training batches from an ActivationSource and iterates a held-out eval split.
//
// Split rule: the last `evalFraction` of the source's rows (at least one row when evalFraction > 0) are the
// eval split; the rest are the training split. The split depends only on the row count, never on the seed, so
// every run over the same data is evaluated on the same rows, and no eval row is ever drawn for training.
//
// Shuffle: each epoch, the training rows are cut into chunks of `chunkRows` contiguous rows (cheap sequential
// reads) and the chunks are put in a random order; that stream of rows is cut into windows of
// `shuffleBufferRows` rows. A window is read into the buffer and its rows are emitted in a random permutation.
// Chunk order and window permutations come from Rngs derived from (seed, epoch, window), so the whole batch
// sequence is a function of the seed and the configuration, and a position (epoch, window, slot) is all the
// state a resumed run needs: it re-reads the current window and regenerates its permutation.
//
// NaN/Inf policy: a row holding any NaN or ±Inf is skipped, never trained on. `skippedNonFinite` counts the
// distinct training rows found non-finite so far (counted during the first epoch, so after one epoch it is the
// total); `evalSkippedNonFinite` counts those skipped by the latest eval pass. An epoch that yields no finite
// row (every training row is bad), or an eval pass that yields none, throws a DataError.
import { Rng } from '../rng.js';
import { DataError } from './errors.js';
import type { ActivationSource } from './source.js';

export interface LoaderOptions {
  source: ActivationSource;
  /** Rows per training batch. */
  batchSize: number;
  /** u32 seed of the shuffle. */
  seed: number;
  /** Share of rows, from the end, held out for evaluation: [0, 1). */
  evalFraction?: number;
  /** Rows held in the shuffle buffer (memory: shuffleBufferRows * dIn * 4 bytes). */
  shuffleBufferRows: number;
  /** Rows per contiguous chunk; default shuffleBufferRows / 16 clamped to [1, 4096]. */
  chunkRows?: number;
}

/** Everything needed to continue exactly where a loader stopped (JSON-able). */
export interface LoaderState {
  version: 1;
  seed: number;
  rows: number;
  dIn: number;
  evalRows: number;
  windowRows: number;
  chunkRows: number;
  epoch: number;
  window: number;
  slot: number;
  emittedInEpoch: number;
  batchesDrawn: number;
  skippedNonFinite: number;
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** An independent u32 seed for sub-stream (a, b) of `seed`. */
function subSeed(seed: number, a: number, b: number): number {
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32((h + Math.imul(a + 1, 0x85ebca6b)) >>> 0);
  return mix32((h + Math.imul(b + 1, 0xc2b2ae35)) >>> 0);
}

function isFiniteRow(a: Float32Array, off: number, d: number): boolean {
  for (let j = off; j < off + d; j++) if (!Number.isFinite(a[j]!)) return false;
  return true;
}

export class BatchLoader {
  readonly source: ActivationSource;
  readonly batchSize: number;
  readonly seed: number;
  readonly dIn: number;
  readonly trainRows: number;
  readonly evalRows: number;
  readonly windowRows: number;
  readonly chunkRows: number;
  /** Distinct training rows found holding NaN/Inf so far (complete after the first epoch). */
  skippedNonFinite = 0;
  /** Rows the latest eval pass skipped for NaN/Inf. */
  evalSkippedNonFinite = 0;
  batchesDrawn = 0;
  epoch = 0;

  private readonly nChunks: number;
  private readonly nWindows: number;
  private readonly buf: Float32Array;
  private readonly finite: Uint8Array;
  private readonly perm: Uint32Array;
  /** streamStart[k]: position in this epoch's stream of the k-th chunk taken; chunkOrder[k]: which chunk. */
  private chunkOrder: Uint32Array;
  private streamStart: Float64Array;
  private orderEpoch = -1;
  private window = 0;
  private slot = 0;
  private winLen = 0;
  private loaded = false;
  private emittedInEpoch = 0;

  constructor(opts: LoaderOptions) {
    const { source, batchSize, seed, shuffleBufferRows } = opts;
    const evalFraction = opts.evalFraction ?? 0;
    const name = source.describe();
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new DataError(`loader: batch size must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new DataError(`loader: seed must be a u32, got ${seed}`);
    }
    if (!(evalFraction >= 0 && evalFraction < 1)) {
      throw new DataError(`loader: eval fraction must be in [0, 1), got ${evalFraction}`);
    }
    if (!Number.isInteger(shuffleBufferRows) || shuffleBufferRows < 1) {
      throw new DataError(`loader: shuffle buffer rows must be a positive integer, got ${shuffleBufferRows}`);
    }
    this.source = source;
    this.batchSize = batchSize;
    this.seed = seed;
    this.dIn = source.dIn;
    this.evalRows = evalFraction > 0 ? Math.max(1, Math.floor(source.rows * evalFraction)) : 0;
    this.trainRows = source.rows - this.evalRows;
    if (this.trainRows < 1) {
      throw new DataError(
        `${name}: ${source.rows} rows leave no training rows after holding out ${this.evalRows} for eval`,
      );
    }
    this.windowRows = Math.min(shuffleBufferRows, this.trainRows);
    this.chunkRows = opts.chunkRows ?? Math.max(1, Math.min(4096, Math.floor(this.windowRows / 16)));
    if (!Number.isInteger(this.chunkRows) || this.chunkRows < 1) {
      throw new DataError(`loader: chunk rows must be a positive integer`);
    }
    this.nChunks = Math.ceil(this.trainRows / this.chunkRows);
    this.nWindows = Math.ceil(this.trainRows / this.windowRows);
    this.buf = new Float32Array(this.windowRows * this.dIn);
    this.finite = new Uint8Array(this.windowRows);
    this.perm = new Uint32Array(this.windowRows);
    this.chunkOrder = new Uint32Array(this.nChunks);
    this.streamStart = new Float64Array(this.nChunks + 1);
  }

  static fromState(opts: LoaderOptions, state: LoaderState): BatchLoader {
    const l = new BatchLoader(opts);
    l.restore(state);
    return l;
  }

  describe(): string {
    return `${this.source.describe()}: ${this.trainRows} train rows, ${this.evalRows} eval rows (the last ones)`;
  }

  /** Fill out[0 .. batchSize * dIn) with the next batch of finite training rows; returns batchSize. */
  nextBatch(out: Float32Array): number {
    const d = this.dIn;
    if (out.length < this.batchSize * d) {
      throw new RangeError(`nextBatch: out holds ${out.length} values, needs ${this.batchSize * d}`);
    }
    if (!this.loaded) this.loadWindow();
    for (let filled = 0; filled < this.batchSize;) {
      if (this.slot >= this.winLen) {
        this.advanceWindow();
        continue;
      }
      const i = this.perm[this.slot++]!;
      if (this.finite[i] === 0) {
        if (this.epoch === 0) this.skippedNonFinite++;
        continue;
      }
      out.set(this.buf.subarray(i * d, (i + 1) * d), filled * d);
      filled++;
      this.emittedInEpoch++;
    }
    this.batchesDrawn++;
    return this.batchSize;
  }

  /**
   * The eval rows in order, NaN/Inf rows dropped, in batches of `batchSize` rows (the last may be short).
   * Each yielded array is a view of one reused buffer, valid until the next step of the iteration.
   */
  *evalBatches(batchSize = this.batchSize): Generator<Float32Array> {
    const d = this.dIn;
    const out = new Float32Array(batchSize * d);
    let fill = 0;
    let yielded = 0;
    this.evalSkippedNonFinite = 0;
    for (let row = this.trainRows; row < this.source.rows;) {
      const m = Math.min(batchSize - fill, this.source.rows - row);
      this.source.readRows(row, m, out.subarray(fill * d));
      row += m;
      const end = fill + m;
      for (let r = fill; r < end; r++) {
        if (!isFiniteRow(out, r * d, d)) {
          this.evalSkippedNonFinite++;
          continue;
        }
        if (r !== fill) out.copyWithin(fill * d, r * d, (r + 1) * d);
        fill++;
      }
      if (fill === batchSize) {
        yielded += fill;
        yield out.subarray(0, fill * d);
        fill = 0;
      }
    }
    if (fill > 0) {
      yielded += fill;
      yield out.subarray(0, fill * d);
    }
    if (yielded === 0 && this.evalRows > 0) {
      throw new DataError(`${this.source.describe()}: every one of the ${this.evalRows} eval rows holds NaN or Inf`);
    }
  }

  getState(): LoaderState {
    return {
      version: 1,
      seed: this.seed,
      rows: this.source.rows,
      dIn: this.dIn,
      evalRows: this.evalRows,
      windowRows: this.windowRows,
      chunkRows: this.chunkRows,
      epoch: this.epoch,
      window: this.window,
      slot: this.slot,
      emittedInEpoch: this.emittedInEpoch,
      batchesDrawn: this.batchesDrawn,
      skippedNonFinite: this.skippedNonFinite,
    };
  }

  restore(st: LoaderState): void {
    const mine = this.getState();
    for (const k of ['version', 'seed', 'rows', 'dIn', 'evalRows', 'windowRows', 'chunkRows'] as const) {
      if (st[k] !== mine[k]) {
        throw new DataError(
          `loader state does not match this data and configuration: ${k} is ${st[k]} in the state, ${mine[k]} now`,
        );
      }
    }
    if (st.window >= this.nWindows || st.slot < 0) {
      throw new DataError(`loader state: window ${st.window}, slot ${st.slot} out of range`);
    }
    this.epoch = st.epoch;
    this.window = st.window;
    this.emittedInEpoch = st.emittedInEpoch;
    this.batchesDrawn = st.batchesDrawn;
    this.skippedNonFinite = st.skippedNonFinite;
    this.loadWindow();
    if (st.slot > this.winLen) {
      throw new DataError(`loader state: slot ${st.slot} past the window's ${this.winLen} rows`);
    }
    this.slot = st.slot;
  }

  private advanceWindow(): void {
    this.window++;
    if (this.window === this.nWindows) {
      if (this.emittedInEpoch === 0) {
        throw new DataError(
          `${this.source.describe()}: every one of the ${this.trainRows} training rows holds NaN or Inf`,
        );
      }
      this.epoch++;
      this.window = 0;
      this.emittedInEpoch = 0;
    }
    this.loadWindow();
  }

  /** This epoch's chunk order and where each chunk starts in the epoch's row stream. */
  private ensureOrder(): void {
    if (this.orderEpoch === this.epoch) return;
    const order = this.chunkOrder;
    for (let k = 0; k < this.nChunks; k++) order[k] = k;
    new Rng(subSeed(this.seed, this.epoch, 0)).shuffle(order);
    for (let k = 0; k < this.nChunks; k++) {
      this.streamStart[k + 1] = this.streamStart[k]! + this.chunkLen(order[k]!);
    }
    this.orderEpoch = this.epoch;
  }

  private chunkLen(c: number): number {
    return Math.min(this.chunkRows, this.trainRows - c * this.chunkRows);
  }

  /** Read window `this.window` of the epoch's stream into the buffer, flag bad rows, draw its permutation. */
  private loadWindow(): void {
    this.ensureOrder();
    const d = this.dIn;
    const first = this.window * this.windowRows;
    this.winLen = Math.min(this.windowRows, this.trainRows - first);
    // The chunk holding stream position `first`: the last k with streamStart[k] <= first.
    let lo = 0;
    let hi = this.nChunks - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.streamStart[mid]! <= first) lo = mid;
      else hi = mid - 1;
    }
    for (let filled = 0, k = lo; filled < this.winLen; k++) {
      const c = this.chunkOrder[k]!;
      const skip = Math.max(0, first + filled - this.streamStart[k]!);
      const m = Math.min(this.chunkLen(c) - skip, this.winLen - filled);
      this.source.readRows(c * this.chunkRows + skip, m, this.buf.subarray(filled * d));
      filled += m;
    }
    for (let i = 0; i < this.winLen; i++) this.finite[i] = isFiniteRow(this.buf, i * d, d) ? 1 : 0;
    const perm = this.perm.subarray(0, this.winLen);
    for (let i = 0; i < this.winLen; i++) perm[i] = i;
    new Rng(subSeed(this.seed, this.epoch, this.window + 1)).shuffle(perm);
    this.slot = 0;
    this.loaded = true;
  }
}
