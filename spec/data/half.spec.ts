import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  bf16BitsToF32,
  bf16ToF32Array,
  f16BitsToF32,
  f16ToF32Array,
  f32ToBf16Array,
  f32ToBf16Bits,
  f32ToF16Array,
  f32ToF16Bits,
} from '../../src/data/half.js';

const s = suite('data/half');

s('f16 bit patterns decode to their exact values', () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24], // 5.96e-8, smallest subnormal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x0400, 2 ** -14], // smallest normal
    [0x3555, 0.333251953125], // nearest f16 to 1/3
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x0000, 0],
  ];
  for (const [h, v] of cases) assert.is(f16BitsToF32(h), v, `0x${h.toString(16)}`);
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.ok(Number.isNaN(f16BitsToF32(0xfc01)));
});

s('f32 -> f16 rounds to nearest, ties to even, overflow to inf', () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [65504, 0x7bff],
    [65519, 0x7bff], // below the halfway point 65520
    [65520, 0x7c00], // tie between 65504 (odd mantissa 0x3ff) and 65536 (inf): even wins
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0, 0x0000],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: 0 is even
    [2 ** -25 * (1 + 2 ** -23), 0x0001], // just above the tie
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 (x 2^-24): 2
    [5 * 2 ** -25, 0x0002], // tie between 2 and 3: 2
    [2 ** -26, 0x0000],
    [1e-45, 0x0000], // f32 subnormal
    [2 ** -14 - 2 ** -25, 0x0400], // tie between largest subnormal 0x3ff and 0x400: 0x400 (even)
    [1 + 2 ** -11, 0x3c00], // tie: 1 (even) wins over 1 + 2^-10
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02
    [1 + 2 ** -11 + 2 ** -20, 0x3c01],
    [2047.5, 0x67ff + 1], // tie between 2047 (0x67ff) and 2048 (0x6800): 2048
    [-1, 0xbc00],
  ];
  for (const [x, h] of cases) assert.is(f32ToF16Bits(x), h, `${x}`);
  assert.is(f32ToF16Bits(-0), 0x8000);
  const nan = f32ToF16Bits(NaN);
  assert.is(nan & 0x7c00, 0x7c00);
  assert.ok((nan & 0x3ff) !== 0);
});

s('every f16 survives f16 -> f32 -> f16', () => {
  for (let h = 0; h < 65536; h++) {
    const back = f32ToF16Bits(f16BitsToF32(h));
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) assert.ok((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0);
    else if (back !== h) assert.unreachable(`0x${h.toString(16)} came back as 0x${back.toString(16)}`);
  }
});

s('f32 -> f16 is the nearest f16 (property)', () => {
  fc.assert(
    fc.property(fc.float({ min: -65504, max: 65504, noNaN: true }), (x) => {
      const h = f32ToF16Bits(x);
      const err = Math.abs(f16BitsToF32(h) - x);
      const mag = h & 0x7fff;
      const sign = h & 0x8000;
      for (const m of [mag - 1, mag + 1]) {
        if (m < 0 || m > 0x7bff) continue;
        const other = Math.abs(f16BitsToF32(sign | m) - x);
        if (other < err || (other === err && (h & 1) === 1 && x !== 0)) return false;
      }
      // The sign matches unless x rounds to zero.
      return x === 0 || mag === 0 || (sign !== 0) === x < 0;
    }),
    { numRuns: 5000 },
  );
});

s('bf16 bit patterns and rounding', () => {
  assert.is(bf16BitsToF32(0x3f80), 1);
  assert.is(bf16BitsToF32(0xc000), -2);
  assert.is(bf16BitsToF32(0x7f80), Infinity);
  assert.is(bf16BitsToF32(0xff80), -Infinity);
  assert.is(bf16BitsToF32(0x7f7f), 3.3895313892515355e38); // largest finite
  assert.is(bf16BitsToF32(0x0001), 2 ** -133); // smallest subnormal
  assert.ok(Object.is(bf16BitsToF32(0x8000), -0));
  assert.ok(Number.isNaN(bf16BitsToF32(0x7fc0)));
  const cases: [number, number][] = [
    [1, 0x3f80],
    [1 + 2 ** -8, 0x3f80], // tie: even
    [1 + 3 * 2 ** -8, 0x3f82], // tie: even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [3.3895313892515355e38, 0x7f7f],
    [3.4028234663852886e38, 0x7f80], // largest f32 rounds past the largest bf16
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [2 ** -133, 0x0001],
    [-1, 0xbf80],
  ];
  for (const [x, h] of cases) assert.is(f32ToBf16Bits(x), h, `${x}`);
  assert.is(f32ToBf16Bits(-0), 0x8000);
  const nan = f32ToBf16Bits(NaN);
  assert.is(nan & 0x7f80, 0x7f80);
  assert.ok((nan & 0x7f) !== 0);
  // A NaN whose payload sits only in the low 16 bits must not truncate to inf.
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = 0x7f800001;
  const low = f32ToBf16Bits(f[0]!);
  assert.ok((low & 0x7f) !== 0, 'NaN kept');
});

s('every bf16 survives bf16 -> f32 -> bf16', () => {
  for (let h = 0; h < 65536; h++) {
    const back = f32ToBf16Bits(bf16BitsToF32(h));
    const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
    if (isNaN) assert.ok((back & 0x7f80) === 0x7f80 && (back & 0x7f) !== 0);
    else if (back !== h) assert.unreachable(`0x${h.toString(16)} came back as 0x${back.toString(16)}`);
  }
});

s('array conversions agree with the scalar ones', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const a = new Float32Array(65536);
  const b = new Float32Array(65536);
  f16ToF32Array(all, a);
  bf16ToF32Array(all, b);
  for (let h = 0; h < 65536; h++) {
    const x = f16BitsToF32(h);
    if (!(Object.is(a[h], Math.fround(x)) || (Number.isNaN(x) && Number.isNaN(a[h]!)))) {
      assert.unreachable(`f16 0x${h.toString(16)}`);
    }
    const y = bf16BitsToF32(h);
    if (!(Object.is(b[h], y) || (Number.isNaN(y) && Number.isNaN(b[h]!)))) {
      assert.unreachable(`bf16 0x${h.toString(16)}`);
    }
  }
  const xs = new Float32Array([1, -2, 65520, 2 ** -25, 1 + 2 ** -8]);
  assert.equal([...f32ToF16Array(xs)], [...xs].map(f32ToF16Bits));
  assert.equal([...f32ToBf16Array(xs)], [...xs].map(f32ToBf16Bits));
});

s.run();
