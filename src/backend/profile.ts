// A profiling wrapper around any Backend (`train --profile`): per-primitive totals (calls, wall time),
// keyed by primitive and shape, and on WebGPU per-kernel totals as well.
//
// CPU: every primitive is synchronous, so its wall time is its cost.
// WebGPU: primitives only record work, so their wall time says nothing. The wrapper defers every call: a
// primitive runs with the recorder capturing its commands (Recorder.capture), and at the next read() or
// sync() the captured commands run one at a time, each submitted alone and awaited
// (queue.onSubmittedWorkDone) before the next. Each kernel's time is then the synced wall time of its
// submission. This serialises the device, so a profiled run is slower than a plain one: read the table for
// the shares, not the totals. The fixed cost of one empty submit + wait is measured and reported (`syncMs`).
// Where the adapter has timestamp-query (DeviceProfiling.timeOnDevice), each dispatch is timed on the device
// instead (clears and copies keep the synced wall time); `timing` says which was used. Lavapipe (Vulkan) has
// timestamp-query; llvmpipe through OpenGL ES has none.
// Per step (markStep, called once a step): the device's activity counters (Backend.counters: dispatches,
// submits, readbacks = host waits, readback and upload bytes) as differences, in `perStep`. markStep first
// runs the captured work, so each step's commands are counted in that step.
// The backend is reached through its typed optional members (profiling(), counters()), never by casts.
// Errors that a primitive would throw while recording are thrown when it is called (argument checks run
// then); device errors of a captured command surface at the read() or sync() that runs it.
import type {
  AdamParams,
  Backend,
  BackendCounters,
  BinaryOp,
  Broadcast,
  CapturedCommand,
  DeviceProfiling,
  DType,
  HostArray,
  MatmulEpilogue,
  ReduceOp,
  Storage,
  UnaryOp,
} from './backend.js';

export interface ProfileRow {
  /** Primitive and shape, e.g. `matmul [4096x768].[768x3072]^T`. */
  op: string;
  calls: number;
  ms: number;
}

export interface KernelRow {
  /** The primitive (as ProfileRow.op) and the WGSL kernel it dispatched. */
  op: string;
  kernel: string;
  dispatches: number;
  ms: number;
}

/** One step's device activity (differences of Backend.counters between two markStep calls). */
export interface StepCounters {
  step: number;
  dispatches: number;
  submits: number;
  /** Host waits (read, sync). */
  readbacks: number;
  readbackBytes: number;
  uploadBytes: number;
}

export const STEP_COUNTERS = ['dispatches', 'submits', 'readbacks', 'readbackBytes', 'uploadBytes'] as const;

export interface ProfileReport {
  backend: string;
  /** How the times were taken: CPU wall time, synced wall time per kernel, or device timestamps per kernel. */
  timing: 'cpu-wall' | 'synced-wall' | 'timestamp-query';
  /** Wall time of the profiled span and the part of it spent inside primitives. */
  wallMs: number;
  opsMs: number;
  /** WebGPU: mean wall time of one empty submit + wait (included in every kernel's time). */
  syncMs: number | null;
  ops: ProfileRow[];
  kernels: KernelRow[];
  /** Per step, where the backend has counters and markStep was called (else empty). */
  perStep: StepCounters[];
}

interface Pending {
  op: string;
  /** Captured device commands, or a host action (write, free) to run in order. */
  cmds: CapturedCommand[] | null;
  host: (() => void) | null;
}

const dims = (a: number, b: number) => `${a}x${b}`;

export class ProfileBackend implements Backend {
  readonly name: 'cpu' | 'webgpu';
  private readonly rec: DeviceProfiling | null;
  private perStep: StepCounters[] = [];
  /** The wrapped backend's counters, where it has them. */
  readonly counters?: () => BackendCounters;
  private lastCounts: BackendCounters | null = null;
  private readonly ops = new Map<string, ProfileRow>();
  private readonly kernels = new Map<string, KernelRow>();
  private readonly pending: Pending[] = [];
  private t0 = performance.now();
  private syncMs: number | null = null;
  /** Drains and reads run one after another in call order (callers may start several reads at once). */
  private chain: Promise<unknown> = Promise.resolve();
  /** Off: calls pass straight through (the parts of a run not being profiled). */
  enabled = false;

  /** The wrapped backend's variant (e.g. 'cpu-fast'), so labels see through the wrapper. */
  readonly variant: string;

