// The per-row heap scan (cpu/row_select.ts) and the radix select (cpu/select.ts) against a sorting oracle
// written here on raw f32 bit patterns: rank a row's columns by the order key (bits u >= 0: u; else
// -(u & 0x7fffffff), so -0 and +0 are equal and every NaN pattern has a place), descending, then by column
// ascending; keep k; emit flat indices ascending. Both paths must equal it index for index, for any bits
// (NaN, infinities, signed zeros, denormals), any k, and the row orders that stress the heap (ascending rows
// insert every entry and make it give up; constant and descending rows insert nothing).
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { heapBudget, heapPays, heapRow, topkRowSpan } from '../../src/backend/cpu/row_select.js';
import { SelectScratch, selectRange } from '../../src/backend/cpu/select.js';
import { Rng } from '../../src/rng.js';
import { seed } from './cpu_util.js';

const s = suite('cpu row select: heap scan and radix select vs a sorting oracle on f32 bits');

/** The order key, written independently of select.ts's branch-free one. */
const orderKey = (u: number) => (u >= 0 ? u : -(u & 0x7fffffff));

function oracleRow(bits: Int32Array, base: number, n: number, k: number): number[] {
  const cols = Array.from({ length: n }, (_, c) => c);
  cols.sort((p, q) => orderKey(bits[base + q]!) - orderKey(bits[base + p]!) || p - q);
  return cols.slice(0, k).sort((p, q) => p - q).map((c) => base + c);
}

function oracle(bits: Int32Array, rows: number, cols: number, k: number): Int32Array {
  const out = new Int32Array(rows * k);
  for (let r = 0; r < rows; r++) out.set(oracleRow(bits, r * cols, cols, k), r * k);
  return out;
}

const f32Bits = (v: number) => new Int32Array(Float32Array.of(v).buffer)[0]!;
/** Bit patterns that tie or sit at the ends of the order: signed zeros, denormals, extremes, infinities, NaNs. */
const SPECIAL = [
  0, f32Bits(-0), 1, f32Bits(-1e-45), f32Bits(1), f32Bits(-1), f32Bits(3.4028234663852886e38), f32Bits(-3.4028234663852886e38),
  0x7f800000, f32Bits(-Infinity), 0x7fc00000, 0xffc00000 | 0, 0x7f800001, 0xff800001 | 0, 0x7fffffff, -1,
];

type Kind = 'bits' | 'special' | 'relu' | 'neg' | 'negdense' | 'ints' | 'asc' | 'desc' | 'const' | 'steps' | 'zigzag';
const kind = fc.constantFrom<Kind>('bits', 'special', 'relu', 'neg', 'negdense', 'ints', 'asc', 'desc', 'const', 'steps', 'zigzag');

/** A [rows, cols] matrix of f32 bit patterns of the given kind. */
function matrix(rng: Rng, rows: number, cols: number, kd: Kind): Int32Array {
  const x = new Int32Array(rows * cols);
  const c0 = rng.normal() > 0 ? 1 : -1; // the sign of the ordered kinds, so they cover negative keys too
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let u: number;
      switch (kd) {
        case 'bits':
          u = rng.int(4294967296) | 0;
          break;
        case 'special':
          u = SPECIAL[rng.int(SPECIAL.length)]!;
          break;
        case 'relu':
          u = f32Bits(Math.max(0, rng.normal()));
          break;
        case 'neg': // all negative: the heap's threshold stays below zero
          u = f32Bits(-Math.abs(rng.normal()));
          break;
        case 'negdense': // neighbouring negative f32s: keys 1 apart and ties around the threshold
          u = f32Bits(-(1 + rng.int(48) * 2 ** -23));
          break;
        case 'ints': {
          const v = rng.int(5) - 2;
          u = f32Bits(v === 0 && rng.int(2) ? -0 : v);
          break;
        }
        case 'asc':
          u = f32Bits(c0 > 0 ? c : c - cols); // ascending (positive or negative): every entry beats the heap's worst
          break;
        case 'desc':
          u = f32Bits(c0 > 0 ? cols - c : -c - 1);
          break;
        case 'const':
          u = f32Bits(c0 * 0.75);
          break;
        case 'steps':
          u = f32Bits(Math.floor(c / 3) * c0); // runs of ties, ascending or descending
          break;
        case 'zigzag':
          u = f32Bits((c % 37) + c / cols);
          break;
      }
      x[r * cols + c] = u;
    }
  }
  return x;
}

function equal(what: string, got: Int32Array, want: Int32Array): void {
  const bad = want.findIndex((f, i) => got[i] !== f);
  if (got.length !== want.length || bad >= 0) throw new Error(`${what}: index ${bad}: got ${got[bad]}, expected ${want[bad]}`);
}

