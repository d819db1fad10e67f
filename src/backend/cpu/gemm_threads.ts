// The SIMD matmul (wasm_gemm.ts) on several cores: worker threads share the module's memory (a shared
// WebAssembly.Memory) and split each row block's B panels between them. The main thread takes a share too
// and blocks in Atomics.wait until the workers finish (backend primitives are synchronous).
// Per row block of MC rows: the main thread packs opA into the shared A block, posts the job through a
// shared control array, computes its own panel range, waits. opB is packed once. Every output element is
// computed by exactly one thread with the same sequential k loop, so the result is bitwise the same for any
// thread count.
// Copying the C block out (with the optional epilogue: + bias, relu into a second output) is done by each
// thread for its own panel columns when the outputs are shared memory: the arrays are handed to the workers
// once per column block through a message port they read synchronously (they never return to their event loop).
// The message also carries the kernel memory's buffer as the main thread sees it after growing it: a worker's
// own `memory.buffer` is refreshed only when V8 delivers the grow to that thread (an interrupt), so it can still
// have the old, shorter length, and a copy through it would be silently clamped (issue 17, item 1).
// Products whose packed operands exceed the kernel memory (2 GiB: wasm32 offsets, e.g. d 4096 x m 131072) run
// in column blocks that fit; every output element is still the same sequential k loop, so the bits are those
// of the unblocked product (issue 17, item 16).
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { GEMM_MC, GEMM_MAX_BYTES, gemmLayout, gemmModule, MR, NR, packA4, packB8, WasmGemm } from './wasm_gemm.js';

// Control words: [0] job sequence number, [1] done counter, then the job: k, nb, ldc, bOff, aOff, cOff, mc,
// i0, binding (0: the main thread copies C out; else the number of the arrays message to use), the column
// block's width, and per worker its panel range at 16 + 2w.
const SEQ = 0,
  DONE = 1,
  JOB = 2,
  /** Set by a worker whose job failed. */
  ERR = 15,
  RANGES = 16;

/** The output arrays of one column block of a matmul call, as the workers receive them. */
interface OutArrays {
  o: Float32Array;
  n: number;
  bias: Float32Array | null;
  relu: Float32Array | null;
  /** The kernel memory's buffer at its current length (see the header). */
  mem: SharedArrayBuffer;
  /** The block's first column in o. */
  col0: number;
}

