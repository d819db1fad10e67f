import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BatchLoader } from '../../src/data/loader.js';
import type { LoaderOptions } from '../../src/data/loader.js';
import { writeNpy } from '../../src/data/npy.js';
import { MemorySource, openSource } from '../../src/data/source.js';
import { tempDir, throwsWith } from './fixtures.js';

const s = suite('data/loader');
const tmp = tempDir('loader');
s.after(() => tmp.cleanup());

const D = 3;

/** Row i is [i, i + 0.25, -i]: the first value identifies the row, the others check rows are copied whole. */
function labelled(rows: number, bad: (i: number) => number | null = () => null): MemorySource {
  const data = new Float32Array(rows * D);
  for (let i = 0; i < rows; i++) {
    data.set([i, i + 0.25, -i], i * D);
    const v = bad(i);
    if (v !== null) data[i * D + 1 + (i % 2)] = v;
  }
  return new MemorySource(data, D, 'labelled');
}

function ids(batch: Float32Array): number[] {
  const out: number[] = [];
  for (let r = 0; r < batch.length / D; r++) {
    const i = batch[r * D]!;
    assert.equal([batch[r * D + 1], batch[r * D + 2]], [i + 0.25, -i], 'row copied whole');
    out.push(i);
  }
  return out;
}

function draw(l: BatchLoader, n: number): number[][] {
  const out = new Float32Array(l.batchSize * D);
  const res: number[][] = [];
  for (let b = 0; b < n; b++) {
    assert.is(l.nextBatch(out), l.batchSize);
    res.push(ids(out));
  }
  return res;
}

const config = fc.record({
  seed: fc.nat(),
  rows: fc.integer({ min: 2, max: 300 }),
  batchSize: fc.integer({ min: 1, max: 40 }),
  shuffleBufferRows: fc.integer({ min: 1, max: 400 }),
  evalFraction: fc.constantFrom(0, 0.1, 0.25, 0.5),
  chunkRows: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
});

s('same seed, same batches; every epoch visits each training row exactly once; eval rows never drawn', () => {
  fc.assert(
    fc.property(config, (c) => {
      const opts = (): LoaderOptions => ({ ...c, source: labelled(c.rows) });
      const a = new BatchLoader(opts());
      const b = new BatchLoader(opts());
      const epochs = 3;
      const total = a.trainRows * epochs;
      const n = Math.ceil(total / c.batchSize);
      const seqA = draw(a, n).flat();
      assert.equal(draw(b, n).flat(), seqA);
      for (let e = 0; e < epochs; e++) {
        const epoch = seqA.slice(e * a.trainRows, (e + 1) * a.trainRows).sort((x, y) => x - y);
        assert.equal(
          epoch,
          Array.from({ length: a.trainRows }, (_, i) => i),
          `epoch ${e} is a permutation of the train rows`,
        );
      }
      assert.is(a.trainRows + a.evalRows, c.rows);
      const evalIds: number[] = [];
      for (const batch of a.evalBatches(7)) evalIds.push(...ids(batch));
      assert.equal(
        evalIds,
        Array.from({ length: a.evalRows }, (_, i) => a.trainRows + i),
        'eval rows in order',
      );
      if (c.evalFraction > 0) assert.ok(a.evalRows >= 1);
    }),
    { numRuns: 60 },
  );
});

s('different seeds and different epochs give different orders', () => {
  const mk = (seed: number) => new BatchLoader({ source: labelled(200), batchSize: 200, seed, shuffleBufferRows: 64 });
  const a = mk(1);
  const [e0, e1] = draw(a, 2);
  assert.not.equal(e0, e1);
  assert.not.equal(draw(mk(2), 1)[0], e0);
  assert.not.equal(
    e0,
    Array.from({ length: 200 }, (_, i) => i),
  );
  // The buffer mixes rows from distant chunks: the first window's rows are not one contiguous run.
  const first = e0!.slice(0, 64).sort((x, y) => x - y);
  assert.ok(first[63]! - first[0]! > 64);
});

s('resume: a loader restored from the JSON state after N batches continues exactly like an uninterrupted one', () => {
  fc.assert(
    fc.property(config, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 30 }), (c, n, m) => {
      // Row 0 is always a finite training row, so no configuration is all-bad.
      const source = labelled(c.rows, (i) => (i % 7 === 3 ? NaN : null));
      const opts: LoaderOptions = { ...c, source };
      const full = new BatchLoader(opts);
      const whole = draw(full, n + m);
      const first = new BatchLoader(opts);
      draw(first, n);
      const state = JSON.parse(JSON.stringify(first.getState()));
      const resumed = BatchLoader.fromState(opts, state);
      assert.equal(draw(resumed, m), whole.slice(n));
      assert.is(resumed.batchesDrawn, n + m);
      assert.is(resumed.skippedNonFinite, full.skippedNonFinite);
      assert.is(resumed.epoch, full.epoch);
    }),
    { numRuns: 60 },
  );
});

