// JumpReLU at a target L0. JumpReLU's L0 is set by its sparsity coefficient c, not by k, and it falls
// roughly as a power of c: log L0 is close to linear in log c. The search therefore works on
// f(c) = log L0(c) - log target in log c:
//   1. short runs (a fraction of the run's steps): from the initial c, step by a decade towards the target
//      until f changes sign, then Illinois false position (a safeguarded secant) inside the bracket until
//      the short run's L0 is within the tolerance;
//   2. full-length runs: start at phase 1's coefficient and correct with the secant through the full-length
//      results (the first correction uses phase 1's slope), until the full run's held-out L0 is within the
//      tolerance. The accepted full-length trial is the final run, so nothing is trained twice.
// Cost: typically 4-8 short runs plus 1-2 full runs. The search is deterministic given the measurements, so
// a resumed sweep replays it from its recorded trials without training again.

export interface SearchOptions {
  /** Relative tolerance on L0 (0.05: within +-5 % of the target). */
  tol: number;
  /** Steps of a phase-1 trial; >= fullSteps skips phase 1's separate runs (every trial is full length). */
  shortSteps: number;
  fullSteps: number;
  /** Coefficient of the first trial. */
  initial: number;
  /** Most trials in phase 1 and in phase 2. */
  maxShort: number;
  maxFull: number;
}

export interface Trial {
  coeff: number;
  l0: number;
  steps: number;
}

export interface SearchResult {
  coeff: number;
  l0: number;
  converged: boolean;
  trials: Trial[];
  /** Training steps spent on all trials (the cost). */
  steps: number;
}

/** Train at `coeff` for `steps` steps; the held-out L0. */
export type Measure = (coeff: number, steps: number) => Promise<number>;

const LOG_FLOOR = Math.log(1e-3); // L0 = 0 (every latent below threshold) still orders correctly

export async function searchCoefficient(target: number, measure: Measure, o: SearchOptions): Promise<SearchResult> {
  if (!(target > 0)) throw new Error(`target L0 must be > 0, got ${target}`);
  if (!(o.initial > 0)) throw new Error(`initial coefficient must be > 0, got ${o.initial}`);
  const trials: Trial[] = [];
  const f = (l0: number) => Math.max(Math.log(l0), LOG_FLOOR) - Math.log(target);
  const within = (l0: number) => Math.abs(l0 / target - 1) <= o.tol;
  const run = async (lc: number, steps: number) => {
    const coeff = Number(Math.exp(lc).toPrecision(6)); // readable in results.csv; the search keeps lc
    const l0 = await measure(coeff, steps);
    trials.push({ coeff, l0, steps });
    return f(l0);
  };

  // Phase 1 (short runs, or full ones when the run is short anyway).
  const short = Math.min(o.shortSteps, o.fullSteps);
  const full = short >= o.fullSteps;
  let slope = -1; // d f / d log c; L0 ~ 1/c until measured
  let a = Math.log(o.initial);
  let fa = await run(a, short);
  let lc = a;
  let fc = fa;
  let bracketed = false;
  if (!within(Math.exp(fa) * target)) {
    // Bracket: a decade at a time towards the target (higher c lowers L0).
    let b = a;
    let fb = fa;
    let n = 1;
    while (Math.sign(fb) === Math.sign(fa) && n < o.maxShort) {
      a = b;
      fa = fb;
      b = a + (fa > 0 ? 1 : -1) * Math.LN10;
      fb = await run(b, short);
      n++;
    }
    [lc, fc] = Math.abs(fb) < Math.abs(fa) ? [b, fb] : [a, fa];
    if (Math.sign(fb) !== Math.sign(fa)) {
      bracketed = true;
      if (fb !== fa) slope = (fb - fa) / (b - a);
      // Illinois false position on [a, b].
      let side = 0;
      while (!within(Math.exp(fc) * target) && n < o.maxShort) {
        const c = b - (fb * (b - a)) / (fb - fa);
        const fNew = await run(c, short);
        n++;
        if (Math.abs(fNew) < Math.abs(fc)) [lc, fc] = [c, fNew];
        if (Math.sign(fNew) === Math.sign(fb)) {
          [b, fb] = [c, fNew];
          if (side === -1) fa /= 2;
          side = -1;
        } else {
          [a, fa] = [c, fNew];
          if (side === 1) fb /= 2;
          side = 1;
        }
        if (b !== a && fb !== fa) slope = Math.min(-1e-3, (fb - fa) / (b - a));
      }
    }
  }
  if (full) return result(target, o.tol, trials, trials);

  // Phase 2: full-length runs, secant through their results. Without a bracket (L0 does not reach the
  // target over the coefficients tried) corrections are pointless: one full run at the best coefficient.
  let prev: [number, number] | null = null;
  let cur = lc;
  for (let i = 0; i < (bracketed || within(Math.exp(fc) * target) ? o.maxFull : 1); i++) {
    const fCur = await run(cur, o.fullSteps);
    if (within(Math.exp(fCur) * target)) break;
    if (prev && fCur !== prev[1]) slope = Math.min(-1e-3, (fCur - prev[1]) / (cur - prev[0]));
    prev = [cur, fCur];
    // Newton step with the measured slope, at most a decade at a time.
    cur = cur - Math.max(-Math.LN10, Math.min(Math.LN10, fCur / slope));
  }
  return result(target, o.tol, trials.filter((t) => t.steps === o.fullSteps), trials);
}

/** The trial of `pool` closest to the target in log L0 (the first of equals). */
function result(target: number, tol: number, pool: Trial[], all: Trial[]): SearchResult {
  const dist = (t: Trial) => Math.abs(Math.log(Math.max(t.l0, 1e-3) / target));
  const best = pool.reduce((x, y) => (dist(y) < dist(x) ? y : x));
  return { coeff: best.coeff, l0: best.l0, converged: Math.abs(best.l0 / target - 1) <= tol, trials: all, steps: all.reduce((s, t) => s + t.steps, 0) };
}
