// Each latent's histogram of its nonzero activations, on fixed log-spaced bins shared by every latent, so
// it is built in the same single pass as everything else (no first pass for each latent's range):
// BINS_PER_OCTAVE bins per factor of 2 from 2^MIN_EXP to 2^MAX_EXP. Bin b holds
// EDGES[b] <= v < EDGES[b + 1], the edges being 2^(MIN_EXP + b / BINS_PER_OCTAVE) in float64; the first bin
// also takes anything smaller and the last anything larger. Activation distributions are heavy-tailed, so
// the page draws them on a log axis, where these bins are even.
export const BINS_PER_OCTAVE = 4;
export const MIN_EXP = -20;
export const MAX_EXP = 20;
export const BINS = (MAX_EXP - MIN_EXP) * BINS_PER_OCTAVE;

export const EDGES: Float64Array = Float64Array.from({ length: BINS + 1 }, (_, b) => 2 ** (MIN_EXP + b / BINS_PER_OCTAVE));

/** The bin of a positive activation v: log2 gives the guess, the float64 edges decide. */
export function binOf(v: number): number {
  let b = Math.floor((Math.log2(v) - MIN_EXP) * BINS_PER_OCTAVE);
  if (b < 0) return 0;
  if (b > BINS - 1) return BINS - 1;
  while (b > 0 && v < EDGES[b]!) b--;
  while (b < BINS - 1 && v >= EDGES[b + 1]!) b++;
  return b;
}

/** The used part of one latent's counts: edges (one more than counts; open ends as 0 and MAX_VALUE) and counts. */
export function trimHistogram(counts: ArrayLike<number>): { edges: number[]; counts: number[] } {
  let lo = 0;
  while (lo < BINS && counts[lo] === 0) lo++;
  if (lo === BINS) return { edges: [], counts: [] };
  let hi = BINS - 1;
  while (counts[hi] === 0) hi--;
  const edges: number[] = [];
  for (let b = lo; b <= hi + 1; b++) edges.push(b === 0 ? 0 : b === BINS ? Number.MAX_VALUE : EDGES[b]!);
  return { edges, counts: Array.from({ length: hi - lo + 1 }, (_, i) => counts[lo + i]!) };
}
