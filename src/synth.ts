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

// ---- A known feature hierarchy (issue 19: the absorption claim of Matryoshka SAEs) ----
//   x = bias + sum over active features of c * direction + noise,
// where P parent features each own C children: a parent tree is active with probability parentProb, and an
// active tree has, with probability childProb, exactly one of its children (uniform) firing too. So a parent
// fires whenever any of its children fires, and sometimes alone; every feature has its own random unit
// direction. Hierarchy coefficients are 1 (as the toy models of absorption use: a child's latent can then
// absorb its parent's direction exactly, which a sparsity budget rewards); `extra` independent features with
// coefficients in [0.5, 1.5) fill the rest of the data. Rows are pure functions of (seed, row), as above.

export interface HierarchyConfig {
  dIn: number;
  /** Parent features P. */
  parents: number;
  /** Children per parent C. */
  children: number;
  /** Probability that a parent tree is active in a sample. */
  parentProb: number;
  /** Probability that an active parent has one of its children firing too (else it fires alone). */
  childProb: number;
  /** Independent features outside the hierarchy, and their mean active count per sample (Poisson-like). */
  extra: number;
  extraMeanActive: number;
  /** Std of the isotropic Gaussian noise. */
  noise: number;
  seed: number;
}

export const HIERARCHY_DEFAULTS: HierarchyConfig = {
  dIn: 48,
  parents: 4,
  children: 4,
  parentProb: 0.25,
  childProb: 0.8,
  extra: 24,
  extraMeanActive: 2,
  noise: 0.01,
  seed: 0,
};

export class HierarchicalModel {
  readonly cfg: HierarchyConfig;
  /** [P, d] parent directions, [P*C, d] child directions (parent p owns rows p*C .. p*C + C - 1), [E, d] extras. */
  readonly parentDirs: Float32Array;
  readonly childDirs: Float32Array;
  readonly extraDirs: Float32Array;
  readonly bias: Float32Array;

  constructor(cfg: Partial<HierarchyConfig> = {}) {
    this.cfg = { ...HIERARCHY_DEFAULTS, ...cfg };
    const { dIn: d, parents: P, children: C, extra: E, parentProb, childProb, extraMeanActive, noise, seed } = this.cfg;
    for (const [k, v] of Object.entries({ dIn: d, parents: P, children: C })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`synth hierarchy: ${k} must be a positive integer, got ${v}`);
    }
    if (!Number.isInteger(E) || E < 0) throw new Error(`synth hierarchy: extra must be an integer >= 0, got ${E}`);
    for (const [k, v] of Object.entries({ parentProb, childProb })) {
      if (!(v >= 0 && v <= 1)) throw new Error(`synth hierarchy: ${k} must be in [0, 1], got ${v}`);
    }
    if (!(extraMeanActive >= 0 && extraMeanActive <= E) || !(noise >= 0)) throw new Error('synth hierarchy: extraMeanActive must be in [0, extra], noise >= 0');
    const rng = new Rng((Math.imul(seed ^ 0x27d4eb2f, 0x9e3779b1) ^ 0x165667b1) >>> 0);
    const unitRows = (n: number) => {
      const a = rng.fillNormal(new Float32Array(n * d));
      normalizeRowsInPlace(a, n, d);
      return a;
    };
    this.parentDirs = unitRows(P);
    this.childDirs = unitRows(P * C);
    this.extraDirs = unitRows(E);
    this.bias = rng.fillNormal(new Float32Array(d), 0, 0.5);
  }

  /** The number of true features (parents, children, extras). */
  get nFeatures(): number {
    const { parents: P, children: C, extra: E } = this.cfg;
    return P + P * C + E;
  }

  private rowRng(row: number): Rng {
    return new Rng((Math.imul(row, 0x85ebca77) ^ Math.imul(this.cfg.seed + 7, 0xc2b2ae3d)) >>> 0);
  }

  /**
   * Write sample `row` into out[offset .. offset + d); parents (if given, length P) receives each parent's
   * state: 0 off, 1 firing alone, 2 firing with one of its children.
   */
  sampleRow(row: number, out: Float32Array, offset = 0, parents?: Uint8Array): void {
    const { dIn: d, parents: P, children: C, extra: E, parentProb, childProb, extraMeanActive, noise } = this.cfg;
    const rng = this.rowRng(row);
    for (let j = 0; j < d; j++) out[offset + j] = this.bias[j]! + noise * rng.normal();
    const addDir = (dirs: Float32Array, i: number, c: number) => {
      for (let j = 0; j < d; j++) out[offset + j]! += c * dirs[i * d + j]!;
    };
    for (let p = 0; p < P; p++) {
      const on = rng.uniform() < parentProb;
      if (parents) parents[p] = on ? 1 : 0;
      if (!on) continue;
      addDir(this.parentDirs, p, 1);
      if (rng.uniform() < childProb) {
        addDir(this.childDirs, p * C + Math.min(C - 1, Math.floor(rng.uniform() * C)), 1);
        if (parents) parents[p] = 2;
      }
    }
    // Extras: each independently with probability extraMeanActive / E.
    for (let e = 0; e < E; e++) if (rng.uniform() < extraMeanActive / E) addDir(this.extraDirs, e, 0.5 + rng.uniform());
  }

  /** Rows [start, start + count) as a [count, d] array; parents (if given) receives their [count, P] states. */
  rows(start: number, count: number, out: Float32Array = new Float32Array(count * this.cfg.dIn), parents?: Uint8Array): Float32Array {
    const { dIn: d, parents: P } = this.cfg;
    for (let r = 0; r < count; r++) this.sampleRow(start + r, out, r * d, parents?.subarray(r * P, (r + 1) * P));
    return out;
  }
}

