// The short version of bench/differential.ts (issue 17, item 1): harvest-like model forwards, SAE trainings
// and a heap stress on the fast CPU backend with every primitive threaded, compared bit for bit with the same
// backend on one thread (and the forwards with the CPU reference within a corruption bound). The bench runs
// the same checks for minutes or hours; here a few cases of each, so that a broken hand-off, a piece handed
// out twice or a collected storage's memory reused while live fails the suite.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describe, type Mismatch } from '../../bench/differential/compare.js';
import { checkForwards } from '../../bench/differential/forward.js';
import { checkHeap } from '../../bench/differential/heap.js';
import { checkTraining } from '../../bench/differential/train.js';

const s = suite('cpu-fast differential: threaded = one thread, bit for bit (forwards, training, heap stress)');
const DATA = '../shared/data/stories260K';
const far = () => Date.now() + 10 * 60_000;

function none(what: string, mismatches: Mismatch[], cases: number, min: number): void {
  assert.ok(cases >= min, `${what}: only ${cases} cases ran`);
  assert.is(mismatches.length, 0, `${what}: ${mismatches.map(describe).slice(0, 3).join('; ')}`);
}

s('model forwards over real stories (varied documents, truncations, padding, hook layers)', async () => {
  const r = await checkForwards({ model: `${DATA}/stories260K.bin`, tokens: `${DATA}/tokens_u16.npy`, threads: 2, batches: 4, deadline: far(), seed: 3, maxDocs: 3, maxRows: 160, reference: true, allThreaded: true });
  none('forward', r.mismatches, r.cases, 4);
});

s('SAE trainings (every architecture drawn, parameters compared every 10 steps)', async () => {
  const r = await checkTraining({ threads: 2, runs: 4, deadline: far(), steps: 20, every: 10, seed: 4, maxDIn: 24, maxDSae: 256, allThreaded: true });
  none('train', r.mismatches, r.cases, 4);
});

s('heap stress: allocations, frees, collected orphans, pool reuse, growth, threaded ops', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // 48 pages: the larger tensors go to the shared pool and its arenas.
  const r = await checkHeap({ threads: 2, ops: 400, deadline: far(), seed: 5, heapPages: 48, gc });
  none('heap', r.mismatches, r.cases, 400);
});

s.run();