s('a state from another seed or data set is refused', () => {
  const a = new BatchLoader({ source: labelled(50), batchSize: 4, seed: 1, shuffleBufferRows: 16 });
  draw(a, 3);
  const st = a.getState();
  throwsWith(
    () => BatchLoader.fromState({ source: labelled(50), batchSize: 4, seed: 2, shuffleBufferRows: 16 }, st),
    'seed is 1 in the state, 2 now',
  );
  throwsWith(
    () => BatchLoader.fromState({ source: labelled(51), batchSize: 4, seed: 1, shuffleBufferRows: 16 }, st),
    'rows',
  );
});

s('NaN/Inf rows are skipped and counted, in training and eval', () => {
  const badRow = (i: number) => (i % 10 === 4 ? NaN : i % 10 === 7 ? (i % 20 === 7 ? Infinity : -Infinity) : null);
  const l = new BatchLoader({
    source: labelled(100, badRow),
    batchSize: 9,
    seed: 5,
    shuffleBufferRows: 30,
    evalFraction: 0.2,
  });
  const trainBad = 16; // rows 4, 7, 14, 17, ..., 77 among the 80 training rows
  const seen = draw(l, 30).flat(); // > 3 epochs of 64 good rows
  assert.ok(seen.every((i) => badRow(i) === null));
  assert.is(l.skippedNonFinite, trainBad, 'distinct bad rows, not re-counted each epoch');
  assert.equal(new Set(seen).size, 64);
  const ev: number[][] = [];
  for (const batch of l.evalBatches(5)) ev.push(ids(batch));
  assert.equal(ev.flat(), [80, 81, 82, 83, 85, 86, 88, 89, 90, 91, 92, 93, 95, 96, 98, 99]);
  assert.equal(
    ev.map((b) => b.length),
    [5, 5, 5, 1],
    'full batches until the last',
  );
  assert.is(l.evalSkippedNonFinite, 4);
});

s('an all-NaN source is a clear error, in training and in eval', () => {
  const l = new BatchLoader({ source: labelled(20, () => NaN), batchSize: 4, seed: 1, shuffleBufferRows: 8 });
  throwsWith(() => l.nextBatch(new Float32Array(12)), 'labelled', 'every one of the 20 training rows', 'NaN');
  const e = new BatchLoader({
    source: labelled(20, (i) => (i >= 15 ? NaN : null)),
    batchSize: 4,
    seed: 1,
    shuffleBufferRows: 8,
    evalFraction: 0.25,
  });
  draw(e, 5);
  throwsWith(() => [...e.evalBatches()], 'every one of the 5 eval rows');
});

s('bad options are refused', () => {
  const source = labelled(10);
  throwsWith(() => new BatchLoader({ source, batchSize: 0, seed: 1, shuffleBufferRows: 4 }), 'batch size');
  throwsWith(() => new BatchLoader({ source, batchSize: 2, seed: -1, shuffleBufferRows: 4 }), 'seed');
  throwsWith(
    () => new BatchLoader({ source, batchSize: 2, seed: 1, shuffleBufferRows: 4, evalFraction: 1 }),
    'eval fraction',
  );
  throwsWith(() => new BatchLoader({ source, batchSize: 2, seed: 1, shuffleBufferRows: 0 }), 'shuffle buffer');
  throwsWith(
    () => new BatchLoader({ source: labelled(1), batchSize: 2, seed: 1, shuffleBufferRows: 4, evalFraction: 0.5 }),
    'no training rows',
  );
});

s('streams from a sharded file source the same batches as from memory', () => {
  const mem = labelled(120);
  const dir = tmp.path('shards');
  mkdirSync(dir);
  for (let k = 0; k < 4; k++)
    writeNpy(join(dir, `part-${k}.npy`), mem.data.subarray(k * 30 * D, (k + 1) * 30 * D), 30, D);
  const files = openSource(dir);
  const opts = { batchSize: 16, seed: 9, shuffleBufferRows: 40, evalFraction: 0.1 };
  assert.equal(
    draw(new BatchLoader({ ...opts, source: files }), 20),
    draw(new BatchLoader({ ...opts, source: mem }), 20),
  );
  files.close();
});

s.run();
