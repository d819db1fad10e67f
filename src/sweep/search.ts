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
// a resumed sweep replays it from its recorded trials (SearchOptions.recorded) without training again.
// When the target is out of reach (L0 stops moving towards it: the thresholds cannot travel that far in the
// run's steps) the search stops there and SearchResult.advice says so and what to change.

/**
 * The L0 a sweep's JumpReLU runs start their thresholds at (SaeConfig.thetaInitL0) for a target k: twice
 * the target. Started at the target itself, L0 first sinks (the random decoder makes most activations hurt
 * the reconstruction, so the thresholds rise) and a short run ends below the target even unpenalised
 * (stories260K, k 8, m 256, 300 steps at lr 3e-4: 7.21 at coefficient 1e-5); from 2k it ends at 9.75 / 7.14
 * at 1e-3 / 1e-2, so the target lies inside the coefficient's range (bench/RESULTS.md).
 */
export function thetaInitL0For(k: number, dSae: number): number {
  return Math.min(2 * k, dSae - 1);
}

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
  /**
   * Trials an earlier, interrupted run of this search measured (a resumed sweep's search.json): a trial at
   * the same coefficient and steps is answered from here instead of training again. The search is
   * deterministic given its measurements, so it asks for exactly the trials it asked for before.
   */
  recorded?: readonly Trial[];
  /** Called after every trial, measured or replayed (the sweep records them as they come). */
  onTrial?: (t: Trial, replayed: boolean) => void | Promise<void>;
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
  /** Training steps spent on all trials (the cost), replayed ones included. */
  steps: number;
  /** How many of the trials were answered from `recorded` (not trained again). */
  replayed: number;
  /**
   * Null when converged; else one plain sentence: how close the search came, why it stopped (L0 no longer
   * responds to the coefficient, or the trials ran out) and what to change.
   */
  advice: string | null;
}

/** Train at `coeff` for `steps` steps; the held-out L0. */
export type Measure = (coeff: number, steps: number) => Promise<number>;

const LOG_FLOOR = Math.log(1e-3); // L0 = 0 (every latent below threshold) still orders correctly
/** A change of log L0 below this over a step means L0 has stopped responding to the coefficient. */
const SATURATED = 0.02;
/** Slopes of log L0 in log c flatter than this are treated as this (bounds a Newton step's length). */
const SLOPE_FLOOR = 0.1;
/**
 * Full runs that do not bracket the target and whose secant puts it further than this (in log c: two
 * decades) past the latest run: L0 has stopped responding, and more decades would only waste runs.
 */
const FLAT_REACH = 2 * Math.LN10;
/** ... judged only from two runs at least this far apart in log c (a factor 3): a closer pair is mostly noise. */
const FLAT_SPAN = Math.log(3);