  constructor(readonly inner: Backend) {
    this.name = inner.name;
    this.variant = inner.variant ?? inner.name;
    this.rec = inner.profiling?.() ?? null;
    if (inner.counters) this.counters = () => inner.counters!();
  }

  /** Start (or restart) counting from now. */
  async start(): Promise<void> {
    await this.drain();
    await this.inner.sync();
    this.ops.clear();
    this.kernels.clear();
    this.perStep = [];
    this.lastCounts = this.inner.counters?.() ?? null;
    if (this.rec && this.syncMs === null) {
      const n = 20;
      const t = performance.now();
      for (let i = 0; i < n; i++) await this.rec.idle();
      this.syncMs = (performance.now() - t) / n;
    }
    this.enabled = true;
    this.t0 = performance.now();
  }

  /** Stop counting and return the totals, largest first. */
  async stop(): Promise<ProfileReport> {
    await this.drain();
    await this.inner.sync();
    const wallMs = performance.now() - this.t0;
    this.enabled = false;
    const ops = [...this.ops.values()].sort((a, b) => b.ms - a.ms);
    return {
      backend: this.variant,
      timing: !this.rec ? 'cpu-wall' : this.rec.timeOnDevice ? 'timestamp-query' : 'synced-wall',
      wallMs,
      opsMs: ops.reduce((s, r) => s + r.ms, 0),
      syncMs: this.syncMs,
      ops,
      kernels: [...this.kernels.values()].sort((a, b) => b.ms - a.ms),
      perStep: this.perStep,
    };
  }

  /**
   * The end of training step `step`: runs the captured work, then records the step's activity counters
   * (nothing on a backend without counters). Call it once per step, after the step's primitives.
   */
  async markStep(step: number): Promise<void> {
    if (!this.enabled) return;
    await this.drain();
    const now = this.inner.counters?.();
    const before = this.lastCounts;
    if (!now || !before) return;
    const row: StepCounters = { step, dispatches: 0, submits: 0, readbacks: 0, readbackBytes: 0, uploadBytes: 0 };
    for (const k of STEP_COUNTERS) row[k] = now[k] - before[k];
    this.perStep.push(row);
    this.lastCounts = now;
  }

  private row(op: string): ProfileRow {
    let r = this.ops.get(op);
    if (!r) this.ops.set(op, (r = { op, calls: 0, ms: 0 }));
    return r;
  }

  /** Run one primitive: timed now on the CPU, captured for a later synced run on WebGPU. */
  private call(op: string, fn: () => void): void {
    if (!this.enabled) return fn();
    if (!this.rec) {
      const t = performance.now();
      fn();
      const r = this.row(op);
      r.calls++;
      r.ms += performance.now() - t;
      return;
    }
    const cmds: CapturedCommand[] = [];
    this.rec.capture(cmds);
    try {
      fn();
    } finally {
      this.rec.capture(null);
    }
    this.pending.push({ op, cmds, host: null });
  }

  /** A host-side action (write, free) that must stay in order with the captured commands. */
  private later(fn: () => void): void {
    if (this.enabled && this.rec) this.pending.push({ op: '', cmds: null, host: fn });
    else fn();
  }

  /** `fn` after everything queued so far, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private drain(): Promise<void> {
    return this.serial(() => this.drainNow());
  }

  /** Run the captured commands one submission at a time, timing each. */
  private async drainNow(): Promise<void> {
    const rec = this.rec;
    if (!rec) return;
    while (this.pending.length > 0) {
      const p = this.pending.shift()!;
      if (p.host) {
        p.host();
        continue;
      }
      const r = this.row(p.op);
      r.calls++;
      for (const c of p.cmds!) {
        if (c.kernel === '') {
          c.run();
          continue;
        }
        let ms: number;
        if (rec.timeOnDevice && c.kernel !== 'clearBuffer' && c.kernel !== 'copyBuffer') {
          ms = await rec.timeOnDevice(c.run);
        } else {
          const t = performance.now();
          c.run();
          rec.submitForTiming();
          await rec.idle();
          ms = performance.now() - t;
        }
        r.ms += ms;
        const key = `${p.op}\u0000${c.kernel}`;
        let k = this.kernels.get(key);
        if (!k) this.kernels.set(key, (k = { op: p.op, kernel: c.kernel, dispatches: 0, ms: 0 }));
        k.dispatches++;
        k.ms += ms;
      }
      rec.check();
    }
  }