/** Every path on one matrix: heapRow (no budget, where k < cols), selectRange, and topkRowSpan, vs the oracle. */
function checkAll(x: Int32Array, rows: number, cols: number, k: number, what: string): void {
  const want = oracle(x, rows, cols, k);
  const scr = new SelectScratch();
  const radix = new Int32Array(rows * k).fill(-7);
  for (let r = 0; r < rows; r++) selectRange(radix, r * k, x, r * cols, cols, k, scr);
  equal(`radix ${what}`, radix, want);
  if (k < cols) {
    const heap = new Int32Array(rows * k).fill(-7);
    const hk = new Int32Array(k),
      hc = new Int32Array(k);
    for (let r = 0; r < rows; r++) {
      if (!heapRow(heap, r * k, x, r * cols, cols, k, hk, hc, Infinity)) throw new Error(`heap ${what}: gave up without a budget`);
    }
    equal(`heap ${what}`, heap, want);
  }
  const span = new Int32Array(rows * k).fill(-7);
  topkRowSpan(span, x, cols, k, 0, rows, scr);
  equal(`span ${what}`, span, want);
}

s('heap scan, radix select and the row dispatch equal the oracle: any bits, any k, ordered rows', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.oneof(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 71, max: 5000 })),
      fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.02, noNaN: true })),
      seed,
      kind,
      (rows, cols, kf, sd, kd) => {
        const k = kf === 1 ? cols : Math.max(1, Math.min(cols, Math.round(kf * cols)));
        checkAll(matrix(new Rng(sd), rows, cols, kd), rows, cols, k, `[${rows},${cols}] k=${k} ${kd}`);
      },
    ),
    { numRuns: 300 },
  );
});

s('k = 1, k = cols - 1 and k = cols on rows of ties and specials', () => {
  const rng = new Rng(11);
  for (const kd of ['special', 'const', 'steps', 'ints'] as const) {
    const [rows, cols] = [3, 257];
    const x = matrix(rng, rows, cols, kd);
    for (const k of [1, 2, cols - 1, cols]) checkAll(x, rows, cols, k, `k=${k} ${kd}`);
  }
});

s('ties: the lowest columns win, -0 equals +0, NaN and infinities take their key place', () => {
  const run = (vals: number[], k: number) => {
    const x = Int32Array.from(vals);
    const out = new Int32Array(k);
    if (!heapRow(out, 0, x, 0, x.length, k, new Int32Array(k), new Int32Array(k), Infinity)) throw new Error('gave up');
    return Array.from(out);
  };
  // -0 at column 1 and +0 at column 3 tie: the lower column is kept.
  assert.equal(run([f32Bits(-1), f32Bits(-0), f32Bits(-2), 0], 1), [1]);
  assert.equal(run([f32Bits(-1), 0, f32Bits(-2), f32Bits(-0)], 1), [1]);
  // A root key of -1 (-1e-45) must still compare keys: -0 (key 0, raw bits -2^31) beats it.
  assert.equal(run([f32Bits(-1e-45), f32Bits(-0)], 1), [1]);
  assert.equal(run([f32Bits(-1e-45), f32Bits(-2), f32Bits(-0), f32Bits(-1e-45)], 2), [0, 2]);
  // Five equal values, k = 3: the first three columns.
  assert.equal(run([7, 7, 7, 7, 7].map(f32Bits), 3), [0, 1, 2]);
  // +NaN (0x7fc00000) ranks above +Infinity, -NaN below -Infinity.
  assert.equal(run([f32Bits(Infinity), 0x7fc00000, f32Bits(1), 0xffc00000 | 0], 1), [1]);
  assert.equal(run([0xffc00000 | 0, f32Bits(-Infinity), f32Bits(-3)], 2), [1, 2]);
});

s('the budget: an ascending row inserts cols - k times; one fewer gives up and leaves out untouched', () => {
  const [cols, k] = [500, 16];
  const x = matrix(new Rng(3), 1, cols, 'asc');
  const hk = new Int32Array(k),
    hc = new Int32Array(k);
  const out = new Int32Array(k).fill(-7);
  assert.is(heapRow(out, 0, x, 0, cols, k, hk, hc, cols - k - 1), false);
  assert.equal(Array.from(out), new Array(k).fill(-7));
  assert.is(heapRow(out, 0, x, 0, cols, k, hk, hc, cols - k), true);
  equal('asc within budget', out, Int32Array.from(oracleRow(x, 0, cols, k)));
});

s('the heap is chosen only with k < cols; the SAE shape [*, 24576], k = 32, takes it and a giving-up row still selects exactly', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.integer({ min: 1, max: 1 << 20 }), (cols, k) => {
      if (heapPays(cols, k)) {
        assert.ok(k < cols, `heapPays(${cols}, ${k})`);
        assert.ok(heapBudget(cols, k) >= 1, `heapBudget(${cols}, ${k})`);
      }
    }),
  );
  assert.ok(heapPays(24576, 32));
  // Ascending rows of that shape exceed the budget: each falls back to the radix select.
  const [rows, cols, k] = [2, 24576, 32];
  assert.ok(cols - k > heapBudget(cols, k));
  for (const kd of ['asc', 'relu', 'special', 'zigzag'] as const) checkAll(matrix(new Rng(5), rows, cols, kd), rows, cols, k, `SAE shape ${kd}`);
});

s('huge rows: [2, 200000], k = 1, 32, 300', () => {
  const rng = new Rng(2026);
  const [rows, cols] = [2, 200_000];
  for (const kd of ['relu', 'bits', 'asc', 'desc'] as const) {
    const x = matrix(rng, rows, cols, kd);
    for (const k of [1, 32, 300]) checkAll(x, rows, cols, k, `huge k=${k} ${kd}`);
  }
});

s.run();
