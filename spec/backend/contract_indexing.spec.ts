// The backend contract, part 3: gather and scatterAdd agree with the CPU reference bit for bit.
// gather moves values; scatterAdd must add each destination's entries in ascending entry order onto the
// current value (the CPU's order), which the WebGPU sort-based kernel does, so its result is exactly the
// CPU's and identical from run to run (checked by running it twice).
import fc from 'fast-check';
import { suite } from 'uvu';
import { Rng } from '../../src/rng.js';
import { assertSame, seed, style, values } from './cpu_util.js';
import { agree, exec, others, size } from './contract_util.js';

const s = suite('backend contract: gather, scatterAdd');
const RUNS = { numRuns: 40 };

/** Indices into [0, n): 'random' (duplicates), 'ascending' (a strictly ascending selection), 'same' (all equal). */
function indices(rng: Rng, count: number, n: number, kind: 'random' | 'ascending' | 'same'): Int32Array {
  const idx = new Int32Array(count);
  if (kind === 'same') idx.fill(rng.int(n));
  else if (kind === 'random') for (let i = 0; i < count; i++) idx[i] = rng.int(n);
  else {
    const keep: number[] = [];
    for (let j = 0; j < n && keep.length < count; j++) if (rng.int(2) === 0) keep.push(j);
    idx.set(keep);
    return idx.subarray(0, keep.length);
  }
  return idx;
}

const kinds = fc.constantFrom('random' as const, 'ascending' as const, 'same' as const);

s('gather: random, ascending and repeated indices, any values', async () => {
  await fc.assert(
    fc.asyncProperty(size, size, seed, style, kinds, async (n, count, sd, st, kind) => {
      const rng = new Rng(sd);
      const x = values(rng, n, st);
      const idx = indices(rng, count, n, kind);
      await agree(
        [x, idx, new Float32Array(idx.length)],
        (be, [xs, is, o]) => be.gather(o!, xs!, is!),
        [2],
        (name, [got], [ref]) => assertSame(`${name} gather`, got!, ref!),
      );
    }),
    RUNS,
  );
});

s('scatterAdd: duplicates add in entry order onto out, bit for bit, and the same bits every run', async () => {
  await fc.assert(
    fc.asyncProperty(size, fc.integer({ min: 0, max: 600 }), seed, kinds, async (n, count, sd, kind) => {
      const rng = new Rng(sd);
      const idx = indices(rng, count, n, kind);
      const out0 = values(rng, n, 'uniform');
      const src = values(rng, idx.length, 'uniform');
      await agree(
        [out0, src, idx],
        (be, [o, ss, is]) => be.scatterAdd(o!, ss!, is!),
        [0],
        (name, [got], [ref]) => assertSame(`${name} scatterAdd (${kind}, ${idx.length} entries into ${n})`, got!, ref!),
      );
      for (const be of await others()) {
        const [a] = await exec(be, [out0, src, idx], ([o, ss, is]) => be.scatterAdd(o!, ss!, is!), [0]);
        const [b] = await exec(be, [out0, src, idx], ([o, ss, is]) => be.scatterAdd(o!, ss!, is!), [0]);
        assertSame(`${be.name} scatterAdd run-to-run`, a!, b!);
      }
    }),
    RUNS,
  );
});

s.run();