function normalizeRowsInPlace(a: Float32Array, n: number, d: number): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += a[i * d + j]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) a[i * d + j]! *= inv;
  }
}

/** How SAE latents track a parent feature. */
export interface ParentTracking {
  /** The latent whose firing best matches the parent's (largest F1), that F1, and its decoder row's cosine with the parent's direction. */
  latent: number;
  f1: number;
  cos: number;
  /** That latent's recall over the samples where one of the parent's children fires too (absorption misses these). */
  recallUnderChild: number;
  /** The largest cosine of any decoder row with the parent's direction. */
  maxCos: number;
}

/**
 * For each parent: the latent whose firing (f [N, M], active where > 0) best matches the parent's ground truth
 * (parents [N, P], the states rows() reports) by F1, with its decoder cosine and its recall where a child fires
 * too; and the best cosine of any decoder row [M, d].
 */
export function parentTracking(model: HierarchicalModel, decoder: Float32Array, f: Float32Array, parents: Uint8Array): ParentTracking[] {
  const { dIn: d, parents: P } = model.cfg;
  const M = decoder.length / d;
  const N = parents.length / P;
  const cosine = (p: number, m: number) => {
    let dot = 0;
    let nn = 0;
    for (let j = 0; j < d; j++) {
      dot += model.parentDirs[p * d + j]! * decoder[m * d + j]!;
      nn += decoder[m * d + j]! ** 2;
    }
    return dot / (Math.sqrt(nn) || 1);
  };
  const out: ParentTracking[] = [];
  for (let p = 0; p < P; p++) {
    let best = { latent: 0, f1: -1, recallUnderChild: 0 };
    for (let m = 0; m < M; m++) {
      let tp = 0, fp = 0, fn = 0, child = 0, childHit = 0;
      for (let r = 0; r < N; r++) {
        const on = f[r * M + m]! > 0;
        const state = parents[r * P + p]!;
        if (on && state > 0) tp++;
        else if (on) fp++;
        else if (state > 0) fn++;
        if (state === 2) {
          child++;
          if (on) childHit++;
        }
      }
      const f1 = tp ? (2 * tp) / (2 * tp + fp + fn) : 0;
      if (f1 > best.f1) best = { latent: m, f1, recallUnderChild: child ? childHit / child : 0 };
    }
    let maxCos = -1;
    for (let m = 0; m < M; m++) maxCos = Math.max(maxCos, cosine(p, m));
    out.push({ ...best, cos: cosine(p, best.latent), maxCos });
  }
  return out;
}
