// train --profile's backend wrapper: results are the wrapped backend's, and every primitive call (and on
// WebGPU every kernel dispatch) is counted once, with write/free kept in order with the deferred work.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend/backend.js';
import { formatProfile, ProfileBackend } from '../../src/backend/profile.js';
import { Rng } from '../../src/rng.js';
import { allBackends, backendName, webgpuGles } from '../helpers/backends.js';
import { WebGpuBackend } from '../../src/backend/webgpu/webgpu.js';

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
  const gles = await webgpuGles();
  for (const be of [...(await allBackends()), ...(gles ? [gles] : [])]) {
    const name = await backendName(be);
    const ref = await work(be);
    const prof = new ProfileBackend(be);
    await prof.start();
    const got = await work(prof);
    const rep = await prof.stop();
    assert.equal(got, ref, `${name}: results`);
    assert.is(got[2]![0], 64 * 32, `${name}: the write after the reads is seen`);
    const calls = (prefix: string) => rep.ops.filter((r) => r.op.startsWith(prefix)).reduce((n, r) => n + r.calls, 0);
    assert.is(calls('matmul [64x32].[32x48]^T'), 1, name);
    assert.is(calls('unary relu'), 1, name);
    assert.is(calls('topk [1x3072] k=256'), 1, name);
    assert.is(calls('reduce sum'), 1, name);
    assert.is(calls('read'), 3, name);
    assert.ok(rep.opsMs <= rep.wallMs + 1e-6, `${name}: ops within the wall time`);
    if (be instanceof WebGpuBackend) {
      // Device time where the device has timestamp-query (lavapipe, GPUs), synced wall time where not (GL ES).
      const ts = be.ctx.device.features.has('timestamp-query');
      assert.is(ts, be.owner!.adapter.features.has('timestamp-query'), `${name}: the device takes the adapter's timestamp-query`);
      assert.is(rep.timing, ts ? 'timestamp-query' : 'synced-wall', name);
      assert.ok(rep.kernels.some((k) => k.op.startsWith('topk') && k.kernel.startsWith('topk')), 'topk kernels listed under topk');
      assert.ok(rep.kernels.every((k) => k.dispatches >= 1 && Number.isFinite(k.ms) && k.ms >= 0), name);
      // Timestamps: each kernel's time is its own pass on the device, so the kernels' sum is within the wall time.
      if (ts) assert.ok(rep.kernels.reduce((t, k) => t + k.ms, 0) <= rep.wallMs, `${name}: device times within the wall`);
    } else assert.is(rep.timing, 'cpu-wall');
    assert.match(formatProfile(rep, 1), /matmul \[64x32\]\.\[32x48\]\^T/);
  }
});

/**
 * Three "training steps" on one backend: upload a batch, the encoder product with its fused bias and relu,
 * BatchTopK, a reduction; step 2 also reads a result back (a host wait), step 3 takes it with readLater.
 * Returns the values read.
 */
async function steps(be: Backend, mark: (step: number) => Promise<void>): Promise<number[][]> {
  const rng = new Rng(5);
  const [B, D, M] = [32, 16, 96];
  const x = be.alloc(B * D, 'f32');
  const w = be.alloc(M * D, 'f32');
  be.write(w, rng.fillNormal(new Float32Array(M * D)));
  const bias = be.alloc(M, 'f32');
  const pre = be.alloc(B * M, 'f32');
  const post = be.alloc(B * M, 'f32');
  const idx = be.alloc(B * 4, 'i32');
  const sum = be.alloc(1, 'f32');
  const got: number[][] = [];
  let later: Promise<unknown> | null = null;
  for (let step = 1; step <= 3; step++) {
    be.write(x, rng.fillNormal(new Float32Array(B * D)));
    be.matmul(pre, x, w, B, D, M, false, true, { bias, relu: post });
    be.topk(idx, post, 1, B * M, B * 4);
    be.reduce('sum', sum, post, 1, B * M, 1);
    if (step === 2) got.push(Array.from(await be.read(idx)));
    if (step === 3) later = (be.readLater ? be.readLater(sum) : be.read(sum)).then((v) => got.push(Array.from(v)));
    await mark(step);
  }
  await be.sync();
  await later;
  for (const t of [x, w, bias, pre, post, idx, sum]) be.free(t);
  return got;
}

s('per-step counters: what the plain run does, a step without reads has no host wait, readLater waits for none', async () => {
  for (const be of await allBackends()) {
    if (!be.counters) {
      // CPU backends: no counters, so no per-step rows.
      const prof = new ProfileBackend(be);
      await prof.start();
      await steps(prof, (st) => prof.markStep(st));
      assert.equal((await prof.stop()).perStep, [], be.name);
      continue;
    }
    // The plain run's differences per step.
    await be.sync();
    const plain: number[][] = [];
    let last = be.counters();
    const keys = ['dispatches', 'submits', 'readbacks', 'readbackBytes', 'uploadBytes'] as const;
    const ref = await steps(be, async () => {
      const now = be.counters!();
      plain.push(keys.map((k) => now[k] - last[k]));
      last = now;
    });
    const prof = new ProfileBackend(be);
    await prof.start();
    const got = await steps(prof, (st) => prof.markStep(st));
    const rep = await prof.stop();
    assert.equal(got, ref, 'results');
    assert.equal(rep.perStep.map((r) => r.step), [1, 2, 3]);
    assert.equal(rep.perStep.map((r) => keys.map((k) => r[k])), plain, 'profiled counters = the plain run\'s');
    const [s1, s2, s3] = rep.perStep;
    assert.is(s1!.readbacks, 0, 'no host wait in a step without reads');
    assert.is(s1!.readbackBytes, 0);
    assert.is(s1!.uploadBytes, (96 + 32) * 16 * 4, 'the weights and the first batch');
    assert.is(s2!.uploadBytes, 32 * 16 * 4, 'the batch upload');
    assert.ok(s1!.dispatches >= 3 && s1!.submits >= 1, JSON.stringify(s1));
    assert.is(s2!.readbacks, 1, 'the read is a host wait');
    assert.is(s2!.readbackBytes, 32 * 4 * 4);
    assert.is(s3!.readbacks, 0, 'readLater waits for nothing');
    assert.is(s3!.readbackBytes, 4);
    assert.match(formatProfile(rep, 3), /per step \(mean of 3\): dispatches [\d.]+, submits [\d.]+, readbacks 0\.3, readbackBytes/);
    assert.ok(rep.timing === 'synced-wall' || rep.timing === 'timestamp-query', rep.timing);
  }
});

s.run();
