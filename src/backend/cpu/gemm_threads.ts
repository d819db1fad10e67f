// The SIMD matmul (wasm_gemm.ts) on several cores: worker threads share the module's memory (a shared
// WebAssembly.Memory) and split each row block's B panels between them. The main thread takes a share too
// and blocks in Atomics.wait until the workers finish (backend primitives are synchronous).
// Per row block of MC rows: the main thread packs opA into the shared A block, posts the job through a
// shared control array, computes its own panel range, waits. opB is packed once. Every output element is
// computed by exactly one thread with the same sequential k loop, so the result is bitwise the same for any
// thread count.
// Copying the C block out (with the optional epilogue: + bias, relu into a second output) is done by each
// thread for its own panel columns when the outputs are shared memory: the arrays are handed to the workers
// once per call through a message port they read synchronously (they never return to their event loop).
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { GEMM_MC, gemmLayout, gemmModule, MR, packA4, packB8, WasmGemm } from './wasm_gemm.js';

// Control words: [0] job sequence number, [1] done counter, then the job: k, nb, ldc, bOff, aOff, cOff, mc,
// i0, binding (0: the main thread copies C out; else the number of the arrays message to use), and per worker
// its panel range at 16 + 2w.
const SEQ = 0,
  DONE = 1,
  JOB = 2,
  /** Set by a worker whose job failed. */
  ERR = 15,
  RANGES = 16;

/** The output arrays of one matmul call, as the workers receive them. */
interface OutArrays {
  o: Float32Array;
  n: number;
  bias: Float32Array | null;
  relu: Float32Array | null;
}

/**
 * Rows [0, mc) and columns [j0, j1) of the C block (f32 offset c0, row stride ld) into o rows [i0, i0+mc),
 * adding bias and writing relu when given: the same arithmetic as the binary add and unary relu primitives
 * (an f32 sum rounded once on store; relu of the stored value). Self-contained: its source also runs in the
 * workers.
 */
export function unpackCols(
  o: Float32Array,
  mem: Float32Array,
  c0: number,
  ld: number,
  i0: number,
  mc: number,
  n: number,
  j0: number,
  j1: number,
  bias: Float32Array | null,
  relu: Float32Array | null,
): void {
  for (let r = 0; r < mc; r++) {
    const src = c0 + r * ld,
      dst = (i0 + r) * n;
    if (bias === null) o.set(mem.subarray(src + j0, src + j1), dst + j0);
    else for (let j = j0; j < j1; j++) o[dst + j] = mem[src + j]! + bias[j]!;
  }
  if (relu === null) return;
  // relu on the bits, without a branch, as the reference's unary relu (cpu/elementwise.ts): the same bits.
  const oi = new Int32Array(o.buffer, o.byteOffset, o.length),
    ri = new Int32Array(relu.buffer, relu.byteOffset, relu.length);
  for (let r = 0; r < mc; r++) {
    const dst = (i0 + r) * n;
    for (let j = dst + j0; j < dst + j1; j++) {
      const b = oi[j]!;
      ri[j] = b & ~(b >> 31) & ~((0x7f800000 - b) >> 31);
    }
  }
}

