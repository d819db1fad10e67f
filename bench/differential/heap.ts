// Heap stress of the fast CPU backend: random allocation patterns (tiny to multi-megabyte, zeroed or not),
// frees, storages dropped without free() and collected (FinalizationRegistry, with a forced GC where one is
// exposed), pool reuse (a small heap sends large tensors to the shared pool and its arenas), heap growth, and
// threaded primitives writing into fresh outputs in between. Every live tensor has a shadow copy computed in
// plain JavaScript with the same arithmetic, and is read back and compared bit for bit: a piece handed out
// twice, released while live, or written by a worker after its job ended shows as a changed tensor.
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';
import type { Storage } from '../../src/backend/backend.js';
import { WasmGemm, wasmMatmul } from '../../src/backend/cpu/wasm_gemm.js';
import { Rng } from '../../src/rng.js';
import { bitDiff, type Mismatch } from './compare.js';
import type { CheckResult } from './forward.js';

export interface HeapCheckOptions {
  threads: number;
  /** Stop after this many operations, or at the deadline (ms since epoch). */
  ops: number;
  deadline: number;
  seed: number;
  /** The heap's maximum in 64 KiB pages: small sends tensors to the shared pool (default 4 GiB). */
  heapPages?: number;
  /** A full garbage collection (node --expose-gc), or null: then dropped storages are only counted. */
  gc: (() => void) | null;
  progress?: (line: string) => void;
}

interface Live {
  st: Storage;
  shadow: Float32Array;
}

const macrotask = () => new Promise((r) => setImmediate(r));

export async function checkHeap(o: HeapCheckOptions): Promise<CheckResult> {
  const t0 = Date.now();
  const rng = new Rng(o.seed);
  const be = new FastCpuBackend(o.threads, o.heapPages);
  be.parMinWork = 0;
  const gemm = new WasmGemm();
  const live: Live[] = [];
  const mismatches: Mismatch[] = [];
  let ops = 0;
  let dropped: { ref: WeakRef<Storage>; bytes: number }[] = [];
  const size = () => {
    const r = rng.int(100);
    return r < 40 ? 1 + rng.int(300) : r < 85 ? 300 + rng.int(65536) : r < 98 ? 65536 + rng.int(1 << 20) : (1 << 20) + rng.int(3 << 20);
  };
  const random = (n: number) => rng.fillNormal(new Float32Array(n));
  const add = (n: number, fill: 'zero' | 'random'): Live => {
    const st = be.alloc(n, 'f32', fill === 'zero' ? 'zero' : 'unset');
    const shadow = fill === 'zero' ? new Float32Array(n) : random(n);
    if (fill === 'random') be.write(st, shadow);
    const l = { st, shadow };
    live.push(l);
    return l;
  };
  const check = async (l: Live, when: string) => {
    const m = bitDiff(`op ${ops} (${when}): a live tensor of ${l.shadow.length}`, (await be.read(l.st)) as Float32Array, l.shadow);
    if (m) mismatches.push(m);
  };
  const liveBytes = () => live.reduce((s, l) => s + l.shadow.length * 4, 0);
  // A FinalizationRegistry callback runs as its own task: an error there (a double release) never reaches
  // this function, so catch it at the process for the length of the check.
  const uncaught = (err: Error) => mismatches.push({ what: `op ${ops}: uncaught ${err.message}`, count: 1, first: 0, got: NaN, want: NaN });
  process.on('uncaughtException', uncaught);
  try {
    while (ops < o.ops && Date.now() < o.deadline && mismatches.length < 20) {
      const r = rng.int(100);
      let when: string;
      if (r < 25 || live.length < 3) {
        when = 'alloc';
        add(size(), rng.int(2) ? 'zero' : 'random');
      } else if (r < 40) {
        when = 'free';
        be.free(live.splice(rng.int(live.length), 1)[0]!.st);
      } else if (r < 50) {
        when = 'drop without free';
        const [l] = live.splice(rng.int(live.length), 1);
        dropped.push({ ref: new WeakRef(l!.st), bytes: l!.shadow.length * 4 });
      } else if (r < 55) {
        when = 'gc';
        if (o.gc) {
          // Every dropped storage that was collected must have given its memory back (the registry's callbacks
          // run between tasks); one still reachable (a stale register of this suspended async function can
          // hold it) may not have. So the backend's live bytes must be ours plus the uncollected dropped ones.
          const expected = () => liveBytes() + dropped.reduce((s, d) => s + (d.ref.deref() ? d.bytes : 0), 0);
          for (let i = 0; i < 20 && be.mem.live !== expected(); i++) {
            o.gc();
            await macrotask();
            await macrotask();
          }
          const want = expected();
          if (be.mem.live !== want) mismatches.push({ what: `op ${ops}: collected storages not given back (backend's live bytes vs expected)`, count: 1, first: 0, got: be.mem.live, want });
          dropped = dropped.filter((d) => d.ref.deref());
        }
      } else if (r < 75) {
        // out = a + b, or out = a * a, into a fresh output (threaded: parMinWork 0).
        const a = live[rng.int(live.length)]!;
        const n = a.shadow.length;
        const out = add(n, 'random');
        if (rng.int(2)) {
          const b = add(n, 'random');
          when = `binary add of ${n}`;
          be.binary('add', out.st, a.st, 'full', b.st, 'full', n, 1);
          for (let i = 0; i < n; i++) out.shadow[i] = a.shadow[i]! + b.shadow[i]!;
        } else {
          when = `unary square of ${n}`;
          be.unary('square', out.st, a.st);
          for (let i = 0; i < n; i++) out.shadow[i] = a.shadow[i]! * a.shadow[i]!;
        }
      } else {
        const [m, k, n] = [1 + rng.int(300), 1 + rng.int(100), 2 + rng.int(100)];
        when = `matmul ${m}x${k}x${n}`;
        const a = add(m * k, 'random'),
          b = add(k * n, 'random'),
          out = add(m * n, 'random');
        be.matmul(out.st, a.st, b.st, m, k, n, false, false);
        wasmMatmul(gemm, out.shadow, a.shadow, b.shadow, m, k, n, false, false);
      }
      ops++;
      // Three tensors after every operation, all of them every 64.
      const some = ops % 64 === 0 ? live : Array.from({ length: Math.min(3, live.length) }, () => live[rng.int(live.length)]!);
      for (const l of some) await check(l, when);
      if (ops % 500 === 0) o.progress?.(`heap ${ops} ops: ${live.length} live tensors, ${(liveBytes() / 2 ** 20).toFixed(1)} MiB`);
    }
    for (const l of live) await check(l, 'end');
    for (const l of live.splice(0)) be.free(l.st);
    if (o.gc) {
      // Everything freed or dropped: once collected, nothing may be counted live (a storage freed and then
      // finalized would be counted off twice, and its piece released twice).
      const pending = () => dropped.some((d) => d.ref.deref());
      for (let i = 0; i < 20 && (i < 3 || be.mem.live !== 0 || pending()); i++) {
        o.gc();
        await macrotask();
        await macrotask();
      }
      if (be.mem.live !== 0 && !pending()) mismatches.push({ what: 'end: live bytes after freeing and collecting everything', count: 1, first: 0, got: be.mem.live, want: 0 });
    }
  } finally {
    process.off('uncaughtException', uncaught);
    be.dispose();
  }
  return { cases: ops, mismatches, seconds: (Date.now() - t0) / 1000 };
}
