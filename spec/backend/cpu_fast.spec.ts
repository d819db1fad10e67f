// The fast CPU backend's threaded primitives (sddmm, spmm, spmmT, adam) run the reference's loops over
// slices of the output, so they must give the reference's exact bits; sizes here are above the threshold at
// which they split (1M multiply-adds), with row and column splits landing on empty and crowded parts.
// (Its matmul is checked against the reference's bound in contract_linalg.spec.ts.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend/backend.js';
import { Rng } from '../../src/rng.js';
import { cpu, cpuFast } from '../helpers/backends.js';
import { exec } from './contract_util.js';
import { SharedPool } from '../../src/backend/cpu/shared_pool.js';

const s = suite('fast CPU backend: threaded primitives equal the reference bit for bit');

/** Ascending flat indices of a [B, m] selection: `perRow(b)` columns of row b, from rng. */
function selection(rng: Rng, B: number, m: number, perRow: (b: number) => number, same = false): Int32Array {
  const out: number[] = [];
  const shared = pick(rng, m, perRow(0));
  for (let b = 0; b < B; b++) for (const c of same ? shared : pick(rng, m, perRow(b))) out.push(b * m + c);
  return Int32Array.from(out);
}

function pick(rng: Rng, m: number, n: number): number[] {
  const set = new Set<number>();
  while (set.size < Math.min(n, m)) set.add(rng.int(m));
  return [...set].sort((a, b) => a - b);
}

async function both(inputs: (Float32Array | Int32Array)[], fn: (be: Backend, st: import('../../src/backend/backend.js').Storage[]) => void, read: number[], what: string) {
  const ref = await exec(cpu, inputs, (st) => fn(cpu, st), read);
  const got = await exec(cpuFast(), inputs, (st) => fn(cpuFast(), st), read);
  for (let i = 0; i < read.length; i++) assert.equal(Array.from(got[i]!), Array.from(ref[i]!), `${what} output ${i}`);
}

const normal = (rng: Rng, n: number) => rng.fillNormal(new Float32Array(n));

s('sddmm, spmm, spmmT: random rows (some empty), and every row on the same columns (AuxK-like)', async () => {
  const rng = new Rng(11);
  const [B, m] = [128, 257];
  // d = 260 runs the JavaScript range kernels; d = 264 (a multiple of 8) the WebAssembly ones (wasm_kernels.ts).
  for (const [d, same] of [[260, false], [260, true], [264, false], [264, true]] as const) {
    const idx = selection(rng, B, m, (b) => (same ? 64 : b % 7 === 3 ? 0 : 1 + (b % 90)), same);
    const K = idx.length;
    assert.ok(K * d >= 1 << 20, `work ${K * d} must reach the split threshold`);
    const a = normal(rng, B * d),
      w = normal(rng, m * d),
      vals = normal(rng, K);
    await both([new Float32Array(K), a, w, idx], (be, [o, as, ws, is]) => be.sddmm(o!, as!, ws!, is!, m, d), [0], `sddmm d=${d} same=${same}`);
    await both([new Float32Array(B * d), vals, idx, w], (be, [o, vs, is, ws]) => be.spmm(o!, vs!, is!, m, ws!, B, d), [0], `spmm d=${d} same=${same}`);
    await both([new Float32Array(m * d), vals, idx, a], (be, [o, vs, is, gs]) => be.spmmT(o!, vs!, is!, m, gs!, d), [0], `spmmT d=${d} same=${same}`);
  }
});

s('spmmT with d = 1 (per-column sums, one pass in entry order): random rows and every row on the same columns', async () => {
  const rng = new Rng(13);
  const [B, m] = [2048, 1031];
  for (const same of [false, true]) {
    const idx = selection(rng, B, m, (b) => (same ? 300 : b % 5 === 2 ? 0 : 1 + (b % 40)), same);
    const vals = normal(rng, idx.length),
      g = normal(rng, B);
    await both([new Float32Array(m), vals, idx, g], (be, [o, vs, is, gs]) => be.spmmT(o!, vs!, is!, m, gs!, 1), [0], `spmmT d=1 same=${same}`);
  }
});

s('adam over 2^20 + 3 parameters, two steps', async () => {
  const rng = new Rng(12);
  const n = (1 << 20) + 3;
  const inputs = [normal(rng, n), new Float32Array(n), new Float32Array(n), normal(rng, n)];
  await both(
    inputs,
    (be, [p, m, v, g]) => {
      be.adam(p!, m!, v!, g!, { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, bc1: 0.1, bc2: 0.01 });
      be.adam(p!, m!, v!, g!, { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, bc1: 0.19, bc2: 0.0199 });
    },
    [0, 1, 2],
    'adam',
  );
});

