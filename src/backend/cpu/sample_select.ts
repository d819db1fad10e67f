// BatchTopK's selection in one pass over the data, where k is small next to n (k = B*32 of B*M entries):
// a sample of the keys brackets the cut, then one pass keeps the entries surely above the bracket, collects
// the few inside it, and skips the rest; the exact radix select (select.ts) then runs on the collected
// candidates only. The radix select reads all n entries twice; this reads them once (plus 2^16 samples).
// The result is exact whatever the sample says: if the bracket misses the cut (more than k entries above
// it, fewer than k above its bottom, or more candidates than the buffer holds) it reports failure and the
// caller runs the radix select. Sample positions come from a fixed hash of the position (stratified, so
// every stretch of the row is sampled and no stride lines up with the row length of a [B, M] matrix); they
// do not depend on any RNG state and only change the speed, never the result.
import { key, mergeSelected, SelectScratch, selectRange } from './select.js';

/** Sampled keys (a power of two); enough that the bracket is a small fraction of the entries. */
const SAMPLES = 1 << 16;
/** Half-width of the bracket in binomial standard deviations of the sampled count above the cut. */
const SIGMAS = 7;

/**
 * Top-k of bits[base, base+n), written as ascending flat indices to out[o, o+k), in one pass, or false
 * (out then holds garbage in [o, o+k) and the caller must run the radix select). Only for n >= 2^20.
 */
export function sampledSelect(out: Int32Array, o: number, bits: Int32Array, base: number, n: number, k: number, scr: SelectScratch): boolean {
  if (n < 1 << 20 || k > n / 16) return false;
  // Stratified sample: one position in each of SAMPLES equal stretches, offset by a hash of the stretch.
  const sample = new Int32Array(SAMPLES);
  const stretch = n / SAMPLES;
  for (let j = 0; j < SAMPLES; j++) {
    let h = Math.imul(j ^ 0x9e3779b9, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const at = Math.floor(j * stretch + ((h >>> 0) / 4294967296) * stretch);
    sample[j] = key(bits[base + Math.min(at, n - 1)]!);
  }
  sample.sort(); // ascending; rank r from the top is sample[SAMPLES - 1 - r]
  const r = (SAMPLES * k) / n;
  const half = SIGMAS * Math.sqrt(r) + 2;
  const rTop = Math.floor(r - half);
  const rBottom = Math.ceil(r + half);
  if (rBottom >= SAMPLES) return false;
  // Entries with key > hiKey are surely kept; those in [loKey, hiKey] are candidates; below loKey, dropped.
  const hiKey = rTop >= 0 ? sample[SAMPLES - 1 - rTop]! : 0x7fffffff;
  const loKey = sample[SAMPLES - 1 - rBottom]!;
  // Candidates expected: about (rBottom - rTop) / SAMPLES * n; room for four times that.
  const cap = Math.max(1 << 14, Math.ceil((4 * (rBottom - Math.max(rTop, 0)) * n) / SAMPLES));
  const [idx, candBits] = scr.candidates(cap);
  const end = base + n;
  let a = o;
  const aEnd = o + k;
  let c = 0;
  // With a positive bottom (the usual case after ReLU) the raw bits compare like keys for every entry that
  // can pass (negative floats are negative int32s, below it), so most entries cost one load and one compare.
  const raw = loKey > 0;
  let i = base;
  for (;;) {
    // Skip blocks of 8 that are all below the bracket with one chain of predictable compares.
    if (raw) {
      while (
        i + 8 <= end &&
        bits[i]! < loKey && bits[i + 1]! < loKey && bits[i + 2]! < loKey && bits[i + 3]! < loKey &&
        bits[i + 4]! < loKey && bits[i + 5]! < loKey && bits[i + 6]! < loKey && bits[i + 7]! < loKey
      )
        i += 8;
    }
    if (i >= end) break;
    const blockEnd = Math.min(i + 8, end);
    for (; i < blockEnd; i++) {
      const u = bits[i]!;
      if (raw && u < loKey) continue;
      const s = key(u);
      if (s < loKey) continue;
      if (s > hiKey) {
        if (a === aEnd) return false; // more than k above the bracket
        out[a++] = i;
      } else {
        if (c === cap) return false;
        idx[c] = i;
        candBits[c++] = u;
      }
    }
  }
  const sure = a - o;
  const need = k - sure;
  if (need > c) return false; // the bracket's bottom is above the cut
  if (need === 0) return true;
  // The need best candidates (the radix select over their bits: positions, ascending = index order).
  const pick = new Int32Array(need);
  selectRange(pick, 0, candBits, 0, c, need, new SelectScratch());
  // The picked candidates' flat indices (ascending), merged with the surely kept ones.
  for (let j = 0; j < need; j++) pick[j] = idx[pick[j]!]!;
  mergeSelected(out, o, k, a, pick, need);
  return true;
}