export async function searchCoefficient(target: number, measure: Measure, o: SearchOptions): Promise<SearchResult> {
  if (!(target > 0)) throw new Error(`target L0 must be > 0, got ${target}`);
  if (!(o.initial > 0)) throw new Error(`initial coefficient must be > 0, got ${o.initial}`);
  const trials: Trial[] = [];
  const f = (l0: number) => Math.max(Math.log(l0), LOG_FLOOR) - Math.log(target);
  const within = (l0: number) => Math.abs(l0 / target - 1) <= o.tol;
  let replayed = 0;
  const run = async (lc: number, steps: number) => {
    const coeff = Number(Math.exp(lc).toPrecision(6)); // readable in results.csv; the search keeps lc
    const hit = o.recorded?.find((t) => t.coeff === coeff && t.steps === steps);
    const l0 = hit ? hit.l0 : await measure(coeff, steps);
    if (hit) replayed++;
    const t = { coeff, l0, steps };
    trials.push(t);
    await o.onTrial?.(t, hit !== undefined);
    return f(l0);
  };

  // Phase 1 (short runs, or full ones when the run is short anyway).
  const short = Math.min(o.shortSteps, o.fullSteps);
  const full = short >= o.fullSteps;
  let slope = -1; // d f / d log c; L0 ~ 1/c until measured
  let a = Math.log(o.initial);
  let saturated = false; // L0 stopped responding (phase 1's short runs, then phase 2's full ones)
  let fa = await run(a, short);
  let lc = a;
  let fc = fa;
  if (!within(Math.exp(fa) * target)) {
    // Bracket: a decade at a time towards the target (higher c lowers L0). Stop early where L0 no longer
    // responds (a short run cannot move its thresholds further): the full runs go on from the knee.
    let b = a;
    let fb = fa;
    let n = 1;
    saturated = false;
    while (Math.sign(fb) === Math.sign(fa) && n < o.maxShort && !saturated) {
      a = b;
      fa = fb;
      b = a + (fa > 0 ? 1 : -1) * Math.LN10;
      fb = await run(b, short);
      n++;
      saturated = Math.abs(fb - fa) < SATURATED;
      if (!saturated) slope = Math.min(-SLOPE_FLOOR, (fb - fa) / (b - a));
    }
    [lc, fc] = saturated || Math.abs(fa) <= Math.abs(fb) ? [a, fa] : [b, fb];
    if (Math.sign(fb) !== Math.sign(fa)) {
      // Illinois false position on [a, b] (fa, fb are halved to avoid one-sided stalls, so the slope
      // estimate uses the measured values kept in ma, mb).
      let [ma, mb] = [fa, fb];
      let side = 0;
      while (!within(Math.exp(fc) * target) && n < o.maxShort) {
        const c = b - (fb * (b - a)) / (fb - fa);
        const fNew = await run(c, short);
        n++;
        if (Math.abs(fNew) < Math.abs(fc)) [lc, fc] = [c, fNew];
        if (Math.sign(fNew) === Math.sign(fb)) {
          [b, fb, mb] = [c, fNew, fNew];
          if (side === -1) fa /= 2;
          side = -1;
        } else {
          [a, fa, ma] = [c, fNew, fNew];
          if (side === 1) fb /= 2;
          side = 1;
        }
        if (b !== a) slope = Math.min(-SLOPE_FLOOR, (mb - ma) / (b - a));
      }
    }
  }
  if (full) return finish(trials, saturated);

  // Phase 2: full-length runs. Newton steps from the latest full run with phase 1's slope at first, then
  // with the secant through two full runs: the closest pair on either side of the target once they
  // bracket it (false position), else the last two; at most a decade at a time. Stop when L0 stops
  // responding.
  const pts: [number, number][] = [];
  let cur = lc;
  saturated = false;
  for (let i = 0; i < o.maxFull; i++) {
    const fCur = await run(cur, o.fullSteps);
    if (within(Math.exp(fCur) * target)) break;
    const last = pts[pts.length - 1];
    pts.push([cur, fCur]);
    const above = pts.filter((p) => p[1] > 0).sort((x, y) => x[1] - y[1])[0];
    const below = pts.filter((p) => p[1] < 0).sort((x, y) => y[1] - x[1])[0];
    if (last && !(above && below)) {
      // Not bracketed yet: stop where the last two runs say L0 no longer moves towards the target.
      const secant = (fCur - last[1]) / (cur - last[0]);
      const flat = Math.abs(fCur - last[1]) < SATURATED || !(secant < 0) || Math.abs(fCur / secant) > FLAT_REACH;
      if (flat && Math.abs(cur - last[0]) >= FLAT_SPAN) {
        saturated = true;
        break;
      }
    }
    const pair: [number, number][] = above && below ? [above, below] : last ? [last, [cur, fCur]] : [];
    if (pair.length === 2 && pair[0]![0] !== pair[1]![0]) slope = Math.min(-SLOPE_FLOOR, (pair[1]![1] - pair[0]![1]) / (pair[1]![0] - pair[0]![0]));
    const [x0, f0] = above && below ? (Math.abs(above[1]) < Math.abs(below[1]) ? above : below) : [cur, fCur];
    cur = x0 - Math.max(-Math.LN10, Math.min(Math.LN10, f0 / slope));
  }
  return finish(trials.filter((t) => t.steps === o.fullSteps), saturated);

  function finish(pool: Trial[], flat: boolean): SearchResult {
    const r = result(target, o.tol, pool, trials);
    return { ...r, replayed, advice: r.converged ? null : advise(target, o, r, pool, flat) };
  }
}

/** The sentence for a search that did not converge (SearchResult.advice). */
function advise(target: number, o: SearchOptions, r: Omit<SearchResult, 'replayed' | 'advice'>, pool: Trial[], flat: boolean): string {
  const high = r.l0 > target;
  const closest = `closest held-out L0 ${r.l0.toPrecision(4)} at coefficient ${r.coeff} (target ${target} +-${Math.round(100 * o.tol)} %, ${pool[0]?.steps ?? o.fullSteps} steps)`;
  if (!flat) {
    return `JumpReLU search: ${closest}; the search used its ${r.trials.length} trials while L0 was still moving towards the target: allow more trials (the most full-length runs) or a wider L0 tolerance`;
  }
  const edge = pool.reduce((x, y) => ((high ? y.coeff > x.coeff : y.coeff < x.coeff) ? y : x)).coeff;
  return high
    ? `JumpReLU search: ${closest}; L0 stopped falling as the coefficient rose to ${edge}: in this many steps the thresholds cannot rise far enough. Train longer (more steps or tokens), raise the learning rate, or start the thresholds from the data (thetaInitL0)`
    : `JumpReLU search: ${closest}; L0 stopped rising as the coefficient fell to ${edge}: in this many steps the SAE does not turn more latents on even with almost no penalty. Start the thresholds from the data at a higher L0 (thetaInitL0), lower the initial threshold, or train longer`;
}

/** The trial of `pool` closest to the target in log L0 (the first of equals). */
function result(target: number, tol: number, pool: Trial[], all: Trial[]): Omit<SearchResult, 'replayed' | 'advice'> {
  const dist = (t: Trial) => Math.abs(Math.log(Math.max(t.l0, 1e-3) / target));
  const best = pool.reduce((x, y) => (dist(y) < dist(x) ? y : x));
  return { coeff: best.coeff, l0: best.l0, converged: Math.abs(best.l0 / target - 1) <= tol, trials: all, steps: all.reduce((s, t) => s + t.steps, 0) };
}
