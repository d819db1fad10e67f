// The fast CPU backend: the reference CPU backend (cpu.ts) with its dense matmul replaced by a WebAssembly
// SIMD micro-kernel on every core (cpu/wasm_gemm.ts, cpu/gemm_threads.ts). The dense encoder product
// dominates an SAE training step at the paper's shapes; every other primitive is the reference's.
// The matmul accumulates in f32 (the reference in f64), within the bound the contract suite checks for
// every non-reference backend; results do not depend on the thread count.
import { availableParallelism } from 'node:os';
import type { Storage } from './backend.js';
import { CpuBackend } from './cpu.js';
import { GemmThreads } from './cpu/gemm_threads.js';

export class FastCpuBackend extends CpuBackend {
  /** Which CPU path this is (the Backend name stays 'cpu': same storage, same other primitives). */
  readonly variant = 'cpu-fast';
  private pool: GemmThreads | null = null;

  /** @param threads threads for the matmul (default: the machine's available parallelism). */
  constructor(readonly threads = availableParallelism()) {
    super();
  }

  override matmul(out: Storage, a: Storage, b: Storage, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
    const [o, av, bv] = this.args.matmul(out, a, b, m, k, n);
    this.pool ??= new GemmThreads(Math.max(1, this.threads));
    this.pool.matmul(o.data as Float32Array, av.data as Float32Array, bv.data as Float32Array, m, k, n, transA, transB);
  }

  override dispose(): void {
    this.pool?.dispose();
    this.pool = null;
    super.dispose();
  }
}
