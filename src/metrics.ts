// Evaluation metrics, accumulated over batches in float64 on the host:
//   nmse = sum ||x - x_hat||^2 / sum ||x||^2
//   fvu  = sum ||x - x_hat||^2 / sum ||x - mean(x)||^2   (mean: per dimension over the whole set)
// both in the original activation space; mean L0 (positive latents per sample); the fraction of latents
// never active over the set; and the histogram of active latents per sample (the paper's Figure 3).
// The variance about the mean is combined across batches with Chan et al.'s parallel update, which stays
// accurate when the mean is large compared with the spread.
// A latent that fires on a fraction p of tokens shows no activation in n independent tokens with probability
// (1 - p)^n, so "dead over n tokens" only means "rarer than about 3/n": deadFrequencyFloor states that
// bound and smallEvalWarning says when it is too coarse for the run's own definition of dead.
// Beside them, SAEBench's "core" metrics under SAEBench's names (sae_implementations.md §5), in the
// original activation space, over the whole set rather than averaged per batch:
//   explained_variance = 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2  (centred: SAELens after #665; = 1 - fvu)
//   cossim   = mean over rows of x . x_hat / (||x|| ||x_hat||)
//   l2_ratio = mean over rows of ||x_hat|| / ||x||
//   frac_alive = share of latents active at least once; freq_over_1_percent / freq_over_10_percent = share
//   of latents active on more than 1% / 10% of rows.
// Rows with x = 0 have no direction or ratio and are left out of cossim and l2_ratio; a row whose x_hat is
// 0 (no latent fired, zero decoder bias) has cosine 0, as torch.cosine_similarity gives.

export interface BatchStats {
  rows: number;
  /** sum ||x - x_hat||^2 */
  sse: number;
  /** sum ||x||^2 */
  sumSq: number;
  /** [D] per-dimension batch mean and sum of squared deviations from it. */
  colMean: Float32Array;
  colM2: Float32Array;
  /** [B] active latents per sample. */
  l0: Float32Array;
  /** [M] samples in which each latent was active. */
  fired: Float32Array;
  /** [B] per row: x . x_hat, ||x||^2 and ||x_hat||^2 (original space), for cossim and l2_ratio. */
  dot: Float32Array;
  xSq: Float32Array;
  xhatSq: Float32Array;
}

export interface EvalMetrics {
  tokens: number;
  nmse: number;
  fvu: number;
  l0: number;
  deadFraction: number;
  /**
   * The firing frequency a latent needs to be seen at least once in these `tokens` with probability 95%
   * (1 - 0.05^(1/n), about 3/n): latents rarer than this may be counted dead although alive.
   */
  deadFrequencyFloor: number;
  /** l0Histogram[n] = samples with exactly n active latents (up to the largest n seen). */
  l0Histogram: number[];
  /** SAEBench core metrics (names as SAEBench writes them; see the header). */
  explained_variance: number;
  cossim: number;
  l2_ratio: number;
  frac_alive: number;
  freq_over_1_percent: number;
  freq_over_10_percent: number;
}

/** The SAEBench core metrics' names, in the order reports list them. */
export const CORE_METRICS = ['explained_variance', 'cossim', 'l2_ratio', 'frac_alive', 'freq_over_1_percent', 'freq_over_10_percent'] as const;
export type CoreMetrics = Pick<EvalMetrics, (typeof CORE_METRICS)[number]>;

export class MetricsAccumulator {
  private n = 0;
  private sse = 0;
  private sumSq = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private l0Sum = 0;
  private readonly hist: number[] = [];
  /** Rows in which each latent fired (float64: exact counts far beyond 2^24). */
  private readonly firedRows: Float64Array;
  private cosSum = 0;
  private ratioSum = 0;
  /** Rows with ||x|| > 0: the denominator of cossim and l2_ratio. */
  private nonzeroRows = 0;

  constructor(dIn: number, dSae: number) {
    this.mean = new Float64Array(dIn);
    this.m2 = new Float64Array(dIn);
    this.firedRows = new Float64Array(dSae);
  }

