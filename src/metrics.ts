// Evaluation metrics, accumulated over batches in float64 on the host:
//   nmse = sum ||x - x_hat||^2 / sum ||x||^2
//   fvu  = sum ||x - x_hat||^2 / sum ||x - mean(x)||^2   (mean: per dimension over the whole set)
// both in the original activation space; mean L0 (positive latents per sample); the fraction of latents
// never active over the set; and the histogram of active latents per sample (the paper's Figure 3).
// The variance about the mean is combined across batches with Chan et al.'s parallel update, which stays
// accurate when the mean is large compared with the spread.

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
}

export interface EvalMetrics {
  tokens: number;
  nmse: number;
  fvu: number;
  l0: number;
  deadFraction: number;
  /** l0Histogram[n] = samples with exactly n active latents (up to the largest n seen). */
  l0Histogram: number[];
}

export class MetricsAccumulator {
  private n = 0;
  private sse = 0;
  private sumSq = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private l0Sum = 0;
  private readonly hist: number[] = [];
  private readonly everFired: Uint8Array;

  constructor(dIn: number, dSae: number) {
    this.mean = new Float64Array(dIn);
    this.m2 = new Float64Array(dIn);
    this.everFired = new Uint8Array(dSae);
  }

  add(b: BatchStats): void {
    if (b.colMean.length !== this.mean.length || b.fired.length !== this.everFired.length) {
      throw new Error(`metrics: batch stats of width ${b.colMean.length}/${b.fired.length}, expected ${this.mean.length}/${this.everFired.length}`);
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
      if (f > 0) this.everFired[i] = 1;
    });
  }

  result(): EvalMetrics {
    if (this.n === 0) throw new Error('metrics: no evaluation data');
    let variance = 0;
    for (const v of this.m2) variance += v;
    let alive = 0;
    for (const f of this.everFired) alive += f;
    return {
      tokens: this.n,
      nmse: this.sse / this.sumSq,
      fvu: this.sse / variance,
      l0: this.l0Sum / this.n,
      deadFraction: 1 - alive / this.everFired.length,
      l0Histogram: [...this.hist],
    };
  }
}
