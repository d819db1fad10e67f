// The BatchTopK inference threshold theta: the paper defines it as the expectation over batches of the
// smallest positive activation the batch selection keeps. Estimator (stated): the plain arithmetic mean
// of the per-batch minima theta_b over every training step after `warmupSteps` (early batches come from a
// barely trained encoder and would bias the mean low), accumulated on the host in float64. Batches whose
// selection holds no positive value contribute nothing.
export interface ThresholdState {
  warmupSteps: number;
  sum: number;
  count: number;
}

export class ThresholdEstimator {
  sum = 0;
  count = 0;

  constructor(readonly warmupSteps: number) {
    if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new Error(`threshold: warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  }

  /** Record theta_b of training step `step` (1-based); `minSelected` >= 1e38 means no positive value. */
  update(step: number, minSelected: number): void {
    if (step <= this.warmupSteps || !(minSelected > 0) || minSelected >= 1e38) return;
    this.sum += minSelected;
    this.count++;
  }

  /** The current estimate (0 before any batch counted). */
  get value(): number {
    return this.count ? this.sum / this.count : 0;
  }

  getState(): ThresholdState {
    return { warmupSteps: this.warmupSteps, sum: this.sum, count: this.count };
  }

  static fromState(s: ThresholdState): ThresholdEstimator {
    const t = new ThresholdEstimator(s.warmupSteps);
    t.sum = s.sum;
    t.count = s.count;
    return t;
  }
}
