// Per-row top-k for small k by one scan with a k-entry heap, with select.ts's result exactly.
//
// The heap holds the k best entries seen so far, ranked like select.ts: by `key` (the signed order key of
// the f32 bits), then lower column first. Its root is the worst of them (lowest key; among equal keys the
// highest column). Columns arrive in ascending order, so a new entry beats the root exactly when its key is
// strictly greater: on an equal key the root has the lower column. After the scan the heap holds the row's
// top k under select.ts's total order, whatever the bits (-0/+0, NaN, infinities), so the indices are the same.
//
// Cost: one load and one compare per entry once the heap is full; on random rows only ~k ln(cols/k) entries
// enter it. The compare against the root's key t needs no key: while t >= 0, key(u) > t iff u > t as int32
// (a set sign bit is a negative int32 and has key <= 0; otherwise u == key(u)); while t < 0 (t > -2^31),
// key(u) > t iff u read as unsigned is below 2^31 - t, i.e. iff (u ^ 0x80000000) < -t as int32 (entries
// without the sign bit pass, as their key >= 0 > t; with it, key(u) = -(u & 0x7fffffff) > t iff u & 0x7fffffff < -t).
// Rows that feed the heap too often (ascending rows) give up after `budget` insertions and take the radix
// select, so they cost at most about twice that.
import { key, selectRange, type SelectScratch } from './select.js';

// When to use the heap. An insertion costs about depth = log2(k+1) sift steps (each a likely branch miss);
// measured on this machine, a radix select of a row costs about as much as 0.6 * cols sift steps.
// Rows in random order insert ~k (1 + ln(cols/k)) times, so the heap is used where that expected work is at
// most half of the give-up budget, 0.3 * cols sift steps; a row that spends the whole budget (0.6 * cols) takes
// the radix select, costing at most about twice a radix select in all (measured: <= 1.7x on ascending rows).

/** Whether the heap scan is used for rows of `cols` with this k (see above). */
export function heapPays(cols: number, k: number): boolean {
  return k < cols && k * (1 + Math.log(cols / k)) * Math.log2(k + 1) <= 0.3 * cols;
}

/** Insertions after which a row gives up the heap for the radix select (see above). */
export function heapBudget(cols: number, k: number): number {
  return Math.floor((0.6 * cols) / Math.log2(k + 1));
}

/**
 * Restores the heap below slot j after hk[j]/hc[j] was replaced by (s, c). "Worse" = lower key, or equal key
 * and higher column; the root is the worst.
 */
export function siftDown(hk: Int32Array, hc: Int32Array, k: number, j: number, s: number, c: number): void {
  for (;;) {
    let m = 2 * j + 1;
    if (m >= k) break;
    let ms = hk[m]!;
    let mc = hc[m]!;
    const r = m + 1;
    if (r < k) {
      const rs = hk[r]!;
      const rc = hc[r]!;
      if (rs < ms || (rs === ms && rc > mc)) {
        m = r;
        ms = rs;
        mc = rc;
      }
    }
    if (ms > s || (ms === s && mc < c)) break;
    hk[j] = ms;
    hc[j] = mc;
    j = m;
  }
  hk[j] = s;
  hc[j] = c;
}

/**
 * Top-k of bits[base, base+n) by the heap scan, written as ascending flat indices to out[o, o+k); 1 <= k < n.
 * hk, hc: scratch of >= k entries. Returns false (out untouched) when the row needed more than `budget`
 * insertions; the caller then uses the radix select.
 */
export function heapRow(
  out: Int32Array,
  o: number,
  bits: Int32Array,
  base: number,
  n: number,
  k: number,
  hk: Int32Array,
  hc: Int32Array,
  budget: number,
): boolean {
  const end = base + n;
  for (let j = 0; j < k; j++) {
    hk[j] = key(bits[base + j]!);
    hc[j] = base + j;
  }
  for (let j = (k >> 1) - 1; j >= 0; j--) siftDown(hk, hc, k, j, hk[j]!, hc[j]!);
  let t = hk[0]!;
  let left = budget;
  let i = base + k;
  // Blocks of 8 entries are tested with one chain of compares (measured ~2x faster than a branch per entry);
  // a block holding a candidate is rescanned entry by entry. The block tests need no key (see the header).
  // Root key < 0: key(u) > t iff (u ^ 0x80000000) < -t as int32. (A local: par.ts ships only functions.)
  const SIGN = -2147483648;
  for (; i + 8 <= end && t < 0; i += 8) {
    const nt = -t;
    if (
      (bits[i]! ^ SIGN) < nt || (bits[i + 1]! ^ SIGN) < nt || (bits[i + 2]! ^ SIGN) < nt || (bits[i + 3]! ^ SIGN) < nt ||
      (bits[i + 4]! ^ SIGN) < nt || (bits[i + 5]! ^ SIGN) < nt || (bits[i + 6]! ^ SIGN) < nt || (bits[i + 7]! ^ SIGN) < nt
    ) {
      for (let j = i; j < i + 8; j++) {
        const s = key(bits[j]!);
        if (s > t) {
          if (--left < 0) return false;
          siftDown(hk, hc, k, 0, s, j);
          t = hk[0]!;
        }
      }
    }
  }
  // Root key >= 0: key(u) > t iff u > t as int32.
  for (; i + 8 <= end; i += 8) {
    if (bits[i]! > t || bits[i + 1]! > t || bits[i + 2]! > t || bits[i + 3]! > t || bits[i + 4]! > t || bits[i + 5]! > t || bits[i + 6]! > t || bits[i + 7]! > t) {
      for (let j = i; j < i + 8; j++) {
        const u = bits[j]!;
        if (u > t) {
          if (--left < 0) return false;
          siftDown(hk, hc, k, 0, u, j);
          t = hk[0]!;
        }
      }
    }
  }
  // The last < 8 entries: keys.
  for (; i < end; i++) {
    const s = key(bits[i]!);
    if (s > t) {
      if (--left < 0) return false;
      siftDown(hk, hc, k, 0, s, i);
      t = hk[0]!;
    }
  }
  // The survivors' columns, ascending (the native sort: measured faster than an insertion sort from k = 16 up).
  const cs = hc.subarray(0, k).sort();
  for (let j = 0; j < k; j++) out[o + j] = cs[j]!;
  return true;
}

/** Per-row top-k of rows [r0, r1) of a [rows, cols] matrix of f32 bits; the result is select.ts's. */
export function topkRowSpan(
  out: Int32Array,
  bits: Int32Array,
  cols: number,
  k: number,
  r0: number,
  r1: number,
  scr: SelectScratch,
): void {
  if (!heapPays(cols, k)) {
    for (let r = r0; r < r1; r++) selectRange(out, r * k, bits, r * cols, cols, k, scr);
    return;
  }
  const hk = new Int32Array(k);
  const hc = new Int32Array(k);
  const budget = heapBudget(cols, k);
  for (let r = r0; r < r1; r++) {
    if (!heapRow(out, r * k, bits, r * cols, cols, k, hk, hc, budget)) selectRange(out, r * k, bits, r * cols, cols, k, scr);
  }
}

/** Per-row top-k of an [rows, cols] matrix given as f32 bit patterns; see backend.ts `topk` for the contract. */
export function topkRows(out: Int32Array, bits: Int32Array, rows: number, cols: number, k: number, scr: SelectScratch): void {
  topkRowSpan(out, bits, cols, k, 0, rows, scr);
}
