// Per-latent bounded sets of examples (row, activation, and the latent's activation on the rows around
// it), in flat typed arrays so that a 24576-latent SAE costs a few allocations, not millions of objects.
// A slot's data never moves: the heap orders slot numbers, so a context window is written once, when its
// row is admitted.
//   TopExamples: the `size` largest activations of each latent, ties kept for the earlier row (a min-heap
//     on (activation, -row): a new row enters only when strictly larger than the smallest kept).
//   SampledExamples: a uniform sample of `size` of each latent's firing rows (reservoir sampling,
//     Li's Algorithm L, drawing from the seeded Rng), from which the page's interval examples come.
import type { Rng } from '../rng.js';

export class ExampleSlots {
  readonly act: Float32Array;
  readonly row: Float64Array;
  /** [latents * size * window] the latent's activation on rows row - context .. row + context. */
  readonly ctx: Float32Array;
  /** Filled slots per latent. */
  readonly filled: Int32Array;

  constructor(
    readonly latents: number,
    readonly size: number,
    readonly window: number,
  ) {
    this.act = new Float32Array(latents * size);
    this.row = new Float64Array(latents * size);
    this.ctx = new Float32Array(latents * size * window);
    this.filled = new Int32Array(latents);
  }

  /** Latent j's slots, by activation descending then row ascending. */
  sorted(j: number): number[] {
    const base = j * this.size;
    const slots = Array.from({ length: this.filled[j]! }, (_, i) => base + i);
    return slots.sort((a, b) => this.act[b]! - this.act[a]! || this.row[a]! - this.row[b]!);
  }
}

export class TopExamples extends ExampleSlots {
  /** heap[j * size + i]: slot number at heap position i of latent j (slot numbers are global). */
  private readonly heap: Int32Array;

  constructor(latents: number, size: number, window: number) {
    super(latents, size, window);
    this.heap = new Int32Array(latents * size);
  }

  /** The smallest kept activation of latent j, or -Infinity while it has free slots. */
  floor(j: number): number {
    return this.filled[j]! < this.size ? -Infinity : this.act[this.heap[j * this.size]!]!;
  }

  private less(a: number, b: number): boolean {
    const d = this.act[a]! - this.act[b]!;
    return d < 0 || (d === 0 && this.row[a]! > this.row[b]!);
  }

  /** Offer (row, v) to latent j; rows come in increasing order. Returns the slot written, or -1. */
  offer(j: number, v: number, row: number): number {
    const base = j * this.size;
    const h = this.heap;
    const n = this.filled[j]!;
    if (n < this.size) {
      const slot = base + n;
      this.act[slot] = v;
      this.row[slot] = row;
      // Sift up.
      let i = n;
      h[base + i] = slot;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.less(h[base + i]!, h[base + p]!)) break;
        [h[base + i], h[base + p]] = [h[base + p]!, h[base + i]!];
        i = p;
      }
      this.filled[j] = n + 1;
      return slot;
    }
    const root = h[base]!;
    if (!(v > this.act[root]!)) return -1;
    this.act[root] = v;
    this.row[root] = row;
    // Sift down.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[base + r]!, h[base + l]!) ? r : l;
      if (!this.less(h[base + c]!, h[base + i]!)) break;
      [h[base + i], h[base + c]] = [h[base + c]!, h[base + i]!];
      i = c;
    }
    return root;
  }
}

export class SampledExamples extends ExampleSlots {
  /** Firing rows seen per latent. */
  readonly seen: Float64Array;
  /** Algorithm L state: W, and the (1-based) firing count at which the next replacement happens. */
  private readonly w: Float64Array;
  private readonly next: Float64Array;

  constructor(
    latents: number,
    size: number,
    window: number,
    private readonly rng: Rng,
  ) {
    super(latents, size, window);
    this.seen = new Float64Array(latents);
    this.w = new Float64Array(latents);
    this.next = new Float64Array(latents);
  }

  /** A uniform draw in (0, 1]. */
  private u(): number {
    return 1 - this.rng.uniform();
  }

  private skip(j: number): void {
    this.w[j]! *= Math.exp(Math.log(this.u()) / this.size);
    this.next[j]! += Math.floor(Math.log(this.u()) / Math.log1p(-this.w[j]!)) + 1;
  }

  /** Offer latent j's next firing row. Returns the slot written, or -1. */
  offer(j: number, v: number, row: number): number {
    const i = ++this.seen[j]!;
    let slot: number;
    if (i <= this.size) {
      slot = j * this.size + i - 1;
      this.filled[j] = i;
      if (i === this.size) {
        this.w[j] = 1;
        this.next[j] = i;
        this.skip(j);
      }
    } else {
      if (i !== this.next[j]) return -1;
      slot = j * this.size + this.rng.int(this.size);
      this.skip(j);
    }
    this.act[slot] = v;
    this.row[slot] = row;
    return slot;
  }
}