// The worker: instantiate the shared module, then loop waiting for jobs. Plain JS (eval'd), so it runs the
// same from tsx and from compiled output.
const WORKER_SRC = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { module, memory, ctl, index, MR, port } = workerData;
const tile = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.tile;
const NR = 8, ERR = ${ERR};
${unpackCols.toString()}
let seen = 0, bound = 0, out = null;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (seen < 0) break;
  const k = ctl[2], ldc = ctl[4], bOff = ctl[5], aOff = ctl[6], cOff = ctl[7], mc = ctl[8], i0 = ctl[9], binding = ctl[10];
  const jb0 = ctl[16 + 2 * index], jb1 = ctl[17 + 2 * index];
  const mb = Math.ceil(mc / MR);
  // A failure is reported through the error word and the job still counts as done, so the caller throws
  // instead of waiting forever.
  try {
    for (let jb = jb0; jb < jb1; jb++) {
      const pb = bOff + jb * k * NR * 4;
      for (let ib = 0; ib < mb; ib++) tile(aOff + ib * k * MR * 4, pb, cOff + ib * MR * ldc + jb * NR * 4, k, ldc);
    }
    if (binding !== 0) {
      while (bound !== binding) {
        out = receiveMessageOnPort(port).message;
        bound = out.binding;
      }
      unpackCols(out.o, new Float32Array(memory.buffer), cOff / 4, ldc / 4, i0, mc, out.n, jb0 * NR, Math.min(jb1 * NR, out.n), out.bias, out.relu);
    }
  } catch (err) {
    Atomics.store(ctl, ERR, 1);
  }
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
}
`;

export class GemmThreads {
  readonly gemm: WasmGemm;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly ctl = new Int32Array(new SharedArrayBuffer(64 * 4));
  private seq = 0;
  private binding = 0;

  /** @param threads total threads including the main one (workers = threads - 1). */
  constructor(readonly threads: number) {
    this.gemm = new WasmGemm();
    for (let w = 0; w < threads - 1; w++) {
      const { port1, port2 } = new MessageChannel();
      const workerData = { module: gemmModule(), memory: this.gemm.memory, ctl: this.ctl, index: w, MR, port: port2 };
      const worker = new Worker(WORKER_SRC, { eval: true, workerData, transferList: [port2] });
      worker.unref(); // an idle worker must not keep Node alive
      port1.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /** o = opA(a) . opB(b), then o += bias (per column) and relu = relu(o) when given (see unpackCols). */
  matmul(
    o: Float32Array,
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    bias: Float32Array | null = null,
    relu: Float32Array | null = null,
  ): void {
    if (m === 0 || n === 0) return;
    if (k === 0) {
      o.fill(0);
      // The epilogue in place, row by row (source and destination are the same row of o).
      for (let r = 0; r < m; r++) unpackCols(o, o, r * n, 0, r, 1, n, 0, n, bias, relu);
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
    // The workers copy their own columns out when they can reach the outputs (shared memory).
    const shared = [o, bias, relu].every((x) => x === null || x.buffer instanceof SharedArrayBuffer);
    const split = shared && this.workers.length > 0;
    if (split) {
      const msg = { binding: ++this.binding, o, n, bias, relu } satisfies OutArrays & { binding: number };
      for (const p of this.ports) p.postMessage(msg);
    }
    c[JOB + 8] = split ? this.binding : 0;
    const j0 = cut(parts - 1) * 8;
    for (let i0 = 0; i0 < m; i0 += GEMM_MC) {
      const mc = Math.min(GEMM_MC, m - i0);
      packA4(mem, lay.aOff / 4, a, i0, mc, m, k, transA);
      c[JOB + 6] = mc;
      c[JOB + 7] = i0;
      if (this.workers.length > 0) {
        Atomics.store(c, DONE, 0);
        Atomics.store(c, SEQ, ++this.seq);
        Atomics.notify(c, SEQ);
      }
      this.gemm.block(lay, mc, cut(parts - 1), lay.nb);
      const f = this.gemm.f32();
      if (split) unpackCols(o, f, lay.cOff / 4, lay.ldc / 4, i0, mc, n, Math.min(j0, n), n, bias, relu);
      for (let done = Atomics.load(c, DONE); done < this.workers.length; done = Atomics.load(c, DONE)) Atomics.wait(c, DONE, done);
      if (Atomics.exchange(c, ERR, 0) !== 0) throw new Error('matmul: a worker thread failed');
      if (!split) unpackCols(o, f, lay.cOff / 4, lay.ldc / 4, i0, mc, n, 0, n, bias, relu);
    }
  }

  dispose(): void {
    Atomics.store(this.ctl, SEQ, -1);
    Atomics.notify(this.ctl, SEQ);
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
    this.workers.length = 0;
    this.ports.length = 0;
  }
}
