// The fast CPU backend's storage heap (src/backend/cpu/wasm_heap.ts): any sequence of allocations and releases
// hands out zeroed, non-overlapping, aligned pieces; released memory is reused (a release of everything leaves
// one free block, so the memory does not grow without bound); a request beyond the maximum is refused (null),
// and the backend then stores the tensor outside the heap, where the JavaScript kernels give the same bits.
import fc from 'fast-check';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WasmHeap } from '../../src/backend/cpu/wasm_heap.js';
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';
import type { Storage } from '../../src/backend/backend.js';
import type { SharedPool } from '../../src/backend/cpu/shared_pool.js';
import { Rng } from '../../src/rng.js';
import { makeTrainConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { downloadParams } from '../../src/sae/params.js';

const s = suite('wasm heap: the fast CPU backend storage allocator');

/** A sequence of operations: allocate `bytes`, or release the live piece at position `which` (mod live count). */
const ops = fc.array(
  fc.oneof(
    fc.record({ alloc: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 200_000 })) }),
    fc.record({ release: fc.nat() }),
  ),
  { maxLength: 60 },
);

s('pieces are zeroed, aligned, disjoint; releases merge back into one block', () => {
  fc.assert(
    fc.property(ops, (seq) => {
      const heap = new WasmHeap(64);
      const live: { off: number; bytes: number; mark: number }[] = [];
      let mark = 1;
      for (const o of seq) {
        if ('alloc' in o) {
          const p = heap.alloc(o.alloc);
          if (!p) continue; // beyond 64 pages: refused, nothing changes
          assert.is(p.offset % 64, 0, 'aligned');
          assert.ok(p.offset >= 65536, 'never in the first page');
          const view = new Uint8Array(p.buf, p.offset, o.alloc);
          assert.ok(view.every((v) => v === 0), 'zeroed');
          // Fill with a mark: a later overlap or a missed zeroing would show as a wrong byte.
          const m = (mark++ % 255) + 1;
          view.fill(m);
          live.push({ off: p.offset, bytes: o.alloc, mark: m });
        } else if (live.length > 0) {
          const [x] = live.splice(o.release % live.length, 1);
          heap.release(x!.off, x!.bytes);
        }
        const mem = new Uint8Array(heap.memory.buffer);
        for (const x of live) {
          assert.is(mem[x.off], x.mark, 'first byte intact');
          assert.is(mem[x.off + x.bytes - 1], x.mark, 'last byte intact');
        }
      }
      for (const x of live.splice(0)) heap.release(x.off, x.bytes);
      assert.is(heap.used, 0);
      const size = heap.memory.buffer.byteLength;
      // Everything released: the whole handed-out range is free again and one allocation of it fits in place.
      const all = heap.freeBytes;
      if (all > 0) {
        const p = heap.alloc(all);
        assert.ok(p, 'one block');
        assert.is(p!.offset, 65536);
        assert.is(heap.memory.buffer.byteLength, size, 'no growth');
      }
    }),
    { numRuns: 200 },
  );
});

s('a release that overlaps free memory (a double free) is an error', () => {
  const heap = new WasmHeap(4);
  const p = heap.alloc(1000)!;
  heap.alloc(1000);
  heap.release(p.offset, 1000);
  assert.throws(() => heap.release(p.offset, 1000), /overlaps a free block/);
});

s('beyond the maximum: null, then the backend stores outside the heap with the same results', async () => {
  const heap = new WasmHeap(2);
  assert.ok(heap.alloc(60_000));
  assert.is(heap.alloc(70_000), null);
  // A backend whose heap is 2 pages (one usable): a [256,48] input fits, the [96,48] weights then do not and
  // live outside; the sddmm runs the JavaScript kernel and must match the WebAssembly one of a roomy heap.
  const be = new FastCpuBackend(2, 2);
  try {
    const rng = new Rng(3);
    const [B, m, d] = [256, 96, 48];
    const a = rng.fillNormal(new Float32Array(B * d));
    const w = rng.fillNormal(new Float32Array(m * d));
    const idx = Int32Array.from({ length: B * 4 }, (_, i) => Math.floor(i / 4) * m + (i % 4) * 20);
    const up = (x: Float32Array | Int32Array, dt: 'f32' | 'i32') => {
      const st = be.alloc(x.length, dt);
      be.write(st, x);
      return st;
    };
    const [A, W, I] = [up(a, 'f32'), up(w, 'f32'), up(idx, 'i32')];
    const inHeap = (st: Storage) => be.inHeapStorage(st);
    assert.ok(inHeap(A) && !inHeap(W), 'the case must mix a heap tensor with one outside it');
    const out = be.alloc(idx.length, 'f32');
    be.sddmm(out, A, W, I, m, d);
    const got = (await be.read(out)) as Float32Array;
    const ref = new FastCpuBackend(1);
    try {
      const [A2, W2, I2] = [a, w, idx].map((x, i) => {
        const st = ref.alloc(x.length, i === 2 ? 'i32' : 'f32');
        ref.write(st, x);
        return st;
      });
      const out2 = ref.alloc(idx.length, 'f32');
      ref.sddmm(out2, A2!, W2!, I2!, m, d);
      assert.equal(Array.from(got), Array.from((await ref.read(out2)) as Float32Array));
    } finally {
      ref.dispose();
    }
  } finally {
    be.dispose();
  }
});

