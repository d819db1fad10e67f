// The SIMD matmul (wasm_gemm.ts) on several cores: worker threads share the module's memory (a shared
// WebAssembly.Memory) and split each row block's B panels between them. The main thread takes a share too
// and blocks in Atomics.wait until the workers finish (backend primitives are synchronous).
// Per row block of MC rows: the main thread packs opA into the shared A block, posts the job through a
// shared control array, computes its own panel range, waits, and copies the C block out. opB is packed once.
// Every output element is computed by exactly one thread with the same sequential k loop, so the result is
// bitwise the same for any thread count.
import { Worker } from 'node:worker_threads';
import { GEMM_MC, gemmLayout, gemmModule, MR, packA4, packB8, unpackC, WasmGemm } from './wasm_gemm.js';

// Control words: [0] job sequence number, [1] done counter, then the job: k, nb, ldc, bOff, aOff, cOff, mc,
// and per worker its panel range at 16 + 2w.
const SEQ = 0,
  DONE = 1,
  JOB = 2,
  RANGES = 16;

// The worker: instantiate the shared module, then loop waiting for jobs. Plain JS (eval'd), so it runs the
// same from tsx and from compiled output.
const WORKER_SRC = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctl, index, MR } = workerData;
const tile = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.tile;
const NR = 8;
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (seen < 0) break;
  const k = ctl[2], ldc = ctl[4], bOff = ctl[5], aOff = ctl[6], cOff = ctl[7], mc = ctl[8];
  const jb0 = ctl[16 + 2 * index], jb1 = ctl[17 + 2 * index];
  const mb = Math.ceil(mc / MR);
  for (let jb = jb0; jb < jb1; jb++) {
    const pb = bOff + jb * k * NR * 4;
    for (let ib = 0; ib < mb; ib++) tile(aOff + ib * k * MR * 4, pb, cOff + ib * MR * ldc + jb * NR * 4, k, ldc);
  }
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
}
`;

export class GemmThreads {
  readonly gemm: WasmGemm;
  private readonly workers: Worker[] = [];
  private readonly ctl = new Int32Array(new SharedArrayBuffer(64 * 4));
  private seq = 0;

  /** @param threads total threads including the main one (workers = threads - 1). */
  constructor(readonly threads: number) {
    this.gemm = new WasmGemm();
    for (let w = 0; w < threads - 1; w++) {
      const worker = new Worker(WORKER_SRC, { eval: true, workerData: { module: gemmModule(), memory: this.gemm.memory, ctl: this.ctl, index: w, MR } });
      worker.unref(); // an idle worker must not keep Node alive
      this.workers.push(worker);
    }
  }

  matmul(o: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
    if (m === 0 || n === 0) return;
    if (k === 0) {
      o.fill(0);
      return;
    }
    const lay = gemmLayout(k, n, 1, 0);
    this.gemm.ensure(lay.bytes);
    const mem = this.gemm.f32();
    packB8(mem, lay.bOff / 4, b, k, n, transB);
    const parts = this.threads;
    // Panel ranges: the main thread takes the last share.
    const cut = (t: number) => Math.round((lay.nb * t) / parts);
    const c = this.ctl;
    c[JOB] = k;
    c[JOB + 1] = lay.nb;
    c[JOB + 2] = lay.ldc;
    c[JOB + 3] = lay.bOff;
    c[JOB + 4] = lay.aOff;
    c[JOB + 5] = lay.cOff;
    for (let w = 0; w < this.workers.length; w++) {
      c[RANGES + 2 * w] = cut(w);
      c[RANGES + 2 * w + 1] = cut(w + 1);
    }
    for (let i0 = 0; i0 < m; i0 += GEMM_MC) {
      const mc = Math.min(GEMM_MC, m - i0);
      packA4(mem, lay.aOff / 4, a, i0, mc, m, k, transA);
      c[JOB + 6] = mc;
      if (this.workers.length > 0) {
        Atomics.store(c, DONE, 0);
        Atomics.store(c, SEQ, ++this.seq);
        Atomics.notify(c, SEQ);
      }
      this.gemm.block(lay, mc, cut(parts - 1), lay.nb);
      for (let done = Atomics.load(c, DONE); done < this.workers.length; done = Atomics.load(c, DONE)) Atomics.wait(c, DONE, done);
      unpackC(o, mem, lay, i0, mc, n);
    }
  }

  dispose(): void {
    Atomics.store(this.ctl, SEQ, -1);
    Atomics.notify(this.ctl, SEQ);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
