// How the host waits for Dawn (backend/webgpu/host_poll.ts): during a long wait Dawn's event polls move from
// every tick (a spinning main thread, which on a CPU adapter takes a core from the device) to a timer, while
// every other setImmediate call behaves as Node's own.
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hostPolls, isDawnPoll, SPIN_MS } from '../../src/backend/webgpu/host_poll.js';
import { isCpuAdapter } from '../../src/backend/webgpu/tuning.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/webgpu.js';
import { webgpu } from '../helpers/backends.js';

const s = suite('webgpu: the host waits on a timer');

s('a long wait polls Dawn on a timer after its first SPIN_MS, a short one on every tick', async () => {
  const be = await webgpu();
  if (!be) return;
  // Only on a CPU adapter (lavapipe, llvmpipe: the adapters of this project's machines and CI).
  if (!isCpuAdapter((be as WebGpuBackend).owner?.adapter.info)) return;
  const n = 1 << 20;
  const x = be.alloc(n, 'f32');
  const sum = be.alloc(1, 'f32');
  await be.sync();
  // Long enough on any adapter here: 300 reductions of 4 MB, one wait. Dawn's polls are counted as they are
  // queued (outside the routing, so a spinning host is counted too).
  let queued = 0;
  const routed = globalThis.setImmediate;
  globalThis.setImmediate = ((fn: (...a: unknown[]) => void, ...args: unknown[]) => {
    if (isDawnPoll(fn)) queued++;
    return routed(fn, ...args);
  }) as unknown as typeof setImmediate;
  const before = { ...hostPolls };
  const t = performance.now();
  try {
    for (let i = 0; i < 300; i++) be.reduce('sum', sum, x, 1, n, 1);
    await be.sync();
  } finally {
    globalThis.setImmediate = routed;
  }
  const ms = performance.now() - t;
  const timer = hostPolls.timer - before.timer;
  if (ms > 20 * SPIN_MS) {
    // A spinning host queues hundreds of polls a millisecond (613 for one small read on lavapipe); on a timer,
    // those of the first SPIN_MS and then about one a millisecond. (On GL ES Dawn runs the work inside the
    // submit, so the wait after it is short and polls little either way.)
    assert.ok(queued / ms < 20, `a ${ms.toFixed(0)} ms wait: ${queued} polls queued`);
    if (queued > 100) assert.ok(timer >= 1, `a ${ms.toFixed(0)} ms wait: ${timer} timer polls`);
  }
  // A wait that ends within SPIN_MS stays on immediate polls (no timer's ~1 ms added to a short read).
  const b2 = { ...hostPolls };
  let fast = 0;
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    be.fill(sum, i);
    assert.is((await be.read(sum))[0], i);
    if (performance.now() - t0 < SPIN_MS / 2) fast++;
  }
  if (fast === 20) assert.is(hostPolls.timer - b2.timer, 0, 'short reads polled on a timer');
  be.free(x);
  be.free(sum);
});

s('every other setImmediate is Node\'s: arguments, clearImmediate, util.promisify', async () => {
  await webgpu(); // the polling is installed with the first device from a CPU adapter
  const got = await new Promise((resolve) => setImmediate((a: number, b: string) => resolve([a, b]), 7, 'x'));
  assert.equal(got, [7, 'x']);
  let ran = false;
  clearImmediate(setImmediate(() => (ran = true)));
  await new Promise((r) => setTimeout(r, 5));
  assert.is(ran, false, 'clearImmediate cancels');
  assert.is(await promisify(setImmediate)('v'), 'v');
});

s.run();