  readLater(src: Storage): Promise<HostArray> {
    const inner = this.inner;
    if (!inner.readLater) return this.read(src);
    if (!(this.enabled && this.rec)) return inner.readLater(src);
    // In order with the captured commands: the copy is recorded when the work before it is replayed.
    return new Promise((resolve, reject) => this.later(() => inner.readLater!(src).then(resolve, reject)));
  }



  // ---- memory ----
  alloc(length: number, dtype: DType, contents?: 'zero' | 'unset'): Storage {
    // Timed on the CPU backends, where allocation zeroes host memory (large buffers cost real time); on a
    // device the zeroing of a reused buffer is a recorded clear, captured so it stays in order with the rest.
    if (!this.enabled) return this.inner.alloc(length, dtype, contents);
    let st: Storage | null = null;
    const what = contents === 'unset' ? 'alloc unset' : 'alloc';
    this.call(length >= 1 << 20 ? `${what} [${length}]` : `${what} (under 1M elements)`, () => (st = this.inner.alloc(length, dtype, contents)));
    return st!;
  }
  write(dst: Storage, data: HostArray): void {
    if (!(this.enabled && this.rec)) return this.inner.write(dst, data);
    const copy = data.slice();
    this.later(() => this.inner.write(dst, copy));
  }
  read(src: Storage): Promise<HostArray> {
    return this.serial(async () => {
      await this.drainNow();
      if (!this.enabled) return this.inner.read(src);
      const t = performance.now();
      const out = await this.inner.read(src);
      const r = this.row(`read [${src.length}]`);
      r.calls++;
      r.ms += performance.now() - t;
      return out;
    });
  }
  free(s: Storage): void {
    this.later(() => this.inner.free(s));
  }
  fill(out: Storage, value: number): void {
    this.call(`fill [${out.length}]`, () => this.inner.fill(out, value));
  }
  copy(out: Storage, src: Storage): void {
    this.call(`copy [${out.length}]`, () => this.inner.copy(out, src));
  }

  // ---- elementwise ----
  unary(op: UnaryOp, out: Storage, x: Storage): void {
    this.call(`unary ${op} [${out.length}]`, () => this.inner.unary(op, out, x));
  }
  binary(op: BinaryOp, out: Storage, a: Storage, aMode: Broadcast, b: Storage, bMode: Broadcast, rows: number, cols: number): void {
    this.call(`binary ${op} ${aMode}/${bMode} [${dims(rows, cols)}]`, () => this.inner.binary(op, out, a, aMode, b, bMode, rows, cols));
  }

  // ---- reductions ----
  reduce(op: ReduceOp, out: Storage, x: Storage, rows: number, cols: number, axis: 0 | 1): void {
    this.call(`reduce ${op} axis ${axis} [${dims(rows, cols)}]`, () => this.inner.reduce(op, out, x, rows, cols, axis));
  }

  // ---- linear algebra ----
  matmul(out: Storage, a: Storage, b: Storage, m: number, k: number, n: number, transA: boolean, transB: boolean, epi?: MatmulEpilogue): void {
    const tail = epi ? ` +${[epi.bias ? 'bias' : '', epi.relu ? 'relu' : ''].filter(Boolean).join('+')}` : '';
    const name = `matmul [${dims(m, k)}]${transA ? '^T' : ''}.[${dims(k, n)}]${transB ? '^T' : ''}${tail}`;
    this.call(name, () => this.inner.matmul(out, a, b, m, k, n, transA, transB, epi));
  }

  // ---- selection ----
  topk(outIdx: Storage, x: Storage, rows: number, cols: number, k: number): void {
    this.call(`topk [${dims(rows, cols)}] k=${k}`, () => this.inner.topk(outIdx, x, rows, cols, k));
  }

  // ---- indexing ----
  gather(out: Storage, x: Storage, idx: Storage): void {
    this.call(`gather ${idx.length} of [${x.length}]`, () => this.inner.gather(out, x, idx));
  }
  scatterAdd(out: Storage, src: Storage, idx: Storage): void {
    this.call(`scatterAdd ${idx.length} into [${out.length}]`, () => this.inner.scatterAdd(out, src, idx));
  }