s('unary and binary (every op, every broadcast, aliased output) over about 2^20 elements', async () => {
  const rng = new Rng(14);
  const [rows, cols] = [1031, 1031]; // >= 2^20 elements: above the split threshold, so the threads run
  const n = rows * cols;
  const x = normal(rng, n);
  for (const op of ['neg', 'exp', 'abs', 'square', 'relu', 'step'] as const) {
    await both([new Float32Array(n), x], (be, [o, xs]) => be.unary(op, o!, xs!), [0], `unary ${op}`);
  }
  const operand = { full: normal(rng, n), row: normal(rng, cols), col: normal(rng, rows), scalar: normal(rng, 1) };
  const cases = [
    ...(['add', 'sub', 'mul', 'div', 'max', 'min', 'gt', 'ge'] as const).map((op) => [op, 'full', 'row'] as const),
    ...([['col', 'full'], ['full', 'scalar'], ['row', 'col'], ['full', 'full']] as const).map(([am, bm]) => ['sub', am, bm] as const),
  ];
  for (const [op, am, bm] of cases) {
    await both([new Float32Array(n), operand[am], operand[bm]], (be, [o, as, bs]) => be.binary(op, o!, as!, am, bs!, bm, rows, cols), [0], `binary ${op} ${am}/${bm}`);
  }
  // out aliasing its full operand (allowed by the contract): a += row
  await both([operand.full.slice(), operand.row], (be, [a, r]) => be.binary('add', a!, a!, 'full', r!, 'row', rows, cols), [0], 'binary add in place');
});

// k = 1 and 8 take the heap scan on the worker threads (cpu/row_select.ts heapPays), 32 and 1031 the radix select.
// The negative rows keep the heap's threshold below zero (its other compare).
s('per-row topk over [1031, 1031] (k = 1, 8, 32, 1031): rows of ties and negative rows, same indices as the reference', async () => {
  const rng = new Rng(15);
  const [rows, cols] = [1031, 1031]; // 1031 * 1031 >= 2^20 entries: above the split threshold
  const ties = normal(rng, rows * cols).map((v, i) => (i % 5 === 0 ? 0.5 : v > 0 ? v : 0));
  const negative = normal(rng, rows * cols).map((v) => -Math.abs(v));
  for (const [what, x] of [['ties', ties], ['negative', negative]] as const) {
    for (const k of [1, 8, 32, cols]) {
      await both([new Int32Array(rows * k), x], (be, [o, xs]) => be.topk(o!, xs!, rows, cols, k), [0], `topk ${what} k=${k}`);
    }
  }
});

// BatchTopK's one long row splits its two passes over the threads (cpu_fast.ts batchTopk); the cut lands in
// an ordinary bucket, in a bucket of ties (0.5 repeated), and at 0 when fewer entries are positive than k.
s('batch topk over [1, 3 * 2^20 + 5] (cut in a plain bucket, among ties, at zero): same indices as the reference', async () => {
  const rng = new Rng(16);
  const n = 3 * (1 << 20) + 5;
  const relu = normal(rng, n).map((v) => (v > 0 ? v : 0));
  const ties = relu.map((v, i) => (i % 7 === 0 ? 0.5 : v));
  const positives = relu.reduce((c, v) => c + (v > 0 ? 1 : 0), 0);
  const aboveHalf = ties.reduce((c, v) => c + (v > 0.5 ? 1 : 0), 0);
  for (const [what, x, k] of [
    ['relu', relu, 131072],
    ['ties', ties, aboveHalf + 100_000], // the cut is 0.5, kept for the first 100000 of about 450000 ties
    ['zero cut', relu, positives + 1000],
  ] as const) {
    await both([new Int32Array(k), x], (be, [o, xs]) => be.topk(o!, xs!, 1, n, k), [0], `batch topk ${what} k=${k}`);
  }
});

s('shared pool: pieces carved from a free buffer are zeroed and disjoint; the buffer returns when all are freed', () => {
  const pool = new SharedPool(1 << 30);
  const big = pool.take(8 << 20);
  new Uint8Array(big.buf).fill(7);
  pool.give(big.buf);
  const a = pool.take(3 << 20);
  const b = pool.take(3 << 20);
  assert.is(a.buf, big.buf, 'carved from the free 8 MiB buffer');
  assert.is(b.buf, big.buf);
  assert.ok(b.offset >= a.offset + (3 << 20), 'disjoint');
  for (const p of [a, b]) assert.ok(new Uint8Array(p.buf, p.offset, 3 << 20).every((v) => v === 0), 'zeroed');
  const c = pool.take(3 << 20);
  assert.is.not(c.buf, big.buf, 'no room left: a new buffer');
  pool.give(a.buf);
  assert.is.not(pool.take(8 << 20).buf, big.buf, 'still in use by b');
  pool.give(b.buf);
  assert.is(pool.take(8 << 20).buf, big.buf, 'whole again once its last piece is freed');
});

s('a bad selection fails as on the reference (checked before any thread runs)', async () => {
  const [B, m, d] = [64, 300, 256];
  const idx = selection(new Rng(13), B, m, () => 64);
  idx[10] = idx[9]!; // not strictly ascending
  const inputs = [new Float32Array(idx.length), normal(new Rng(1), B * d), normal(new Rng(2), m * d), idx];
  for (const be of [cpu, cpuFast()]) {
    let msg = '';
    await exec(be, inputs, ([o, a, w, i]) => be.sddmm(o!, a!, w!, i!, m, d), [0]).catch((e: Error) => (msg = e.message));
    assert.match(msg, /strictly ascending/, (be as { variant?: string }).variant ?? be.name);
  }
});

s.run();
