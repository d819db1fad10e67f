// The per-latent example sets. TopExamples: for any stream of activations (ties included, rows in
// increasing order), the kept set is exactly the `size` largest by (activation desc, row asc), whatever the
// stream. SampledExamples: Algorithm L keeps a uniform sample, so over many seeds every position of a
// stream is kept about size/n of the time; a sampler that favours early or late rows fails the check.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SampledExamples, TopExamples } from '../../src/features/heap.js';
import { binOf, EDGES, BINS, trimHistogram } from '../../src/features/histogram.js';
import { Rng } from '../../src/rng.js';

const s = suite('features: example sets');

s('TopExamples keeps the size largest (activation desc, earlier row on ties), for any stream and latent', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 12 })), { maxLength: 120 }), (size, stream) => {
      const top = new TopExamples(3, size, 1);
      stream.forEach(([j, v], row) => {
        const enters = v / 4 > top.floor(j);
        assert.is(top.offer(j, v / 4, row) >= 0, enters, 'offer admits exactly what beats the floor');
      });
      for (let j = 0; j < 3; j++) {
        const want = stream.map(([l, v], row) => ({ l, v: v / 4, row })).filter((e) => e.l === j).sort((a, b) => b.v - a.v || a.row - b.row).slice(0, size);
        const got = top.sorted(j).map((slot) => ({ l: j, v: top.act[slot]!, row: top.row[slot]! }));
        assert.equal(got, want);
      }
    }),
    { numRuns: 300 },
  );
});

s('SampledExamples keeps a uniform sample of each latent firing rows (Algorithm L)', () => {
  const n = 200;
  const size = 10;
  const runs = 4000;
  const hits = new Float64Array(n);
  const rng = new Rng(3);
  for (let t = 0; t < runs; t++) {
    const smp = new SampledExamples(1, size, 1, rng);
    for (let row = 0; row < n; row++) smp.offer(0, 1 + row, row);
    assert.is(smp.filled[0], size);
    const rows = Array.from(smp.row.subarray(0, size));
    assert.is(new Set(rows).size, size, 'no row twice');
    for (const r of rows) hits[r]!++;
  }
  // Each row is kept with probability size/n = 0.05: expected 200 of 4000 runs, sd ~13.8. Checked by
  // tenths of the stream (expected 4000 hits each, sd ~62), where a bias towards either end shows.
  for (let g = 0; g < 10; g++) {
    let h = 0;
    for (let r = g * 20; r < (g + 1) * 20; r++) h += hits[r]!;
    assert.ok(Math.abs(h - 4000) < 5 * 62, `rows ${g * 20}..${g * 20 + 19}: kept ${h} times, expected 4000`);
  }
  for (let r = 0; r < n; r++) assert.ok(Math.abs(hits[r]! - 200) < 6 * 13.8, `row ${r}: ${hits[r]}`);
});

s('histogram bins: EDGES[b] <= v < EDGES[b + 1], ends open, trimmed to the used bins', () => {
  fc.assert(
    fc.property(fc.double({ min: 1e-7, max: 1e7, noNaN: true }), (v) => {
      const b = binOf(v);
      assert.ok(b >= 0 && b < BINS);
      if (b > 0) assert.ok(v >= EDGES[b]!, `${v} below bin ${b}`);
      if (b < BINS - 1) assert.ok(v < EDGES[b + 1]!, `${v} above bin ${b}`);
    }),
    { numRuns: 2000 },
  );
  for (let b = 1; b < BINS; b++) {
    assert.is(binOf(EDGES[b]!), b, `edge ${b} opens its bin`);
    assert.is(binOf(EDGES[b]! * (1 - 1e-15)), b - 1, `just below edge ${b}`);
  }
  const counts = new Array<number>(BINS).fill(0);
  counts[binOf(0.3)]! += 2;
  counts[binOf(5)]! += 1;
  const h = trimHistogram(counts);
  assert.is(h.edges.length, h.counts.length + 1);
  assert.is(h.counts[0], 2);
  assert.is(h.counts[h.counts.length - 1], 1);
  assert.ok(h.edges[0]! <= 0.3 && 5 < h.edges[h.edges.length - 1]!);
  assert.equal(trimHistogram(new Array<number>(BINS).fill(0)), { edges: [], counts: [] });
});

s.run();
