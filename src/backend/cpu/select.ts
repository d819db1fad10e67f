// Exact top-k by radix select, for both shapes SAE training uses: per-row TopK ([B, M]; row_select.ts scans
// with a heap instead where k is small next to the row, with the same result) and
// BatchTopK (one [1, B*M] row, k = B*k_sample). Nothing is sorted.
//
// Key: each f32 bit pattern u (read as i32) maps to the signed integer s = sign * (u & 0x7fffffff), so that
// s orders exactly like the float values for finite inputs, and -0 and +0 both map to 0: they are equal values,
// so ties between them fall to the column rule like any other tie.
// Digits of s, most significant first: bits 31..21 (11 bits: sign, exponent and 2 mantissa bits, as
// (s >> 21) + 1024), then three 7-bit digits. Small later digits keep the per-row histogram work small.
//
// Per range [base, base+n):
//   1. histogram of digit 1 over the range; scan buckets from the top to find b1, the bucket holding the k-th
//      largest, and `above`, the count in higher buckets;
//   2. one pass writes every index in a bucket above b1 to out (already ascending) and collects the indices in
//      b1 with their keys (the candidates, also ascending);
//   3. three 7-bit digit passes over the candidates' keys pin down the exact cut key and the ties to keep;
//   4. the candidates are filtered in place (> cut, or == cut among the first `ties`) and merged with step 2's
//      indices from the back, giving exactly k flat indices in ascending order.
// So the data is read twice; later passes touch only the candidates, stored contiguously.

/** Reusable histogram and candidate buffers, held by the backend. */
export class SelectScratch {
  /** Two interleaved 2048-bucket histograms for pass 1 (breaks the store-to-load chain on repeated buckets). */
  readonly hist = new Int32Array(4096);
  private idx: Int32Array = new Int32Array(0);
  private keys: Int32Array = new Int32Array(0);

  /** Candidate index and key buffers of >= n entries. Very large ones are not kept, to avoid pinning memory. */
  candidates(n: number): [Int32Array, Int32Array] {
    if (this.idx.length >= n) return [this.idx, this.keys];
    const pair: [Int32Array, Int32Array] = [new Int32Array(n), new Int32Array(n)];
    if (n <= 1 << 22) [this.idx, this.keys] = pair;
    return pair;
  }
}

/**
 * Signed order key of an f32 bit pattern u: u for u >= 0, -(u & 0x7fffffff) for u < 0 (so -0 maps to 0).
 * Written branch-free (a data-dependent sign branch mispredicts on real activations: measured 3-4x slower),
 * and with `| 0` so V8 keeps it in int32 arithmetic.
 */
export function key(u: number): number {
  return ((u ^ ((u >> 31) & 0x7fffffff)) - (u >> 31)) | 0;
}

/** Set by findBucket: how many entries lie in buckets above the one it returned. */
export let aboveCount = 0;

/**
 * The bucket holding the need-th largest entry, scanning down from `top`; `split` adds a second histogram.
 * The histograms always hold >= need entries, so the scan stops by bucket 0 (the bound only guards against a hang).
 */
export function findBucket(hist: Int32Array, top: number, need: number, split: number): number {
  let b = top;
  let above = 0;
  for (; b > 0; b--) {
    const h = hist[b]! + (split ? hist[b + split]! : 0);
    if (above + h >= need) break;
    above += h;
  }
  aboveCount = above;
  return b;
}

/** Pass 1: histogram of (key >> 21) + 1024 over bits[base, end), into hist[0, 2048) + hist[2048, 4096). */
export function histTop(hist: Int32Array, bits: Int32Array, base: number, end: number): void {
  hist.fill(0);
  let i = base;
  for (; i + 1 < end; i += 2) {
    hist[(key(bits[i]!) >> 21) + 1024]!++;
    hist[(key(bits[i + 1]!) >> 21) + 3072]!++;
  }
  if (i < end) hist[(key(bits[i]!) >> 21) + 1024]!++;
}

/**
 * Pass 2: indices with key >= hi go to out from position o (returns the next position); indices with key in
 * [lo, hi) go to idx/keys (their count is known from pass 1).
 */
export function split(
  out: Int32Array,
  o: number,
  idx: Int32Array,
  keys: Int32Array,
  bits: Int32Array,
  base: number,
  end: number,
  lo: number,
  hi: number,
): number {
  let c = 0;
  for (let i = base; i < end; i++) {
    const s = key(bits[i]!);
    if (s >= lo) {
      if (s >= hi) out[o++] = i;
      else {
        idx[c] = i;
        keys[c++] = s;
      }
    }
  }
  return o;
}

/** Top-k of bits[base, base+n) (f32 bit patterns), written as ascending flat indices to out[o, o+k). */
export function selectRange(
  out: Int32Array,
  o: number,
  bits: Int32Array,
  base: number,
  n: number,
  k: number,
  scr: SelectScratch,
): void {
  const end = base + n;
  if (k === n) {
    for (let i = base; i < end; i++) out[o++] = i;
    return;
  }
  const hist = scr.hist;
  histTop(hist, bits, base, end);
  const b1 = findBucket(hist, 2047, k, 2048);
  const nCand = hist[b1]! + hist[b1 + 2048]!;
  const need = k - aboveCount;
  const prefix = b1 - 1024;

  const [idx, keys] = scr.candidates(nCand);
  const lo = prefix * 2097152;
  const a = split(out, o, idx, keys, bits, base, end, lo, lo + 2097152);

  finishSelect(out, o, k, a, idx, keys, nCand, need, prefix, hist);
}

/**
 * Steps 3 and 4 of the select, after the split: out[o, a) holds the indices above the cut bucket (ascending),
 * idx/keys[0, nCand) its candidates (ascending), of which the `need` best are kept; `prefix` is the bucket's
 * top-11-bit key prefix. Leaves exactly k ascending indices in out[o, o+k). Uses hist[0, 128) as scratch.
 */
export function finishSelect(
  out: Int32Array,
  o: number,
  k: number,
  a: number,
  idx: Int32Array,
  keys: Int32Array,
  nCand: number,
  need: number,
  prefix: number,
  hist: Int32Array,
): void {
  let sel = nCand;
  if (need < nCand) {
    // Every candidate key shares `prefix` as its top 11 bits; extend the prefix by 7 bits per pass.
    for (let shift = 14; shift >= 0; shift -= 7) {
      hist.fill(0, 0, 128);
      for (let j = 0; j < nCand; j++) {
        const s = keys[j]!;
        if (s >> (shift + 7) === prefix) hist[(s >> shift) & 127]!++;
      }
      const b = findBucket(hist, 127, need, 0);
      need -= aboveCount;
      prefix = prefix * 128 + b;
    }
    const cut = prefix;
    let ties = need;
    sel = 0;
    for (let j = 0; j < nCand; j++) {
      const s = keys[j]!;
      if (s > cut) idx[sel++] = idx[j]!;
      else if (s === cut && ties > 0) {
        idx[sel++] = idx[j]!;
        ties--;
      }
    }
  }

  mergeSelected(out, o, k, a, idx, sel);
}

/** Merge out[o, a) (ascending) with picked[0, n) (ascending) from the back into out[o, o+k), k = a - o + n. */
export function mergeSelected(out: Int32Array, o: number, k: number, a: number, picked: Int32Array, n: number): void {
  let x = a - 1;
  let y = n - 1;
  let w = o + k - 1;
  while (y >= 0) {
    const cy = picked[y]!;
    if (x >= o && out[x]! > cy) out[w--] = out[x--]!;
    else {
      out[w--] = cy;
      y--;
    }
  }
}
