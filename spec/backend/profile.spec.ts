// train --profile's backend wrapper: results are the wrapped backend's, and every primitive call (and on
// WebGPU every kernel dispatch) is counted once, with write/free kept in order with the deferred work.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend/backend.js';
import { formatProfile, ProfileBackend } from '../../src/backend/profile.js';
import { Rng } from '../../src/rng.js';
import { allBackends } from '../helpers/backends.js';

const s = suite('backend: the profiling wrapper');

/** A few primitives, with a write and a free between them (deferred on WebGPU): returns the readbacks. */
async function work(be: Backend): Promise<number[][]> {
  const rng = new Rng(3);
  const a = be.alloc(64 * 32, 'f32');
  be.write(a, rng.fillNormal(new Float32Array(64 * 32)));
  const w = be.alloc(48 * 32, 'f32');
  be.write(w, rng.fillNormal(new Float32Array(48 * 32)));
  const pre = be.alloc(64 * 48, 'f32');
  be.matmul(pre, a, w, 64, 32, 48, false, true);
  const post = be.alloc(64 * 48, 'f32');
  be.unary('relu', post, pre);
  be.free(pre);
  const idx = be.alloc(64 * 4, 'i32');
  be.topk(idx, post, 1, 64 * 48, 64 * 4);
  const out = [Array.from(await be.read(post)), Array.from(await be.read(idx))];
  be.write(a, new Float32Array(64 * 32).fill(1)); // a write after reads, then another op on it
  const sum = be.alloc(1, 'f32');
  be.reduce('sum', sum, a, 1, 64 * 32, 1);
  out.push(Array.from(await be.read(sum)));
  for (const t of [a, w, post, idx, sum]) be.free(t);
  return out;
}

s('same results as the wrapped backend, each primitive counted once, kernels on WebGPU', async () => {
  for (const be of await allBackends()) {
    const ref = await work(be);
    const prof = new ProfileBackend(be);
    await prof.start();
    const got = await work(prof);
    const rep = await prof.stop();
    assert.equal(got, ref, `${be.name}: results`);
    assert.is(got[2]![0], 64 * 32, `${be.name}: the write after the reads is seen`);
    const calls = (prefix: string) => rep.ops.filter((r) => r.op.startsWith(prefix)).reduce((n, r) => n + r.calls, 0);
    assert.is(calls('matmul [64x32].[32x48]^T'), 1, be.name);
    assert.is(calls('unary relu'), 1, be.name);
    assert.is(calls('topk [1x3072] k=256'), 1, be.name);
    assert.is(calls('reduce sum'), 1, be.name);
    assert.is(calls('read'), 3, be.name);
    assert.ok(rep.opsMs <= rep.wallMs + 1e-6, `${be.name}: ops within the wall time`);
    if (be.name === 'webgpu') {
      assert.is(rep.timing, 'synced-wall');
      assert.ok(rep.kernels.some((k) => k.op.startsWith('topk') && k.kernel.startsWith('topk')), 'topk kernels listed under topk');
      assert.ok(rep.kernels.every((k) => k.dispatches >= 1 && k.ms >= 0));
    } else assert.is(rep.timing, 'cpu-wall');
    assert.match(formatProfile(rep, 1), /matmul \[64x32\]\.\[32x48\]\^T/);
  }
});

s.run();
