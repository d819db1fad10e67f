// The fast CPU matmul in column blocks (src/backend/cpu/gemm_threads.ts): a product whose packed operands do
// not fit the kernel memory (2 GiB of wasm32 offsets: d 4096 x m 131072, a large LM head) is computed in
// column blocks that fit, and every output element is the same sequential k loop, so the blocked product has
// the unblocked product's bits, epilogue included (issue 17, item 16). The limit is lowered through the
// internal maxBytes parameter instead of allocating 2 GiB.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GemmThreads, unpackCols } from '../../src/backend/cpu/gemm_threads.js';
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';
import { Rng } from '../../src/rng.js';
import { assertSame, values } from './cpu_util.js';
import { exec } from './contract_util.js';

const s = suite('cpu gemm: column blocks under a memory limit give the unblocked bits');

const shared = (n: number) => new Float32Array(new SharedArrayBuffer(n * 4));

/** Bytes of kernel memory for `panels` 8-column panels at inner dimension k (gemmLayout: B panels, A and C blocks). */
const bytesFor = (k: number, panels: number) => 64 * k * 4 + panels * (8 * k * 4 + 64 * 8 * 4);

const full = new GemmThreads(2);
const one = new GemmThreads(1);

s('any shape, transposition, epilogue and output kind: blocked (1 to 4 panels a block) = unblocked', () => {
  fc.assert(
    fc.property(
      fc.record({
        m: fc.integer({ min: 1, max: 150 }),
        k: fc.integer({ min: 1, max: 70 }),
        n: fc.integer({ min: 1, max: 90 }),
        ta: fc.boolean(),
        tb: fc.boolean(),
        epi: fc.constantFrom('none', 'bias', 'bias+relu'),
        sharedOut: fc.boolean(),
        panels: fc.integer({ min: 1, max: 4 }),
        threads: fc.constantFrom(1, 2),
        seed: fc.nat(),
      }),
      ({ m, k, n, ta, tb, epi, sharedOut, panels, threads, seed }) => {
        const rng = new Rng(seed);
        const a = values(rng, m * k),
          b = values(rng, k * n);
        const bias = epi === 'none' ? null : shared(n).map(() => rng.uniformIn(-1, 1));
        const out = () => (sharedOut ? shared(m * n) : new Float32Array(m * n));
        const refO = out(),
          refR = epi === 'bias+relu' ? out() : null;
        full.matmul(refO, a, b, m, k, n, ta, tb, bias, refR);
        const g = new GemmThreads(threads, bytesFor(k, panels));
        try {
          assert.is(g.blockColumns(k, n), Math.min(n, panels * 8));
          const o = out(),
            r = epi === 'bias+relu' ? out() : null;
          g.matmul(o, a, b, m, k, n, ta, tb, bias, r);
          assertSame(`${m}x${k}x${n} ta=${ta} tb=${tb} ${epi} shared=${sharedOut} ${panels} panels, ${threads} threads`, o, refO);
          if (r) assertSame('relu output', r, refR!);
        } finally {
          g.dispose();
        }
      },
    ),
    { numRuns: 60, seed: 17 },
  );
});

s('the fast CPU backend with a lowered limit: an LM-head-like product (n = 1000, several blocks) keeps its bits', async () => {
  const rng = new Rng(5);
  const [m, k, n] = [70, 48, 1000];
  const a = values(rng, m * k),
    b = values(rng, n * k);
  const run = async (be: FastCpuBackend) => (await exec(be, [a, b, new Float32Array(m * n)], (st) => be.matmul(st[2]!, st[0]!, st[1]!, m, k, n, false, true), [2]))[0]!;
  const small = new FastCpuBackend(2, undefined, bytesFor(k, 5));
  const big = new FastCpuBackend(2);
  try {
    assertSame('blocked backend', await run(small), await run(big));
  } finally {
    small.dispose();
    big.dispose();
  }
});

s('an inner dimension too large for even one block is refused with what to do', () => {
  const g = new GemmThreads(1, bytesFor(100, 1));
  try {
    assert.is(g.blockColumns(100, 50), 8);
    assert.throws(() => g.blockColumns(101, 50), /inner dimension of 101 .* --backend cpu/);
    assert.throws(() => g.matmul(new Float32Array(4), new Float32Array(202), new Float32Array(202), 2, 101, 2, false, false), /--backend cpu/);
  } finally {
    g.dispose();
  }
});

s('copying a C block that lies beyond the memory view throws instead of writing part of the output', () => {
  // A worker's own view of the kernel memory can be shorter than the memory (V8 refreshes it when the grow
  // reaches that thread); a subarray would clamp and leave rows silently unwritten (issue 17, item 1).
  const mem = new Float32Array(100);
  const o = new Float32Array(4 * 10).fill(7);
  unpackCols(o, mem, 60, 10, 0, 4, 10, 0, 10, null, null); // rows at 60..99: inside
  assert.ok(o.every((v) => v === 0));
  assert.throws(() => unpackCols(o, mem, 70, 10, 0, 4, 10, 0, 10, null, null), /beyond the kernel memory view/);
  assert.throws(() => unpackCols(o, mem, 60, 10, 0, 4, 10, 2, 11, null, null), /beyond the kernel memory view/);
});

s('k = 0 and one-thread results agree with the two-thread product', () => {
  const rng = new Rng(9);
  const [m, k, n] = [67, 33, 29];
  const a = values(rng, m * k),
    b = values(rng, k * n);
  const o1 = new Float32Array(m * n),
    o2 = shared(m * n);
  one.matmul(o1, a, b, m, k, n, false, false);
  full.matmul(o2, a, b, m, k, n, false, false);
  assertSame('1 vs 2 threads', o1, o2);
});

s.after(() => {
  full.dispose();
  one.dispose();
});

s.run();
