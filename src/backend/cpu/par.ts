// Worker threads for the fast CPU backend's memory-bound primitives (sparse products, Adam). Operands live in
// SharedArrayBuffers (FastCpuBackend allocates them so); each worker gets its slice by message, the main
// thread computes its own slice, then blocks in Atomics.wait until the workers report done (primitives are
// synchronous). The kernels are par_kernels.ts's functions, shipped to the workers as source text.
import { Worker } from 'node:worker_threads';
import { KERNEL_HELPERS, RANGE_KERNELS, type RangeKernel } from './par_kernels.js';
import { heapKernels, heapKernelModule, type HeapKernel, type HeapKernels } from './wasm_kernels.js';

const WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const ctl = workerData.ctl;
const W = workerData.wasm ? new WebAssembly.Instance(workerData.wasm.module, { env: { mem: workerData.wasm.memory } }).exports : null;
let aboveCount = 0; // select.ts's module state (findBucket's second result)
const __name = (f) => f; // a transpiler's keep-names helper may appear in shipped class sources
${[...KERNEL_HELPERS, ...Object.values(RANGE_KERNELS)]
  .map((f) => f.toString())
  .join('\n')}
const K = { ${Object.keys(RANGE_KERNELS).join(', ')} };
parentPort.on('message', (msg) => {
  try {
    if (msg.wasm) W[msg.wasm](...msg.args);
    else K[msg.kernel](...msg.args);
  } catch (err) {
    Atomics.store(ctl, 2, 1);
  }
  Atomics.add(ctl, 0, 1);
  Atomics.notify(ctl, 0);
});
`;

export class ParallelPool {
  private readonly workers: Worker[] = [];
  // [0] done count, [2] error flag.
  private readonly ctl = new Int32Array(new SharedArrayBuffer(16));

  /** The WebAssembly sparse kernels over `heap` on this thread (null without a heap). */
  private readonly wasm: HeapKernels | null;

  /**
   * @param threads total threads including the main one.
   * @param heap the storage heap's memory: every thread instantiates the WebAssembly kernels over it.
   */
  constructor(
    readonly threads: number,
    heap?: WebAssembly.Memory,
  ) {
    this.wasm = heap ? heapKernels(heap) : null;
    const wasm = heap ? { module: heapKernelModule(), memory: heap } : null;
    for (let w = 0; w < threads - 1; w++) {
      const worker = new Worker(WORKER_SRC, { eval: true, workerData: { ctl: this.ctl, wasm } });
      worker.unref();
      this.workers.push(worker);
    }
  }

  /**
   * Run `kernel` with argsFor(t) for t = 0..threads-1: slices 0..threads-2 on the workers, the last on this
   * thread. Array arguments must be views of SharedArrayBuffers.
   */
  run(kernel: RangeKernel, argsFor: (t: number) => unknown[]): void {
    const n = this.workers.length;
    this.dispatch(
      kernel,
      (w) => this.workers[w]!.postMessage({ kernel, args: argsFor(w) }),
      () => (RANGE_KERNELS[kernel] as (...a: unknown[]) => void)(...argsFor(n)),
    );
  }

  /** As run, for a WebAssembly kernel over the heap: argsFor(t) are its integer arguments (byte offsets, sizes). */
  runWasm(kernel: HeapKernel, argsFor: (t: number) => number[]): void {
    const wasm = this.wasm;
    if (!wasm) throw new Error(`${kernel}: this pool has no WebAssembly heap`);
    const n = this.workers.length;
    this.dispatch(
      kernel,
      (w) => this.workers[w]!.postMessage({ wasm: kernel, args: argsFor(w) }),
      () => (wasm[kernel] as (...a: number[]) => void)(...argsFor(n)),
    );
  }

  /**
   * Post the workers' slices, run this thread's, then join: also when posting or this thread's slice throws.
   * A worker left running would write into outputs that the caller frees on its error path (and the heap
   * hands out again), and its done count would land in the next job's counter, letting that job return before
   * its own workers finished (issue 17, item 16).
   */
  private dispatch(kernel: string, post: (w: number) => void, slice: () => void): void {
    const n = this.workers.length;
    Atomics.store(this.ctl, 0, 0);
    let posted = 0;
    try {
      for (; posted < n; posted++) post(posted);
      slice();
    } catch (err) {
      this.join(kernel, posted, false);
      throw err;
    }
    this.join(kernel, n, true);
  }

  /** Wait until `count` workers finished this job; with `report`, throw when one of them failed. */
  private join(kernel: string, count: number, report: boolean): void {
    for (let done = Atomics.load(this.ctl, 0); done < count; done = Atomics.load(this.ctl, 0)) Atomics.wait(this.ctl, 0, done);
    if (Atomics.exchange(this.ctl, 2, 0) !== 0 && report) throw new Error(`${kernel}: a worker thread failed`);
  }

  dispose(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
