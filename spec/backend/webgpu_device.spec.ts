// WebGPU backend machinery on the shared device: windowed processing when the binding limit is forced low
// (withBindingLimit), 2-D workgroup grids, buffer pool reuse, batching of dispatches into few submits, and
// errors (a WGSL compile error names its kernel; a validation error surfaces at the next call; the device
// stays usable afterwards). The missing-adapter message cannot be provoked here: createWebGpuBackend's
// error lists each backend tried and the apt-get line (see device.ts).
// Tolerances are those of the contract suites (contract*.spec.ts), restated where used.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, Broadcast } from '../../src/backend/backend.js';
import { Rng } from '../../src/rng.js';
import { windowElems } from '../../src/backend/webgpu/chunk.js';
import { blocking } from '../../src/backend/webgpu/matmul.js';
import { registerKernelSource } from '../../src/backend/webgpu/pipelines.js';
import type { GpuTensor } from '../../src/backend/webgpu/storage.js';
import { WebGpuBackend } from '../../src/backend/webgpu/webgpu.js';
import { cpu, webgpu } from '../helpers/backends.js';
import { assertClose, assertSame, U32, values } from './cpu_util.js';
import { exec } from './contract_util.js';

const s = suite('webgpu device: windows, grids, pool, batching, errors');
const LIMIT = 4096;

async function gpu(): Promise<WebGpuBackend | null> {
  const g = await webgpu();
  if (g === null) return null;
  assert.instance(g, WebGpuBackend);
  return g as WebGpuBackend;
}

/** Run on the CPU and on `be`; returns [gpu results, cpu results] and the dispatches `be` recorded. */
async function both(be: WebGpuBackend, inputs: (Float32Array | Int32Array)[], fn: (b: Backend, st: ReturnType<Backend['alloc']>[]) => void, read: number[]) {
  const ref = await exec(cpu, inputs, (st) => fn(cpu, st), read);
  const before = be.ctx.recorder.stats.dispatches;
  const got = await exec(be, inputs, (st) => fn(be, st), read);
  return { got, ref, dispatches: be.ctx.recorder.stats.dispatches - before };
}

s('a forced 4 KiB binding limit: elementwise ops over many windows agree with the CPU', async () => {
  const g = await gpu();
  if (!g) return;
  const v = g.withBindingLimit(LIMIT);
  assert.ok(v.ctx.maxBindingBytes <= LIMIT);
  const rng = new Rng(1);
  const rows = 3, cols = 2001; // a row-broadcast operand longer than one window
  const a = values(rng, rows * cols, 'uniform');
  const row = values(rng, cols, 'uniform');
  const col = values(rng, rows, 'uniform');
  const modes: [Broadcast, Broadcast, Float32Array, Float32Array][] = [
    ['full', 'row', a, row],
    ['col', 'full', col, a],
    ['row', 'scalar', row, new Float32Array([0.5])],
  ];
  for (const [am, bm, x, y] of modes) {
    const r = await both(v, [x, y, new Float32Array(rows * cols)], (b, [xs, ys, o]) => b.binary('mul', o!, xs!, am, ys!, bm, rows, cols), [2]);
    assertSame(`mul(${am}, ${bm})`, r.got[0]!, r.ref[0]!);
    assert.ok(r.dispatches > 3, `windowed: ${r.dispatches} dispatches`);
  }
  const u = await both(v, [a, new Float32Array(a.length)], (b, [xs, o]) => b.unary('square', o!, xs!), [1]);
  assertSame('square', u.got[0]!, u.ref[0]!);
  const f = await both(v, [new Float32Array(5000)], (b, [o]) => b.fill(o!, -1.5), [0]);
  assertSame('fill', f.got[0]!, f.ref[0]!);
  const n = 3001;
  const p = values(rng, n, 'uniform'), g0 = values(rng, n, 'uniform');
  const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, bc1: 0.1, bc2: 0.001 };
  const ad = await both(v, [p, new Float32Array(n), new Float32Array(n), g0], (b, [ps, ms, vs, gs]) => b.adam(ps!, ms!, vs!, gs!, h), [0]);
  // From m = v = 0 the step is lr * sign(g) up to ~12 roundings (see contract.spec.ts).
  assertClose('adam p', ad.got[0]!, ad.ref[0]!, (i) => 2 * U32 * Math.abs(ad.ref[0]![i]!) + 12 * U32 * 0.01);
});

