// Issue 4, properties 1-3 (selection part): BatchTopK keeps exactly min(n*k, #positive) nonzeros per
// batch, TopK min(k, #positive) per row, every kept value >= every dropped one, ties broken by the
// documented rule (lowest flat index wins), the batch threshold reproduces the selection, and both
// backends select identically.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend/backend.js';
import { noGrad } from '../../src/autodiff/tape.js';
import * as o from '../../src/ops.js';
import { Rng } from '../../src/rng.js';
import { topkBatch, topkRows } from '../../src/sparse.js';
import { fromArray, scalar, tidy } from '../../src/tensor.js';
import { allBackends } from '../helpers/backends.js';

const s = suite('sae: BatchTopK / TopK selection semantics');

/** Pre-activations with many ties and negatives: small integers / 4 in [-2, 2]. */
function tiedPre(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.int(17) - 8) / 4);
}

async function selectHost(be: Backend, pre: Float32Array, B: number, M: number, k: number, batch: boolean) {
  return noGrad(async () => {
    const t = fromArray(be, pre, [B, M]);
    const post = o.relu(t);
    const sel = batch ? topkBatch(post, Math.min(B * k, B * M)) : topkRows(post, k);
    const idx = (await sel.idx.read()) as Int32Array;
    for (const x of [t, post, sel.idx]) x.free();
    return idx;
  });
}

const shape = fc.record({ B: fc.integer({ min: 1, max: 24 }), M: fc.integer({ min: 1, max: 70 }), seed: fc.integer({ min: 0, max: 2 ** 31 }) });

s('BatchTopK: exactly min(n*k, positives) nonzeros, kept >= dropped, ties to the lowest flat index', async () => {
  const backends = await allBackends();
  await fc.assert(
    fc.asyncProperty(shape, fc.integer({ min: 1, max: 8 }), async ({ B, M, seed }, kRaw) => {
      const k = Math.min(kRaw, M);
      const pre = tiedPre(new Rng(seed), B * M);
      const post = pre.map((v) => Math.max(v, 0));
      const positives = post.filter((v) => v > 0).length;
      const picks: Int32Array[] = [];
      for (const be of backends) {
        const idx = await selectHost(be, pre, B, M, k, true);
        picks.push(idx);
        assert.is(idx.length, B * k);
        const kept = new Set(idx);
        const nonzero = [...idx].filter((i) => post[i]! > 0).length;
        assert.is(nonzero, Math.min(B * k, positives), `${be.name}: nonzero count`);
        const cut = Math.min(...[...idx].map((i) => post[i]!));
        for (let i = 0; i < post.length; i++) {
          if (kept.has(i)) continue;
          assert.ok(post[i]! <= cut, `${be.name}: dropped ${post[i]} > kept minimum ${cut}`);
          // Tie rule: a dropped value equal to the cut must come after every kept value equal to it.
          if (post[i] === cut) assert.ok([...idx].filter((j) => post[j] === cut).every((j) => j < i), `${be.name}: tie rule at ${i}`);
        }
        for (let i = 1; i < idx.length; i++) assert.ok(idx[i]! > idx[i - 1]!, 'indices strictly ascending');
      }
      for (const p of picks.slice(1)) assert.equal([...p], [...picks[0]!], 'backends select identically');
    }),
    { numRuns: 40 },
  );
});

s('TopK: exactly min(k, positives) nonzeros per row, per-row kept >= dropped, same on both backends', async () => {
  const backends = await allBackends();
  await fc.assert(
    fc.asyncProperty(shape, fc.integer({ min: 1, max: 8 }), async ({ B, M, seed }, kRaw) => {
      const k = Math.min(kRaw, M);
      const pre = tiedPre(new Rng(seed), B * M);
      const post = pre.map((v) => Math.max(v, 0));
      const picks: Int32Array[] = [];
      for (const be of backends) {
        const idx = await selectHost(be, pre, B, M, k, false);
        picks.push(idx);
        for (let r = 0; r < B; r++) {
          const row = [...idx.slice(r * k, (r + 1) * k)];
          assert.ok(row.every((i) => Math.floor(i / M) === r), 'entries stay in their row');
          const positives = post.slice(r * M, (r + 1) * M).filter((v) => v > 0).length;
          assert.is(row.filter((i) => post[i]! > 0).length, Math.min(k, positives), `${be.name}: row ${r}`);
          const cut = Math.min(...row.map((i) => post[i]!));
          for (let c = 0; c < M; c++) {
            const i = r * M + c;
            if (!row.includes(i)) assert.ok(post[i]! < cut || (post[i] === cut && row.filter((j) => post[j] === cut).every((j) => j < i)));
          }
        }
      }
      for (const p of picks.slice(1)) assert.equal([...p], [...picks[0]!], 'backends select identically');
    }),
    { numRuns: 40 },
  );
});

s('threshold consistency: JumpReLU(theta_b) reproduces the batch selection when the cut value is unique', async () => {
  const backends = await allBackends();
  await fc.assert(
    fc.asyncProperty(shape, fc.integer({ min: 1, max: 8 }), async ({ B, M, seed }, kRaw) => {
      const k = Math.min(kRaw, M);
      // Distinct continuous values: the cut is unique with probability 1 (checked below).
      const rng = new Rng(seed);
      const pre = Float32Array.from({ length: B * M }, () => Math.fround(rng.uniformIn(-1, 2)));
      const post = pre.map((v) => Math.max(v, 0));
      for (const be of backends) {
        const idx = await selectHost(be, pre, B, M, k, true);
        const keptPos = [...idx].filter((i) => post[i]! > 0);
        if (keptPos.length === 0) continue;
        const thetaB = Math.min(...keptPos.map((i) => post[i]!));
        if (post.filter((v) => v === thetaB).length !== 1) continue;
        const mask = await noGrad(async () => {
          const m = tidy(() => o.ge(fromArray(be, pre, [B, M]), scalar(be, thetaB)));
          const v = (await m.read()) as Float32Array;
          m.free();
          return v;
        });
        const viaTheta = [...mask.keys()].filter((i) => mask[i] === 1);
        assert.equal(viaTheta, keptPos, `${be.name}: JumpReLU(theta_b) = selection`);
      }
    }),
    { numRuns: 30 },
  );
});

s.run();
