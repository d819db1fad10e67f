// The fast CPU backend's worker pool (src/backend/cpu/par.ts): a job whose main-thread slice throws must
// still wait for every worker before the error reaches the caller. Otherwise a worker keeps writing into
// outputs the caller frees on its error path, and its late "done" lands in the next job's counter, so that
// job returns before its own workers finished (issue 17, item 16). The interleaving is forced, not hoped
// for: the worker's slice is long (tens of ms), the main thread's throws at once.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ParallelPool } from '../../src/backend/cpu/par.js';

const s = suite('cpu par: a failing main-thread slice waits for the workers');

const shared = (n: number) => new Float32Array(new SharedArrayBuffer(n * 4));

s('after run() throws, the workers have finished; the next job returns only once its own slices are written', () => {
  const pool = new ParallelPool(2);
  try {
    // Job A: the worker squares 8M elements, the main thread's slice names an unknown op and throws.
    const N = 1 << 23;
    const x = shared(N).fill(3);
    const a = shared(N);
    assert.throws(
      () => pool.run('unaryRange', (t) => (t === 0 ? ['square', a, x, 0, N] : ['no-such-op', a, x, 0, 0])),
      /unknown op 'no-such-op'/,
    );
    // The worker's whole slice is written by the time the error is seen (else it would still be running).
    assert.is(a[N - 1], 9, 'the worker was still running after run() threw');
    // Job B: both slices non-trivial; every element written when run() returns.
    const M = 1 << 21;
    const y = shared(M).fill(2);
    const b = shared(M);
    pool.run('unaryRange', (t) => ['neg', b, y, t === 0 ? 0 : M / 2, t === 0 ? M / 2 : M]);
    let unset = 0;
    for (let i = 0; i < M; i++) if (b[i] !== -2) unset++;
    assert.is(unset, 0, `${unset} elements of the next job unwritten when run() returned`);
  } finally {
    pool.dispose();
  }
});

s('a failing worker slice throws (after every slice finished) and leaves the pool usable', () => {
  const pool = new ParallelPool(2);
  try {
    const M = 1 << 20;
    const y = shared(M).fill(2);
    const b = shared(M);
    assert.throws(() => pool.run('unaryRange', (t) => (t === 0 ? ['no-such-op', b, y, 0, 0] : ['neg', b, y, 0, M])), /a worker thread failed/);
    assert.is(b[M - 1], -2);
    const c = shared(M);
    pool.run('unaryRange', (t) => ['neg', c, y, t === 0 ? 0 : M / 2, t === 0 ? M / 2 : M]);
    assert.ok(c.every((v) => v === -2));
  } finally {
    pool.dispose();
  }
});

s.run();