  // ---- sparse ----
  // ---- language-model primitives (ModelOps) ----
  norm(...a: Parameters<Backend['norm']>): void {
    this.call(`norm(${a[0]}) ${dims(a[5], a[6])}`, () => this.inner.norm(...a));
  }
  act(...a: Parameters<Backend['act']>): void {
    this.call(`act(${a[0]}) n=${a[1].length}`, () => this.inner.act(...a));
  }
  rope(...a: Parameters<Backend['rope']>): void {
    this.call(`rope(${a[0]}) rows=${a[6]} heads=${a[7]}x${a[8]}`, () => this.inner.rope(...a));
  }
  attention(...a: Parameters<Backend['attention']>): void {
    this.call(`attention seqs=${a[4]} len=${a[5]} heads=${a[6]}/${a[7]}x${a[8]}`, () => this.inner.attention(...a));
  }
  logSoftmax(...a: Parameters<Backend['logSoftmax']>): void {
    this.call(`logSoftmax ${dims(a[2], a[3])}`, () => this.inner.logSoftmax(...a));
  }
  sddmm(out: Storage, a: Storage, w: Storage, idx: Storage, m: number, d: number): void {
    this.call(`sddmm nnz=${idx.length} m=${m} d=${d}`, () => this.inner.sddmm(out, a, w, idx, m, d));
  }
  spmm(out: Storage, vals: Storage, idx: Storage, m: number, w: Storage, batch: number, d: number): void {
    this.call(`spmm nnz=${idx.length} m=${m} d=${d}`, () => this.inner.spmm(out, vals, idx, m, w, batch, d));
  }
  spmmT(out: Storage, vals: Storage, idx: Storage, m: number, g: Storage, d: number): void {
    this.call(`spmmT nnz=${idx.length} m=${m} d=${d}`, () => this.inner.spmmT(out, vals, idx, m, g, d));
  }

  // ---- optimiser ----
  adam(p: Storage, m: Storage, v: Storage, g: Storage, h: AdamParams): void {
    this.call(`adam [${p.length}]`, () => this.inner.adam(p, m, v, g, h));
  }

  sync(): Promise<void> {
    return this.serial(async () => {
      await this.drainNow();
      await this.inner.sync();
    });
  }
  dispose(): void {
    this.inner.dispose();
  }
}

/** The report as a text table (ops, then WebGPU kernels), for the terminal and profile.txt. */
export function formatProfile(p: ProfileReport, steps: number): string {
  const lines: string[] = [];
  const pct = (ms: number) => ((100 * ms) / Math.max(p.opsMs, 1e-9)).toFixed(1).padStart(5);
  const f = (ms: number) => ms.toFixed(1).padStart(10);
  const how = {
    'cpu-wall': 'wall time per primitive',
    'synced-wall': 'synced wall time per kernel (one submit + wait each)',
    'timestamp-query': 'device time per kernel (timestamp-query; clears and copies by synced wall time)',
  }[p.timing];
  lines.push(`profile: ${p.backend}, ${steps} steps, ${how}`);
  lines.push(`wall ${p.wallMs.toFixed(0)} ms, inside primitives ${p.opsMs.toFixed(0)} ms (${((100 * p.opsMs) / Math.max(p.wallMs, 1e-9)).toFixed(1)}%)` +
    (p.syncMs !== null ? `; one empty submit + wait: ${p.syncMs.toFixed(3)} ms` : ''));
  if (p.perStep.length > 0) {
    const mean = (k: (typeof STEP_COUNTERS)[number]) => p.perStep.reduce((s, r) => s + r[k], 0) / p.perStep.length;
    const cells = STEP_COUNTERS.map((k) => `${k} ${Number.isInteger(mean(k)) ? mean(k) : mean(k).toFixed(1)}`);
    lines.push(`per step (mean of ${p.perStep.length}): ${cells.join(', ')}`);
  }
  lines.push('');
  lines.push(`${'total ms'.padStart(10)} ${'ms/step'.padStart(10)}   %   ${'calls'.padStart(6)}  op`);
  for (const r of p.ops) lines.push(`${f(r.ms)} ${f(r.ms / Math.max(steps, 1))} ${pct(r.ms)} ${String(r.calls).padStart(6)}  ${r.op}`);
  if (p.kernels.length > 0) {
    lines.push('');
    lines.push(`${'total ms'.padStart(10)} ${'ms/step'.padStart(10)}   %   ${'disp.'.padStart(6)}  kernel  (op)`);
    for (const k of p.kernels) {
      lines.push(`${f(k.ms)} ${f(k.ms / Math.max(steps, 1))} ${pct(k.ms)} ${String(k.dispatches).padStart(6)}  ${k.kernel}  (${k.op})`);
    }
  }
  return lines.join('\n');
}
