// BatchTopK's one-pass sampled select (src/backend/cpu/sample_select.ts) against the radix select
// (select.ts, itself checked against a sorting oracle in row_select.spec.ts): where it reports success its
// indices must be the radix select's exactly, for data the sample brackets well and data it cannot bracket
// (then it must report failure, and the backend's answer is still exact).
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sampledSelect } from '../../src/backend/cpu/sample_select.js';
import { SelectScratch, selectRange } from '../../src/backend/cpu/select.js';
import { Rng } from '../../src/rng.js';
import { cpu, cpuFast } from '../helpers/backends.js';
import { exec } from './contract_util.js';

const s = suite('sampled one-pass BatchTopK select');
const N = (1 << 20) + 37;

function radix(bits: Int32Array, k: number): Int32Array {
  const out = new Int32Array(k);
  selectRange(out, 0, bits, 0, bits.length, k, new SelectScratch());
  return out;
}

/** Data styles: the sample brackets the cut for the first ones; 'constant' and 'two values' it cannot. */
const STYLES = ['relu', 'normal', 'negative', 'ties at the cut', 'rows of different scale', 'constant', 'two values'] as const;
type Style = (typeof STYLES)[number];

function data(style: Style, rng: Rng): Float32Array {
  const x = rng.fillNormal(new Float32Array(N));
  switch (style) {
    case 'relu':
      return x.map((v) => (v > 0 ? v : 0));
    case 'normal':
      return x;
    case 'negative':
      return x.map((v) => -Math.abs(v) - 1);
    case 'ties at the cut':
      return x.map((v, i) => (i % 3 === 0 ? 1.5 : v > 0 ? v : 0));
    case 'rows of different scale': // like a [B, M] matrix whose rows (tokens) differ in norm
      return x.map((v, i) => (v > 0 ? v : 0) * (1 + (Math.floor(i / 4096) % 17)));
    case 'constant':
      return x.fill(0.25);
    case 'two values':
      return x.map((_, i) => (i % 1000 === 0 ? 2 : 1));
  }
}

s('where it succeeds, the radix select indices exactly; it succeeds on bracketable data', () => {
  fc.assert(
    fc.property(fc.constantFrom(...STYLES), fc.integer({ min: 1, max: N >> 4 }), fc.nat(), (style, k, sd) => {
      const x = data(style, new Rng(sd));
      const bits = new Int32Array(x.buffer);
      const got = new Int32Array(k);
      const ok = sampledSelect(got, 0, bits, 0, N, k, new SelectScratch());
      if (ok) assert.equal(Array.from(got), Array.from(radix(bits, k)), `${style} k=${k}`);
      // Continuous data with no pile-up of ties is always bracketed (a miss is a 7-sigma event).
      if (['relu', 'normal', 'negative', 'rows of different scale'].includes(style) && k >= 64) assert.ok(ok, `${style} k=${k}: no success`);
      if (style === 'constant') assert.not.ok(ok, 'a constant row cannot be bracketed');
    }),
    { numRuns: 40 },
  );
});

s('refuses small rows and large k (the caller runs the radix select)', () => {
  const bits = new Int32Array(new Rng(1).fillNormal(new Float32Array(N)).buffer);
  assert.not.ok(sampledSelect(new Int32Array(10), 0, bits.subarray(0, 1000), 0, 1000, 10, new SelectScratch()));
  assert.not.ok(sampledSelect(new Int32Array(N >> 3), 0, bits, 0, N, N >> 3, new SelectScratch()));
});

s('the backends (reference and fast CPU) give the same BatchTopK indices through either path', async () => {
  for (const style of STYLES) {
    const x = data(style, new Rng(7));
    const k = 4096;
    const want = radix(new Int32Array(x.buffer), k);
    for (const be of [cpu, cpuFast()]) {
      const [got] = await exec(be, [new Int32Array(k), x], ([o, xs]) => be.topk(o!, xs!, 1, N, k), [0]);
      assert.equal(Array.from(got!), Array.from(want), `${(be as { variant?: string }).variant ?? be.name} ${style}`);
    }
  }
});

s.run();
