// Synthetic activations from a known sparse generative model, the embedded default data set:
//   x = bias + sum over active features i of c_i * d_i + noise,
// with a ground-truth dictionary of unit vectors d_i, feature frequencies following a power law (a few
// common features, a long tail, as in real activations), a heavy-tailed (log-normal) number of active
// features per sample so the per-sample L0 varies, and positive coefficients c_i.
// Every row is a pure function of (seed, row index), so the data set is random-access, streams without
// being held in memory, and is reproducible.
import { Rng } from './rng.js';

export interface SynthConfig {
  /** Activation dimension d. */
  dIn: number;
  /** Ground-truth features F. */
  nFeatures: number;
  /** Mean number of active features per sample. */
  meanActive: number;
  /** Log-normal sigma of the active count (0: always meanActive). */
  activeSigma: number;
  /** Power-law exponent of feature frequencies (0: uniform). */
  zipf: number;
  /** Std of the isotropic Gaussian noise. */
  noise: number;
  seed: number;
}

export const SYNTH_DEFAULTS: SynthConfig = {
  dIn: 64,
  nFeatures: 256,
  meanActive: 8,
  activeSigma: 0.8,
  zipf: 0.5,
  noise: 0.01,
  seed: 0,
};

export class SyntheticModel {
  readonly cfg: SynthConfig;
  /** [F, d] unit rows. */
  readonly dictionary: Float32Array;
  /** [d] offset, so a decoder bias has something to learn. */
  readonly bias: Float32Array;
  private readonly cdf: Float64Array;

  constructor(cfg: Partial<SynthConfig> = {}) {
    this.cfg = { ...SYNTH_DEFAULTS, ...cfg };
    const { dIn: d, nFeatures: F, meanActive, activeSigma, zipf, noise, seed } = this.cfg;
    if (!Number.isInteger(d) || d < 1 || !Number.isInteger(F) || F < 1) throw new Error(`synth: dIn and nFeatures must be positive integers (got ${d}, ${F})`);
    if (!(meanActive > 0 && meanActive <= F)) throw new Error(`synth: meanActive must be in (0, nFeatures], got ${meanActive}`);
    if (!(activeSigma >= 0) || !(zipf >= 0) || !(noise >= 0)) throw new Error('synth: activeSigma, zipf and noise must be >= 0');
    // A stream of its own: the trainer's init draws from Rng(seed), and the ground truth must not be
    // correlated with the initial decoder.
    const rng = new Rng((Math.imul(seed ^ 0x5f3759df, 0x9e3779b1) ^ 0x2545f491) >>> 0);
    this.dictionary = rng.fillNormal(new Float32Array(F * d));
    for (let i = 0; i < F; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += this.dictionary[i * d + j]! ** 2;
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < d; j++) this.dictionary[i * d + j]! *= inv;
    }
    this.bias = rng.fillNormal(new Float32Array(d), 0, 0.5);
    this.cdf = new Float64Array(F);
    let acc = 0;
    for (let i = 0; i < F; i++) this.cdf[i] = acc += 1 / (i + 1) ** zipf;
    for (let i = 0; i < F; i++) this.cdf[i]! /= acc;
  }

  /** The row's generator: a pure function of (seed, row). */
  private rowRng(row: number): Rng {
    return new Rng((Math.imul(row, 0x9e3779b1) ^ Math.imul(this.cfg.seed + 1, 0x85ebca77)) >>> 0);
  }

  /** Number of active features of a sample: round(LogNormal) with the configured mean, in [0, F]. */
  private activeCount(rng: Rng): number {
    const { meanActive, activeSigma, nFeatures } = this.cfg;
    const mu = Math.log(meanActive) - (activeSigma * activeSigma) / 2;
    return Math.min(nFeatures, Math.max(0, Math.round(Math.exp(mu + activeSigma * rng.normal()))));
  }

  private drawFeature(rng: Rng): number {
    const u = rng.uniform();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Write sample `row` into out[offset .. offset + d); returns its number of active features. */
  sampleRow(row: number, out: Float32Array, offset = 0): number {
    const { dIn: d, noise } = this.cfg;
    const rng = this.rowRng(row);
    const n = this.activeCount(rng);
    const active = new Set<number>();
    while (active.size < n) active.add(this.drawFeature(rng));
    for (let j = 0; j < d; j++) out[offset + j] = this.bias[j]! + noise * rng.normal();
    for (const i of active) {
      const c = 0.5 + rng.uniform(); // coefficients in [0.5, 1.5): clearly above the noise
      for (let j = 0; j < d; j++) out[offset + j]! += c * this.dictionary[i * d + j]!;
    }
    return n;
  }

  /** Rows [start, start + count) as a [count, d] array. */
  rows(start: number, count: number, out: Float32Array = new Float32Array(count * this.cfg.dIn)): Float32Array {
    for (let r = 0; r < count; r++) this.sampleRow(start + r, out, r * this.cfg.dIn);
    return out;
  }
}

/**
 * Feature recovery: for each true feature, the largest cosine similarity with any decoder row; returns
 * their mean and the fraction above 0.9. truth [F,d], decoder [M,d].
 */
export function featureRecovery(truth: Float32Array, decoder: Float32Array, d: number): { meanMaxCos: number; fracAbove09: number } {
  const F = truth.length / d;
  const M = decoder.length / d;
  const norms = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += decoder[m * d + j]! ** 2;
    norms[m] = Math.sqrt(s) || 1;
  }
  let total = 0;
  let above = 0;
  for (let f = 0; f < F; f++) {
    let tn = 0;
    for (let j = 0; j < d; j++) tn += truth[f * d + j]! ** 2;
    tn = Math.sqrt(tn) || 1;
    let best = -1;
    for (let m = 0; m < M; m++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += truth[f * d + j]! * decoder[m * d + j]!;
      best = Math.max(best, dot / (tn * norms[m]!));
    }
    total += best;
    if (best > 0.9) above++;
  }
  return { meanMaxCos: total / F, fracAbove09: above / F };
}

/** The synthetic model as a random-access activation source of `rows` rows (generated on demand). */
export class SyntheticSource {
  readonly dIn: number;
  constructor(
    readonly model: SyntheticModel,
    readonly rows: number,
  ) {
    this.dIn = model.cfg.dIn;
  }
  readRows(start: number, count: number, out: Float32Array): void {
    if (start < 0 || count < 0 || start + count > this.rows) throw new RangeError(`readRows(${start}, ${count}) outside [0, ${this.rows}) of ${this.describe()}`);
    this.model.rows(start, count, out);
  }
  describe(): string {
    const c = this.model.cfg;
    return `synthetic (${this.rows} x ${c.dIn} float32; ${c.nFeatures} true features, mean ${c.meanActive} active, seed ${c.seed})`;
  }
  close(): void {}
}
