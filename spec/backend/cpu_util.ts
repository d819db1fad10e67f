// Shared pieces of the CPU oracle specs: seeded value generators, storage upload, and a tolerance check that
// reports the first mismatches (llm.c check_tensor style). The oracles themselves live in each spec file.
import fc from 'fast-check';
import type { Backend, Storage } from '../../src/backend/backend.js';
import { Rng } from '../../src/rng.js';

/** Dimensions 1..67: 1, odd sizes and non-multiples of any tile or workgroup size come up often. */
export const dim = fc.integer({ min: 1, max: 67 });
export const seed = fc.integer({ min: 0, max: 2 ** 32 - 1 });

/**
 * How values are drawn: 'uniform' continuous f32 in [-2, 2); 'ints' small integers (ties everywhere) with
 * both signs of zero; 'dense' neighbouring f32s around +-1 (keys differ only in the lowest bits);
 * 'extreme' the ends of the finite f32 range, denormals and signed zeros.
 */
export type Style = 'uniform' | 'ints' | 'dense' | 'extreme';
export const style = fc.constantFrom<Style>('uniform', 'ints', 'dense', 'extreme');

const EXTREMES = [
  -3.4028234663852886e38, -1, -1.401298464324817e-45, -0, 0, 1.401298464324817e-45, 1e-40, 1, 3.4028234663852886e38,
];

export function values(rng: Rng, n: number, st: Style = 'uniform'): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    switch (st) {
      case 'uniform':
        out[i] = rng.uniformIn(-2, 2);
        break;
      case 'ints': {
        const v = rng.int(5) - 2;
        out[i] = v === 0 && rng.int(2) === 0 ? -0 : v;
        break;
      }
      case 'dense':
        out[i] = (rng.int(2) ? 1 : -1) * (1 + rng.int(48) * 2 ** -23);
        break;
      case 'extreme':
        out[i] = EXTREMES[rng.int(EXTREMES.length)]!;
        break;
    }
  }
  return out;
}

export function upload(b: Backend, data: Float32Array | Int32Array): Storage {
  const s = b.alloc(data.length, data instanceof Float32Array ? 'f32' : 'i32');
  b.write(s, data);
  return s;
}

export async function readF32(b: Backend, s: Storage): Promise<Float32Array> {
  const r = await b.read(s);
  if (!(r instanceof Float32Array)) throw new Error('expected f32 data');
  return r;
}

export async function readI32(b: Backend, s: Storage): Promise<Int32Array> {
  const r = await b.read(s);
  if (!(r instanceof Int32Array)) throw new Error('expected i32 data');
  return r;
}

/**
 * Throws unless |got[i] - ref[i]| <= tol(i) for every i (non-finite refs must match exactly, NaN with NaN).
 * The message lists the first few mismatches with their bound.
 */
export function assertClose(
  what: string,
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: (i: number) => number,
): void {
  if (got.length !== ref.length) throw new Error(`${what}: length ${got.length}, expected ${ref.length}`);
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i]!,
      r = ref[i]!;
    const ok = Number.isFinite(r) ? Math.abs(g - r) <= tol(i) : Object.is(g, r) || (Number.isNaN(g) && Number.isNaN(r));
    if (!ok) {
      count++;
      if (bad.length < 5) bad.push(`[${i}] got ${g}, ref ${r}, |diff| ${Math.abs(g - r)} > tol ${tol(i)}`);
    }
  }
  if (count) throw new Error(`${what}: ${count} of ${ref.length} mismatched:\n  ${bad.join('\n  ')}`);
}

/** Throws unless got equals ref element for element (Object.is, so -0 and +0 differ). */
export function assertSame(what: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  assertClose(what, got, ref, () => 0);
  for (let i = 0; i < ref.length; i++) {
    if (!Object.is(got[i], ref[i])) throw new Error(`${what}: [${i}] got ${got[i]}, expected ${ref[i]} (sign of zero)`);
  }
}

/** 2^-24: the unit roundoff of f32 (half an ulp at 1). */
export const U32 = 2 ** -24;
