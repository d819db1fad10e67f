// The backend contract: the small set of primitives every device implements.
// Implementations: `cpu/reference.ts` (the reference, plain typed-array loops), `cpu_fast.ts` (threads and
// WebAssembly over the reference) and `webgpu/` (WGSL kernels).
// Every primitive is destination first (llm.c style): `op(out, inputs..., sizes...)`.
// Only `read` is asynchronous; every other call enqueues work and returns at once.
// Matrices are row-major and dense; a "[R,C]" buffer holds R*C elements.
// An output never aliases an input of the same call (except in-place `adam`, whose p, m and v are updated).

import type { ModelOps } from './model_ops.js';
import type { DType, HostArray, Storage } from './types.js';

export type { DType, Storage, HostArray } from './types.js';

/**
 * Elementwise unary ops on f32.
 * neg: -x, exp, log, sqrt, abs, square: x*x, recip: 1/x,
 * relu: x > 0 ? x : 0, step: x > 0 ? 1 : 0 (relu's derivative; step(0) = 0).
 */
export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'square' | 'recip' | 'relu' | 'step';
export const UNARY_OPS: readonly UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'abs', 'square', 'recip', 'relu', 'step'];

/**
 * Elementwise binary ops on f32. Comparisons return 1 or 0.
 * add, sub, mul, div, max, min, gt: a > b, ge: a >= b.
 */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'gt' | 'ge';
export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'gt', 'ge'];

/**
 * How an operand of a binary op is laid over the [R,C] output (the only broadcasts SAE training needs):
 * full: [R,C]; row: a [C] vector repeated for every row; col: an [R] vector repeated across columns;
 * scalar: a single element.
 */
export type Broadcast = 'full' | 'row' | 'col' | 'scalar';

/** Reductions. sum, max, min. */
export type ReduceOp = 'sum' | 'max' | 'min';

/** Elementwise work after a matmul, on its output (see Backend.matmul). */
export interface MatmulEpilogue {
  /** f32 [n], added to every row of the product. */
  bias?: Storage;
  /** f32 [m,n], receives relu of the (biased) product. */
  relu?: Storage;
}

/** Adam hyper-parameters for one step; bc1 = 1 - beta1^t and bc2 = 1 - beta2^t are computed on the host. */
export interface AdamParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  bc1: number;
  bc2: number;
}

/**
 * What a device backend has done since it was created (Backend.counters): the measures that make a GPU step
 * fast or slow whatever the device. Totals; take differences between two calls for a span (e.g. a step).
 */
export interface BackendCounters {
  /** Compute dispatches recorded (indirect ones included, whether or not they launch workgroups). */
  dispatches: number;
  /** Command buffers submitted for the work (a profiler's own per-kernel timing submits are not counted). */
  submits: number;
  /** Host waits for the device: read() and sync() calls (readLater() is not one). */
  readbacks: number;
  /** Bytes copied device -> host (read and readLater). */
  readbackBytes: number;
  /** Bytes copied host -> device (write). */
  uploadBytes: number;
  /** How a profiler can time kernels here: on the device (timestamp-query), or by synced wall time. */
  kernelTiming: 'timestamp-query' | 'synced-wall';
}

/** A device command captured for profiling; kernel '' marks bookkeeping that takes no device time. */
export interface CapturedCommand {
  kernel: string;
  run: () => void;
}

/**
 * What a profiler (profile.ts) needs from a backend whose primitives only record work: capture the
 * commands a primitive records, run them one at a time, and time each.
 */
export interface DeviceProfiling {
  /** Capture recorded commands into `into`, in order, instead of recording them; null stops capturing. */
  capture(into: CapturedCommand[] | null): void;
  /** Submit what is recorded as a profiler's own submission (not counted in BackendCounters.submits). */
  submitForTiming(): void;
  /** Wait until the device has run everything submitted (not counted as a readback). */
  idle(): Promise<void>;
  /** Throw a pending device error, if any. */
  check(): void;
  /**
   * Where the adapter has timestamp-query: run one captured dispatch in a compute pass of its own and return
   * its device time in ms. Absent otherwise (the profiler then times each submission by synced wall time).
   */
  timeOnDevice?(run: () => void): Promise<number>;
}

/** The contract; the language-model primitives (ModelOps) are declared in model_ops.ts. */
export interface Backend extends ModelOps {
  readonly name: 'cpu' | 'webgpu';
  /** A faster implementation of a device's primitives under its own name for users (e.g. 'cpu-fast'). */
  readonly variant?: string;

  // ---- memory ----
  /**
   * New storage of `length` elements, contents zero. With contents 'unset' the caller promises that the next
   * primitive writes every element before anything reads one (an op's output), so a backend may skip the
   * zeroing (the fast CPU backend reuses freed host memory, where zeroing [B,M] buffers costs real time).
   */
  alloc(length: number, dtype: DType, contents?: 'zero' | 'unset'): Storage;
  /** Copy host data into `dst` (lengths and dtypes must match). */
  write(dst: Storage, data: HostArray): void;
  /** Copy device data to the host. The only asynchronous primitive. */
  read(src: Storage): Promise<HostArray>;
  /** Release storage; using it afterwards is an error. */
  free(s: Storage): void;
  /** out[i] = value for all i. */
  fill(out: Storage, value: number): void;
  /** out[i] = src[i] (same length and dtype). */
  copy(out: Storage, src: Storage): void;

