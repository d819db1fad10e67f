// One Dawn instance per process (src/backend/webgpu/device.ts): opening and disposing WebGPU backends many
// times in one process (a sweep opens one per run or trial) must not create a Dawn instance each time: a
// dropped instance is torn down whenever V8 collects it, and dawn.node's teardown is where it crashes
// (issue 17, item 2: a sweep died with `Segmentation fault` in its 10th run). Each open still gets a working
// device of its own, and disposing it leaves the others (here the specs' shared backend) working.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { dawnInstanceCount } from '../../src/backend/webgpu/device.js';
import { createWebGpuBackend } from '../../src/backend/webgpu/webgpu.js';
import type { Backend } from '../../src/backend/backend.js';
import { webgpu } from '../helpers/backends.js';

const s = suite('webgpu: one Dawn instance however many backends a process opens');

async function squareOf(be: Backend, v: number, n = 4096): Promise<Float32Array> {
  const a = be.alloc(n, 'f32'),
    o = be.alloc(n, 'f32');
  try {
    be.write(a, new Float32Array(n).fill(v));
    be.unary('square', o, a);
    return (await be.read(o)) as Float32Array;
  } finally {
    be.free(a);
    be.free(o);
  }
}

s('30 opens and disposes: one instance, every backend computes, the shared backend still works', async () => {
  const shared = await webgpu();
  if (!shared) return; // BATCHTOPK_ALLOW_NO_WEBGPU=1 on a machine without an adapter
  const before = dawnInstanceCount();
  assert.ok(before >= 1, 'the shared backend came from a counted instance');
  for (let i = 0; i < 30; i++) {
    const be = await createWebGpuBackend({});
    try {
      const r = await squareOf(be, i + 1);
      assert.ok(r.every((x) => x === (i + 1) ** 2), `open ${i}: wrong result`);
    } finally {
      be.dispose();
    }
    assert.is(dawnInstanceCount(), before, `open ${i} created a Dawn instance`);
  }
  const r = await squareOf(shared, 3);
  assert.ok(r.every((x) => x === 9), 'the shared backend after the others were disposed');
});

s('two backends open at once have their own devices; disposing one leaves the other usable', async () => {
  if (!(await webgpu())) return;
  const a = await createWebGpuBackend({});
  const b = await createWebGpuBackend({});
  try {
    a.dispose();
    const r = await squareOf(b, 5);
    assert.ok(r.every((x) => x === 25));
    assert.throws(() => a.alloc(4, 'f32'), /after dispose/);
  } finally {
    b.dispose();
  }
});

s.run();