s('a forced 4 KiB binding limit: reductions (including the pairwise column fallback) agree', async () => {
  const g = await gpu();
  if (!g) return;
  const v = g.withBindingLimit(LIMIT);
  const rng = new Rng(2);
  // [7, 900]: two rows exceed one window, so axis 0 takes the pairwise path; [1, 20011] takes 3 row passes.
  for (const [rows, cols] of [[7, 900], [1, 20011], [300, 41]] as const) {
    const x = values(rng, rows * cols, 'uniform');
    for (const axis of [0, 1] as const) {
      for (const op of ['sum', 'max'] as const) {
        const len = axis === 1 ? rows : cols;
        const r = await both(v, [x, new Float32Array(len)], (b, [xs, o]) => b.reduce(op, o!, xs!, rows, cols, axis), [1]);
        const sumAbs = new Float64Array(len);
        for (let i = 0; i < x.length; i++) sumAbs[axis === 1 ? Math.floor(i / cols) : i % cols]! += Math.abs(x[i]!);
        // Blocked f32 sums: 128 * 2^-24 * sum|x| (contract_linalg.spec.ts); max is exact.
        assertClose(`${op} axis ${axis} [${rows}, ${cols}]`, r.got[0]!, r.ref[0]!, (i) =>
          op === 'sum' ? 128 * U32 * sumAbs[i]! + U32 * Math.abs(r.ref[0]![i]!) : 0,
        );
      }
    }
  }
});

s('a forced 4 KiB binding limit: matmul blocks M, N and K for every transposition', async () => {
  const g = await gpu();
  if (!g) return;
  const v = g.withBindingLimit(LIMIT);
  const rng = new Rng(3);
  const [m, k, n] = [45, 70, 37];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const p = blocking(m, n, k, ta, tb, windowElems(v.ctx));
      assert.ok(p.pm * p.pn * p.pk > 1, 'the operands must not fit one window');
      const a = values(rng, m * k, 'uniform'), b = values(rng, k * n, 'uniform');
      const r = await both(v, [a, b, new Float32Array(m * n)], (be, [as, bs, o]) => be.matmul(o!, as!, bs!, m, k, n, ta, tb), [2]);
      // |A||B| <= k * 4 for values in [-2, 2): (k + 4) * 2^-24 * 4k bounds the f32 accumulation error.
      assertClose(`matmul transA=${ta} transB=${tb}`, r.got[0]!, r.ref[0]!, (i) => (k + 4) * U32 * 4 * k + U32 * Math.abs(r.ref[0]![i]!));
      assert.ok(r.dispatches > 1);
    }
  }
});

s('matmul kernel families: register (vec4 and scalar loads) and tiled, every transposition', async () => {
  const g = await gpu();
  if (!g) return;
  const saved = { ...g.tuning };
  const rng = new Rng(6);
  try {
    // [36, 20, 44]: all leading dimensions multiples of 4 (matmul_reg4); [37, 21, 43]: none (matmul_reg).
    for (const [m, k, n] of [[36, 20, 44], [37, 21, 43], [68, 132, 64]] as const) {
      for (const variant of ['register', 'tiled'] as const) {
        g.tuning.matmul = variant;
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const a = values(rng, m * k, 'uniform'), b = values(rng, k * n, 'uniform');
            const r = await both(g, [a, b, new Float32Array(m * n)], (be, [as, bs, o]) => be.matmul(o!, as!, bs!, m, k, n, ta, tb), [2]);
            // |A||B| <= 4k for values in [-2, 2); (k + 4) * 2^-24 * |A||B| as in contract_linalg.spec.ts.
            assertClose(`${variant} ${m}x${k}x${n} transA=${ta} transB=${tb}`, r.got[0]!, r.ref[0]!, (i) =>
              (k + 4) * U32 * 4 * k + U32 * Math.abs(r.ref[0]![i]!),
            );
          }
        }
      }
    }
  } finally {
    g.tuning = saved;
  }
});