/**
 * Rows [0, mc) and columns [j0, j1) of the C block (f32 offset c0, row stride ld) into o rows [i0, i0+mc)
 * at columns col0 + j (o has n columns), adding bias and writing relu when given: the same arithmetic as the
 * binary add and unary relu primitives (an f32 sum rounded once on store; relu of the stored value).
 * Throws when the block is not inside `mem` (a subarray would clamp and leave output silently unwritten).
 * Self-contained: its source also runs in the workers.
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
  col0 = 0,
): void {
  if (j1 <= j0 || mc <= 0) return;
  if (c0 + (mc - 1) * ld + j1 > mem.length) throw new Error(`matmul: the C block (to f32 ${c0 + (mc - 1) * ld + j1}) lies beyond the kernel memory view (${mem.length})`);
  for (let r = 0; r < mc; r++) {
    const src = c0 + r * ld,
      dst = (i0 + r) * n + col0;
    if (bias === null) o.set(mem.subarray(src + j0, src + j1), dst + j0);
    else for (let j = j0; j < j1; j++) o[dst + j] = mem[src + j]! + bias[col0 + j]!;
  }
  if (relu === null) return;
  // relu on the bits, without a branch, as the reference's unary relu (cpu/elementwise.ts): the same bits.
  const oi = new Int32Array(o.buffer, o.byteOffset, o.length),
    ri = new Int32Array(relu.buffer, relu.byteOffset, relu.length);
  for (let r = 0; r < mc; r++) {
    const dst = (i0 + r) * n + col0;
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
      const nc = ctl[11];
      unpackCols(out.o, new Float32Array(out.mem), cOff / 4, ldc / 4, i0, mc, out.n, jb0 * NR, Math.min(jb1 * NR, nc), out.bias, out.relu, out.col0);
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

  /**
   * @param threads total threads including the main one (workers = threads - 1).
   * @param maxBytes the most kernel memory one column block may use (default and cap: wasm32's 2 GiB of
   *   i32 offsets); lower in specs, to exercise the blocking at small sizes.
   */
  constructor(
    readonly threads: number,
    readonly maxBytes = GEMM_MAX_BYTES,
  ) {
    this.maxBytes = Math.min(maxBytes, GEMM_MAX_BYTES);
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

  /**
   * Columns per block for inner dimension k: as many 8-column panels as fit in maxBytes with the A and C
   * blocks (gemmLayout), at most all of n. Throws when not even one panel fits.
   */
  blockColumns(k: number, n: number): number {
    const aBytes = Math.ceil(GEMM_MC / MR) * MR * k * 4;
    const perPanel = NR * k * 4 + GEMM_MC * NR * 4;
    const panels = Math.floor((this.maxBytes - aBytes) / perPanel);
    if (panels < 1) {
      throw new Error(
        `matmul: an inner dimension of ${k} needs ${aBytes + perPanel} bytes of the fast CPU matmul's kernel memory for one 8-column block, ` +
          `above its ${this.maxBytes}-byte limit; use --backend cpu for this product`,
      );
    }
    return Math.min(n, panels * NR);
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
    let width = this.blockColumns(k, n);
    for (let col0 = 0; col0 < n; ) {
      const nc = Math.min(width, n - col0);
      if (!this.gemm.tryEnsure(gemmLayout(k, nc, 1, 0).bytes)) {
        // The system refused the memory: narrower blocks, down to one panel.
        if (width <= NR) throw new Error(`matmul: could not get ${gemmLayout(k, nc, 1, 0).bytes} bytes for the fast CPU matmul's kernel memory (out of memory); use --backend cpu`);
        width = Math.max(NR, Math.floor(width / 2 / NR) * NR);
        continue;
      }
      this.columnBlock(o, a, b, m, k, n, col0, nc, transA, transB, bias, relu);
      col0 += nc;
    }
  }

  /** Columns [col0, col0 + nc) of the product (the kernel memory already holds their layout). */
  private columnBlock(
    o: Float32Array,
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    col0: number,
    nc: number,
    transA: boolean,
    transB: boolean,
    bias: Float32Array | null,
    relu: Float32Array | null,
  ): void {
    const lay = gemmLayout(k, nc, 1, 0);
    const mem = this.gemm.f32();
    packB8(mem, lay.bOff / 4, b, k, n, transB, col0, nc);
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
    c[JOB + 9] = nc;
    for (let w = 0; w < this.workers.length; w++) {
      c[RANGES + 2 * w] = cut(w);
      c[RANGES + 2 * w + 1] = cut(w + 1);
    }
    // The workers copy their own columns out when they can reach the outputs (shared memory).
    const shared = [o, bias, relu].every((x) => x === null || x.buffer instanceof SharedArrayBuffer);
    const split = shared && this.workers.length > 0;
    if (split) {
      const msg = { binding: ++this.binding, o, n, bias, relu, mem: this.gemm.memory.buffer as unknown as SharedArrayBuffer, col0 } satisfies OutArrays & { binding: number };
      for (const p of this.ports) p.postMessage(msg);
    }
    c[JOB + 8] = split ? this.binding : 0;
    const j0 = cut(parts - 1) * NR;
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
      const f = this.gemm.f32();
      try {
        this.gemm.block(lay, mc, cut(parts - 1), lay.nb);
        if (split) unpackCols(o, f, lay.cOff / 4, lay.ldc / 4, i0, mc, n, Math.min(j0, nc), nc, bias, relu, col0);
      } catch (err) {
        // Join before rethrowing: a worker still copying out would write into outputs the caller frees, and
        // its done count would land in the next job's counter (issue 17, item 16).
        this.join();
        throw err;
      }
      if (this.join()) throw new Error('matmul: a worker thread failed');
      if (!split) unpackCols(o, f, lay.cOff / 4, lay.ldc / 4, i0, mc, n, 0, nc, bias, relu, col0);
    }
  }

  /** Wait for every worker to finish the current job; true when one of them failed. */
  private join(): boolean {
    const c = this.ctl;
    for (let done = Atomics.load(c, DONE); done < this.workers.length; done = Atomics.load(c, DONE)) Atomics.wait(c, DONE, done);
    return Atomics.exchange(c, ERR, 0) !== 0;
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
