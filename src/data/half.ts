// IEEE binary16 (f16) and bfloat16 (bf16) <-> f32 conversion on raw bit patterns.
// f16 -> f32 goes through a 65536-entry table (256 KiB, built on first use): one load per element is
// the fastest way to widen large shards. f32 -> f16/bf16 rounds to nearest, ties to even, as numpy and
// torch do; NaN stays NaN (quiet, sign and top payload bits kept), overflow goes to +-inf.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f32 value of an f16 bit pattern (exact: every f16 is an f32). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** The f16 bit pattern nearest to `x` (rounded to f32 first, as a Float32Array store would). */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // f16 subnormal m * 2^-24: the 24-bit significand shifted right by 14 - e, rounded.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    const m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (rem > half || (rem === half && m & 1) ? m + 1 : m);
  }
  const m = mant >>> 13;
  const rem = mant & 0x1fff;
  const h = sign | (e << 10) | m;
  // A carry out of the mantissa bumps the exponent, which is exactly the right rounding (up to inf).
  return rem > 0x1000 || (rem === 0x1000 && m & 1) ? h + 1 : h;
}

/** The f32 value of a bf16 bit pattern (bf16 is the top half of an f32). */
export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** The bf16 bit pattern nearest to `x` (rounded to f32 first). */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return (b >>> 16) | 0x40;
  // b + 0x7fff + lsb stays below 2^32 for every non-NaN b, so the shift is exact.
  return (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
}

let f16Table: Float32Array | null = null;

function table(): Float32Array {
  if (f16Table === null) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}

/** dst[i] = f32(src[i]) for f16 bit patterns, i < src.length. */
export function f16ToF32Array(src: Uint16Array, dst: Float32Array): void {
  const t = table();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]!]!;
}

/** dst[i] = f32(src[i]) for bf16 bit patterns, i < src.length. */
export function bf16ToF32Array(src: Uint16Array, dst: Float32Array): void {
  const d = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) d[i] = src[i]! << 16;
}

/** f16 bit patterns of every element of `src`. */
export function f32ToF16Array(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]!);
  return out;
}

/** bf16 bit patterns of every element of `src`. */
export function f32ToBf16Array(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToBf16Bits(src[i]!);
  return out;
}