s('matmul epilogue fused in the store: the bits of the separate add and relu, K blocks under 4 KiB, both families', async () => {
  const g = await gpu();
  if (!g) return;
  const saved = { ...g.tuning };
  const rng = new Rng(9);
  /** Fused (bias?, relu) against matmul + binary add + unary relu on the same backend: same bits. */
  const check = async (be: WebGpuBackend, m: number, k: number, n: number, ta: boolean, tb: boolean, withBias: boolean, what: string) => {
    const inputs = [values(rng, m * k, 'uniform'), values(rng, k * n, 'uniform'), values(rng, n, 'uniform'), new Float32Array(m * n).fill(7), new Float32Array(m * n).fill(7)];
    const before = be.ctx.recorder.stats.dispatches;
    const fused = await exec(be, inputs, ([a, b, bias, o, r]) => be.matmul(o!, a!, b!, m, k, n, ta, tb, { bias: withBias ? bias : undefined, relu: r }), [3, 4]);
    const fusedDispatches = be.ctx.recorder.stats.dispatches - before;
    const apart = await exec(be, inputs, ([a, b, bias, o, r]) => {
      be.matmul(o!, a!, b!, m, k, n, ta, tb);
      if (withBias) be.binary('add', o!, o!, 'full', bias!, 'row', m, n);
      be.unary('relu', r!, o!);
    }, [3, 4]);
    assertSame(`${what}: product${withBias ? ' + bias' : ''}`, fused[0]!, apart[0]!);
    assertSame(`${what}: relu`, fused[1]!, apart[1]!);
    return fusedDispatches;
  };
  try {
    for (const variant of ['register', 'tiled'] as const) {
      g.tuning.matmul = variant;
      for (const [ta, tb] of [[false, true], [true, false], [false, false]] as const) {
        // Only the product's own dispatches: no separate add or relu kernel.
        const d = await check(g, 37, 21, 43, ta, tb, true, `${variant} 37x21x43 ta=${ta} tb=${tb}`);
        assert.is(d, 1, `${variant}: one dispatch for product, bias and relu`);
        await check(g, 36, 20, 44, ta, tb, false, `${variant} 36x20x44 relu only`);
        // Under a 4 KiB binding: M, N and K blocks; the epilogue must see the last K block's sum.
        const v = g.withBindingLimit(LIMIT);
        v.tuning = g.tuning;
        // (A stored [M, K] with K over a third of a window cannot be blocked: so K = 300 with 40 x 50.)
        const p = blocking(40, 50, 300, ta, tb, windowElems(v.ctx));
        assert.ok(p.pm * p.pn * p.pk > 1, 'blocks');
        await check(v, 40, 300, 50, ta, tb, true, `${variant} windowed 40x300x50 ta=${ta} tb=${tb} (blocks ${JSON.stringify(p)})`);
      }
    }
  } finally {
    g.tuning = saved;
  }
});

s('readLater: a snapshot at its point in the recorded work, delivered after a later submit, with no host wait', async () => {
  const g = await gpu();
  if (!g) return;
  await g.sync();
  const t = g.alloc(1000, 'f32');
  g.fill(t, 1.5);
  const before = g.counters();
  const snap = g.readLater(t);
  g.fill(t, -2); // overwritten right after: the snapshot keeps 1.5
  const idx = g.alloc(4, 'i32');
  g.topk(idx, t, 1, 1000, 4);
  const mid = g.counters();
  assert.is(mid.readbacks - before.readbacks, 0, 'no host wait');
  assert.is(mid.readbackBytes - before.readbackBytes, 4000);
  await g.sync(); // a submit: the snapshot is mapped after it
  assert.is(g.counters().readbacks - mid.readbacks, 1, 'sync() is a host wait');
  assert.equal(Array.from((await snap) as Float32Array), new Array(1000).fill(1.5));
  assert.equal(Array.from((await g.read(t)) as Float32Array).slice(0, 3), [-2, -2, -2]);
  g.free(t);
  g.free(idx);
});

