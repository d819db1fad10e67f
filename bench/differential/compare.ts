// Comparison helpers of the differential checks: bit-for-bit (f32 and i32 compared as bit patterns, so -0 vs
// +0 and NaN payloads count) and a corruption bound for comparisons across different arithmetic.

export interface Mismatch {
  /** What was compared (the check names the case). */
  what: string;
  /** Elements that differ. */
  count: number;
  /** The first differing element, and both values there. */
  first: number;
  got: number;
  want: number;
}

/** Null when got and want hold the same bits, else where they first differ. */
export function bitDiff(what: string, got: Float32Array | Int32Array, want: Float32Array | Int32Array): Mismatch | null {
  if (got.length !== want.length) return { what: `${what} (length ${got.length} vs ${want.length})`, count: Math.abs(got.length - want.length), first: 0, got: got.length, want: want.length };
  const a = new Int32Array(got.buffer, got.byteOffset, got.length),
    b = new Int32Array(want.buffer, want.byteOffset, want.length);
  let count = 0,
    first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  return count === 0 ? null : { what, count, first, got: got[first]!, want: want[first]! };
}

/**
 * Null when |got - want| <= tol * (1 + |want|) everywhere (NaN only where want is NaN), else the first
 * element beyond. For the fast backend against the reference, whose matmul rounds differently (f32 against
 * f64 accumulation): tol is far above that rounding and far below a corrupted row (issue 17: errors of ~1).
 */
export function closeDiff(what: string, got: Float32Array, want: Float32Array, tol: number): Mismatch | null {
  let count = 0,
    first = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!,
      w = want[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Math.abs(g - w) <= tol * (1 + Math.abs(w));
    if (!ok) {
      if (first < 0) first = i;
      count++;
    }
  }
  return count === 0 ? null : { what, count, first, got: got[first]!, want: want[first]! };
}

export function describe(m: Mismatch): string {
  return `${m.what}: ${m.count} elements differ, first at ${m.first} (got ${m.got}, want ${m.want})`;
}