  add(b: BatchStats): void {
    if (b.colMean.length !== this.mean.length || b.fired.length !== this.firedRows.length) {
      throw new Error(`metrics: batch stats of width ${b.colMean.length}/${b.fired.length}, expected ${this.mean.length}/${this.firedRows.length}`);
    }
    if (b.dot.length !== b.rows || b.xSq.length !== b.rows || b.xhatSq.length !== b.rows) {
      throw new Error(`metrics: per-row dot/xSq/xhatSq of lengths ${b.dot.length}/${b.xSq.length}/${b.xhatSq.length}, expected ${b.rows}`);
    }
    const na = this.n;
    const nb = b.rows;
    const n = na + nb;
    for (let j = 0; j < this.mean.length; j++) {
      const delta = b.colMean[j]! - this.mean[j]!;
      this.m2[j]! += b.colM2[j]! + (delta * delta * na * nb) / n;
      this.mean[j]! += (delta * nb) / n;
    }
    this.n = n;
    this.sse += b.sse;
    this.sumSq += b.sumSq;
    for (const v of b.l0) {
      const c = Math.round(v);
      this.l0Sum += c;
      while (this.hist.length <= c) this.hist.push(0);
      this.hist[c]!++;
    }
    b.fired.forEach((f, i) => {
      this.firedRows[i]! += Math.round(f);
    });
    for (let r = 0; r < b.rows; r++) {
      const nx = Math.sqrt(b.xSq[r]!);
      if (!(nx > 0)) continue;
      const nh = Math.sqrt(b.xhatSq[r]!);
      this.nonzeroRows++;
      this.ratioSum += nh / nx;
      if (nh > 0) this.cosSum += b.dot[r]! / (nx * nh);
    }
  }

  result(): EvalMetrics {
    if (this.n === 0) throw new Error('metrics: no evaluation data');
    let variance = 0;
    for (const v of this.m2) variance += v;
    const m = this.firedRows.length;
    let alive = 0;
    let over1 = 0;
    let over10 = 0;
    for (const f of this.firedRows) {
      if (f > 0) alive++;
      if (f / this.n > 0.01) over1++;
      if (f / this.n > 0.1) over10++;
    }
    const fvu = this.sse / variance;
    return {
      tokens: this.n,
      nmse: this.sse / this.sumSq,
      fvu,
      l0: this.l0Sum / this.n,
      deadFraction: 1 - alive / m,
      deadFrequencyFloor: deadFrequencyFloor(this.n),
      l0Histogram: [...this.hist],
      explained_variance: 1 - fvu,
      cossim: this.nonzeroRows > 0 ? this.cosSum / this.nonzeroRows : NaN,
      l2_ratio: this.nonzeroRows > 0 ? this.ratioSum / this.nonzeroRows : NaN,
      frac_alive: alive / m,
      freq_over_1_percent: over1 / m,
      freq_over_10_percent: over10 / m,
    };
  }
}

/** Chance that a latent firing on a fraction p of tokens shows no activation in n tokens: (1 - p)^n. */
export function missProbability(p: number, n: number): number {
  return Math.exp(n * Math.log1p(-p));
}

/** The smallest firing frequency seen at least once in n tokens with probability 1 - miss: 1 - miss^(1/n). */
export function deadFrequencyFloor(n: number, miss = 0.05): number {
  return n > 0 ? -Math.expm1(Math.log(miss) / n) : 1;
}

/**
 * A warning when `evalTokens` cannot support the dead fraction: training calls a latent alive if it fired
 * within the last `deadTokens` tokens, so it may fire as rarely as 1/deadTokens; the evaluation should see
 * such a latent with probability >= 95%, i.e. missProbability(1/deadTokens, n) <= 0.05, which needs
 * n >= ln(0.05) / ln(1 - 1/deadTokens) (about 3 deadTokens). Null when the evaluation is large enough.
 */
export function smallEvalWarning(evalTokens: number, deadTokens: number): string | null {
  const need = Math.ceil(Math.log(0.05) / Math.log1p(-1 / deadTokens));
  if (evalTokens >= need) return null;
  const miss = missProbability(1 / deadTokens, evalTokens);
  return (
    `warning: the dead fraction is over only ${evalTokens} evaluation tokens: a latent firing once in ${deadTokens} tokens ` +
    `(alive by --dead-tokens) shows no activation there with probability ${(100 * miss).toFixed(0)}%, so latents rarer ` +
    `than 1 in ${Math.round(1 / deadFrequencyFloor(evalTokens))} tokens may be counted dead; evaluate on at least ${need} tokens ` +
    `(--eval-fraction, --eval-tokens) to support it`
  );
}