s('reduce_rows shapes of both tunings (16 x 128 and 128 x 16) agree with the CPU', async () => {
  const g = await gpu();
  if (!g) return;
  const saved = { ...g.tuning };
  const rng = new Rng(7);
  try {
    for (const [wg, per] of [[16, 128], [128, 16]] as const) {
      g.tuning = { ...saved, reduceWG: wg, reducePer: per };
      for (const [rows, cols] of [[1, 300_007], [37, 2049], [5, 3]] as const) {
        const x = values(rng, rows * cols, 'uniform');
        const r = await both(g, [x, new Float32Array(rows)], (b, [xs, o]) => b.reduce('sum', o!, xs!, rows, cols, 1), [1]);
        const abs = new Float64Array(rows);
        for (let i = 0; i < x.length; i++) abs[Math.floor(i / cols)]! += Math.abs(x[i]!);
        // Tree depth per pass: per/4 + 2 + log2(wg) <= 38, at most 3 passes: within 128 * 2^-24 * sum|x|.
        assertClose(`sum ${wg}x${per} [${rows}, ${cols}]`, r.got[0]!, r.ref[0]!, (i) => 128 * U32 * abs[i]! + U32 * Math.abs(r.ref[0]![i]!));
      }
    }
  } finally {
    g.tuning = saved;
  }
});

s('scatterAdd sorts with and without workgroup-memory bitonic steps, bit for bit', async () => {
  const g = await gpu();
  if (!g) return;
  const saved = { ...g.tuning };
  const rng = new Rng(8);
  try {
    for (const localSort of [false, true]) {
      g.tuning = { ...saved, localSort };
      // 700 entries sort within one block; 3000 (padded to 4096) mix global and local steps.
      for (const [count, n] of [[700, 50], [3000, 2000]] as const) {
        const idx = new Int32Array(count).map(() => rng.int(n));
        const out0 = values(rng, n, 'uniform'), src = values(rng, count, 'uniform');
        const r = await both(g, [out0, src, idx], (b, [o, ss, is]) => b.scatterAdd(o!, ss!, is!), [0]);
        assertSame(`scatterAdd localSort=${localSort} ${count} into ${n}`, r.got[0]!, r.ref[0]!);
      }
    }
  } finally {
    g.tuning = saved;
  }
});

s('a forced 4 KiB binding limit: gather from and scatterAdd into tensors larger than a window', async () => {
  const g = await gpu();
  if (!g) return;
  const v = g.withBindingLimit(LIMIT);
  const rng = new Rng(4);
  const n = 5003, count = 2500;
  const x = values(rng, n, 'uniform');
  const idx = new Int32Array(count).map(() => rng.int(n));
  const ga = await both(v, [x, idx, new Float32Array(count)], (b, [xs, is, o]) => b.gather(o!, xs!, is!), [2]);
  assertSame('gather', ga.got[0]!, ga.ref[0]!);
  const src = values(rng, count, 'uniform');
  const sa = await both(v, [x, src, idx], (b, [o, ss, is]) => b.scatterAdd(o!, ss!, is!), [0]);
  assertSame('scatterAdd', sa.got[0]!, sa.ref[0]!);
});

s('2-D grids: a dispatch of more than 65535 workgroups', async () => {
  const g = await gpu();
  if (!g) return;
  assert.equal(g.ctx.grid(1), [1, 1]);
  assert.equal(g.ctx.grid(65535), [65535, 1]);
  const [gx, gy] = g.ctx.grid(65536 * 3 + 1);
  assert.ok(gx <= 65535 && gy <= 65535 && gx * gy >= 65536 * 3 + 1);
  // reduce_rows runs one workgroup per row here: 70001 workgroups.
  const rows = 70_001, cols = 3;
  const x = values(new Rng(5), rows * cols, 'ints');
  const r = await both(g, [x, new Float32Array(rows)], (b, [xs, o]) => b.reduce('sum', o!, xs!, rows, cols, 1), [1]);
  assertSame('row sums of small integers are exact', r.got[0]!, r.ref[0]!);
});