s("outputs allocated 'unset' are fully written: training on a heap full of stale NaN bits gives the same bits", async () => {
  // Every op output skips zeroing on the fast CPU backend; a primitive that left part of its output unwritten
  // would read the stale bytes. Poison the heap's free memory with NaN bit patterns first, then compare two
  // BatchTopK and AuxK training steps (dead latents from step 2 on) with a fresh backend's.
  const cfg = makeTrainConfig({ sae: { arch: 'batchtopk', dIn: 32, dSae: 256, k: 4, deadTokens: 64, kAux: 16 }, batchSize: 64, steps: 100, seed: 5 });
  const x = new Rng(9).fillNormal(new Float32Array(64 * 32));
  const run = async (poison: boolean) => {
    const be = new FastCpuBackend(2);
    try {
      if (poison) {
        const junk = [1 << 20, 1 << 16, 4096, 1 << 18].map((n) => be.alloc(n, 'f32'));
        for (const j of junk) be.write(j, new Float32Array(j.length).fill(NaN));
        for (const j of junk) be.free(j);
      }
      const t = await Trainer.create(be, cfg, x);
      for (let i = 0; i < 3; i++) await t.trainStep(x);
      const h = await downloadParams(t.params);
      t.dispose();
      return h;
    } finally {
      be.dispose();
    }
  };
  const [fresh, poisoned] = [await run(false), await run(true)];
  for (const key of Object.keys(fresh) as (keyof typeof fresh)[]) {
    const a = fresh[key] as Float32Array,
      b = poisoned[key] as Float32Array;
    assert.ok(a.every(Number.isFinite), `${key} finite`);
    assert.equal(Array.from(b), Array.from(a), key);
  }
});

s('heap storages stay heap storages when V8 replaces the memory buffer object (after a threaded matmul and a growth)', async () => {
  // Once a worker has received a view of the heap (a threaded matmul's output), a later growth makes V8 hand
  // this thread yet another buffer object for the memory, at a moment of its choosing. Storages were told
  // apart by buffer object: those allocated after the swap were taken for pool storages, so free() gave the
  // whole heap memory to the shared pool (which hands it out again, zero-filled, under live tensors) and never
  // released the piece (issue 17, item 1).
  const be = new FastCpuBackend(2, 4096);
  const internals = be as unknown as { heap: WasmHeap; shared: SharedPool };
  const heap = internals.heap;
  try {
    let swapped = 0;
    const baseUsed = heap.used;
    for (let i = 0; i < 30; i++) {
      const [m, k, n] = [100 + i, 80, 88];
      const grow = be.alloc(20000 * (i + 1), 'f32');
      const [a, b, o] = [be.alloc(m * k, 'f32'), be.alloc(k * n, 'f32'), be.alloc(m * n, 'f32')];
      const buf = heap.memory.buffer;
      be.matmul(o, a, b, m, k, n, false, false);
      const later = be.alloc(1000, 'f32');
      if (heap.memory.buffer !== buf) swapped++;
      for (const st of [grow, a, b, o, later]) assert.ok(be.inHeapStorage(st), `step ${i}: a storage carved from the heap is not recognised as one`);
      for (const st of [grow, a, b, o, later]) be.free(st);
      assert.is(heap.used, baseUsed, `step ${i}: freed heap storages did not return to the heap`);
      assert.is(internals.shared.freeBytes, 0, `step ${i}: heap memory was given to the shared pool`);
    }
    // The case must have happened, else this spec proves nothing on this runtime.
    assert.ok(swapped > 0, 'V8 never replaced the buffer object: the case was not exercised');
  } finally {
    be.dispose();
  }
});

s("a storage freed through another backend is released, not taken into that backend's pool", () => {
  // Its memory is not the freeing backend's to reuse: a heap piece of one backend given to another's pool
  // would be handed out by both.
  const [a, b] = [new FastCpuBackend(1), new FastCpuBackend(1)];
  try {
    const st = a.alloc(1 << 18, 'f32');
    b.free(st);
    assert.is((b as unknown as { shared: SharedPool }).shared.freeBytes, 0);
    assert.is(b.mem.live, 0);
  } finally {
    a.dispose();
    b.dispose();
  }
});

s('a storage dropped without free() returns its heap memory once collected', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const be = new FastCpuBackend(1);
  try {
    const kept = be.alloc(1 << 16, 'f32');
    (() => {
      for (let i = 0; i < 8; i++) be.alloc(1 << 18, 'f32'); // dropped: nothing holds them
    })();
    assert.is(be.mem.live, (1 << 16) * 4 + 8 * (1 << 18) * 4);
    for (let i = 0; i < 20 && be.mem.live > (1 << 16) * 4; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.is(be.mem.live, (1 << 16) * 4, 'the dropped storages were given back');
    // The memory is reused: a new 8 MiB storage needs no growth.
    const size = (be as unknown as { heap: WasmHeap }).heap.memory.buffer.byteLength;
    be.alloc(8 * (1 << 18), 'f32');
    assert.is((be as unknown as { heap: WasmHeap }).heap.memory.buffer.byteLength, size);
    be.free(kept);
  } finally {
    be.dispose();
  }
});

s.run();