  // ---- elementwise ----
  /** out[i] = op(x[i]), n = out.length = x.length. */
  unary(op: UnaryOp, out: Storage, x: Storage): void;
  /**
   * out[r,c] = op(A(r,c), B(r,c)) for an [rows, cols] output, where each operand is read
   * according to its Broadcast (full [R,C], row [C], col [R], scalar [1]).
   */
  binary(
    op: BinaryOp,
    out: Storage,
    a: Storage,
    aMode: Broadcast,
    b: Storage,
    bMode: Broadcast,
    rows: number,
    cols: number,
  ): void;

  // ---- reductions ----
  /**
   * Reduce an [rows, cols] matrix along an axis. axis 0: out[c] = op over r of x[r,c] (out has cols);
   * axis 1: out[r] = op over c of x[r,c] (out has rows). A full reduction is axis 1 over [1, n].
   * Sums should accumulate with at least f32 pairwise/blocked accuracy.
   */
  reduce(op: ReduceOp, out: Storage, x: Storage, rows: number, cols: number, axis: 0 | 1): void;

  // ---- linear algebra ----
  /**
   * out[m,n] = opA(a)[m,k] . opB(b)[k,n], overwriting out.
   * a is stored [m,k], or [k,m] when transA; b is stored [k,n], or [n,k] when transB.
   * With an epilogue, the same results as the separate primitives after it (a backend may fuse them into
   * its output pass): out = binary add of out and epi.bias [n] broadcast over rows, then epi.relu [m,n]
   * (a second output, distinct from every other operand) = unary relu of out.
   */
  matmul(out: Storage, a: Storage, b: Storage, m: number, k: number, n: number, transA: boolean, transB: boolean, epi?: MatmulEpilogue): void;

  // ---- selection ----
  /**
   * Per-row top-k of an [rows, cols] f32 matrix. outIdx (i32, rows*k) receives FLAT indices r*cols + c
   * of the selected entries, each row's k indices in ascending column order, rows in order, so the
   * whole output is strictly ascending.
   * Tie rule: entries are ranked by (value descending, column ascending); the k best are kept. So among
   * values equal to the cut value, the lowest columns win, and exactly k are kept per row.
   * BatchTopK is this op over a [1, n*m] view with k = n*k_sample (flat indices are then r*m + c).
   * -0 and +0 are equal values (a tie between them falls to the lower column).
   * Requires 1 <= k <= cols. Values are finite.
   */
  topk(outIdx: Storage, x: Storage, rows: number, cols: number, k: number): void;

  // ---- indexing ----
  /** out[i] = x[idx[i]] for i < idx.length (f32 values, i32 indices). */
  gather(out: Storage, x: Storage, idx: Storage): void;
  /** out[idx[i]] += src[i] for i < idx.length, accumulated onto out's current contents. Deterministic. */
  scatterAdd(out: Storage, src: Storage, idx: Storage): void;

  // ---- sparse products over a selection (idx strictly ascending flat indices r*m + c, as topk makes) ----
  /** out[i] = dot(a[r_i, :], w[c_i, :]) with a [B,d], w [M,d], r_i = idx[i] div m, c_i = idx[i] mod m. */
  sddmm(out: Storage, a: Storage, w: Storage, idx: Storage, m: number, d: number): void;
  /** out[b, :] = sum over entries i in row b of vals[i] * w[c_i, :]; out [B,d] is overwritten (rows with no entry: 0). */
  spmm(out: Storage, vals: Storage, idx: Storage, m: number, w: Storage, batch: number, d: number): void;
  /** out[c, :] = sum over entries i with c_i = c of vals[i] * g[r_i, :]; out [M,d] is overwritten. Deterministic. */
  spmmT(out: Storage, vals: Storage, idx: Storage, m: number, g: Storage, d: number): void;

  // ---- optimiser ----
  /**
   * One Adam step in place over n = p.length parameters:
   * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr * (m / bc1) / (sqrt(v / bc2) + eps).
   */
  adam(p: Storage, m: Storage, v: Storage, g: Storage, h: AdamParams): void;

  /** Wait for all enqueued work (no-op on the CPU). */
  sync(): Promise<void>;
  /**
   * Optional (WebGPU): a copy of `src` as it is at this point of the recorded work, delivered without a host
   * wait: the copy is recorded now (so `src` may be overwritten right after) and mapped once the batch it is
   * in has been submitted, by whatever submits next (a write, read, sync, or the batch limit). For metrics
   * consumed a step later. Backends without it: use read().
   */
  readLater?(src: Storage): Promise<HostArray>;
  /** Optional (device backends): activity totals, see BackendCounters. */
  counters?(): BackendCounters;
  /** Optional (backends that record work for a device): hooks for the profiler, see DeviceProfiling. */
  profiling?(): DeviceProfiling;
  /** Release the device (WebGPU: device.destroy(), without which Node never exits). */
  dispose(): void;
}