s('buffer pool: freed buffers are reused, reused allocations are zero, live data is untouched', async () => {
  const g = await gpu();
  if (!g) return;
  const stats = g.ctx.recorder.pool.stats;
  const live = Array.from({ length: 8 }, (_, i) => {
    const t = g.alloc(1000 + i, 'f32');
    g.fill(t, i + 1);
    return t;
  });
  const reusedBefore = stats.reused;
  for (let round = 0; round < 5; round++) {
    const tmp = Array.from({ length: 6 }, () => g.alloc(1003, 'f32'));
    for (const t of tmp) {
      assertSame('reused is zero', (await g.read(t)) as Float32Array, new Float32Array(1003));
      g.fill(t, -9);
    }
    // Free while work that reads them is still unsubmitted, then reuse at once.
    const sum = g.alloc(1, 'f32');
    g.reduce('sum', sum, tmp[0]!, 1, 1003, 1);
    for (const t of tmp) g.free(t);
    const again = g.alloc(1003, 'f32');
    g.write(again, new Float32Array(1003).fill(5));
    assert.equal(Array.from((await g.read(sum)) as Float32Array), [-9 * 1003]);
    assertSame('written', (await g.read(again)) as Float32Array, new Float32Array(1003).fill(5));
    g.free(again);
    g.free(sum);
  }
  assert.ok(stats.reused - reusedBefore >= 20, `reused ${stats.reused - reusedBefore} buffers`);
  for (let i = 0; i < live.length; i++) {
    assertSame(`live ${i}`, (await g.read(live[i]!)) as Float32Array, new Float32Array(1000 + i).fill(i + 1));
    g.free(live[i]!);
  }
  let message = '';
  await g.read(live[0]!).catch((e: Error) => (message = e.message));
  assert.match(message, /read: src was freed/);
});

s('batching: many small ops go to the GPU in few submits', async () => {
  const g = await gpu();
  if (!g) return;
  await g.sync();
  const rec = g.ctx.recorder;
  const s0 = rec.stats.submits, d0 = rec.stats.dispatches;
  const t = g.alloc(64, 'f32');
  for (let i = 0; i < 200; i++) g.unary('neg', t, t);
  await g.sync();
  assert.ok(rec.stats.dispatches - d0 >= 200);
  assert.ok(rec.stats.submits - s0 <= 2, `${rec.stats.submits - s0} submits`);
  g.free(t);
});

s('a WGSL compile error names the kernel and the line; the device keeps working', async () => {
  const g = await gpu();
  if (!g) return;
  await g.sync();
  registerKernelSource(
    'spec_broken',
    '@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n' +
      '@compute @workgroup_size(1) fn main() { o[0] = no_such_symbol; }\n',
  );
  const t = g.alloc(4, 'i32') as GpuTensor;
  g.ctx.dispatch('spec_broken', {}, [t.buffer], null, [1]);
  let message = '';
  await g.sync().catch((e: Error) => (message = e.message));
  assert.match(message, /spec_broken/);
  assert.match(message, /no_such_symbol/);
  assert.match(message, /spec_broken\.wgsl:2:/);
  g.ctx.recorder.pipelines.evict('spec_broken');
  g.fill(t, 3);
  assert.equal(Array.from((await g.read(t)) as Int32Array), [3, 3, 3, 3]);
  g.free(t);
});

s('a validation error surfaces at the next call with the last kernel named', async () => {
  const g = await gpu();
  if (!g) return;
  await g.sync();
  const t = g.alloc(64, 'f32') as GpuTensor;
  // An unaligned binding offset is a validation error of the bind group.
  g.ctx.dispatch('fill', {}, [{ buffer: t.buffer, offset: 4, size: 16 }], new Uint32Array([1, 0, 0, 0]), [1]);
  let message = '';
  await g.sync().catch((e: Error) => (message = e.message));
  assert.match(message, /WebGPU device error \(last kernel dispatched: fill\)/);
  g.fill(t, 2);
  assert.is(((await g.read(t)) as Float32Array)[63], 2);
  g.free(t);
});

s('misuse is reported like the CPU backend does it', async () => {
  const g = await gpu();
  if (!g) return;
  const a = g.alloc(6, 'f32');
  const b = g.alloc(5, 'f32');
  assert.throws(() => g.unary('exp', b, a), /unary\(exp\): x has 6 elements, expected out.length = 5/);
  assert.throws(() => g.matmul(a, a, b, 2, 3, 2, false, false), /out must not be the same storage as a/);
  assert.throws(() => g.withBindingLimit(100), /below the minimum/);
  g.free(a);
  g.free(b);
  assert.throws(() => g.copy(a, b), /was freed/);
  await g.sync();
});

s.run();
