// f32 matmul with a WebAssembly SIMD micro-kernel: the fast path for the dense encoder product on the CPU.
// The plain-TS matmul (matmul.ts, f64 accumulators) stays the reference; this one accumulates in f32
// (4 lanes), so each output element is a sequential f32 sum over p = 0..k-1 of products: with relaxed SIMD's
// f32x4.relaxed_madd where the runtime has it (a fused multiply-add on x86 with FMA and on ARM: measured 25%
// faster than mul then add in the micro-kernel), else mul then add. Either way its error is within the bound
// the specs use for the WebGPU kernels: |out - exact| <= (k + 1) * 2^-24 * sum|a||b|
// (spec/backend/contract_linalg.spec.ts). The summation order does not depend on the tiling or on threads, so
// results are deterministic on a machine.
//
// Layout as matmul.ts (BLIS-style): opB packed once into panels of NR = 8 columns [ceil(n/8)][k][8], opA per
// block of MC rows into panels of MR rows [ceil(MC/MR)][k][MR], both in the module's memory (zero-padded,
// so edge tiles use the same kernel). The MR x 8 micro-kernel keeps MR x 2 f32x4 accumulators in registers
// for the whole k loop and stores its tile into a C block in memory, copied out row by row.
import v8 from 'node:v8';
import { op, T, wasmModule, type WasmFunc } from './wasm.js';

/** Rows per micro-tile: 4 x 8 keeps 8 accumulators + 3 operands within x86's 16 SIMD registers (6 x 8 measured no faster). */
export const MR = 4;
export const NR = 8;
/** Rows of opA per block: the A block (MC x k) and a B panel (k x 8) stay in L2 for k up to a few thousand. */
const MC = 64;
const PAGE = 65536;

/** tile(pa, pb, pc, k, ldc): C[MR x 8] at pc (row stride ldc bytes) = A panel (k x MR) . B panel (k x 8). */
function tileFunc(fma: boolean): WasmFunc {
  const [pa, pb, pc, k, ldc] = [0, 1, 2, 3, 4];
  const c = (i: number) => 5 + i; // MR*2 accumulators
  const b0 = 5 + 2 * MR,
    b1 = b0 + 1,
    a = b0 + 2,
    end = b0 + 3;
  const body: number[] = [];
  for (let i = 0; i < 2 * MR; i++) body.push(...op.v128Zero, ...op.set(c(i)));
  body.push(...op.get(pa), ...op.get(k), ...op.i32(MR * 4), ...op.i32Mul, ...op.i32Add, ...op.set(end));
  body.push(...op.loop);
  body.push(...op.get(pb), ...op.v128Load(0), ...op.set(b0));
  body.push(...op.get(pb), ...op.v128Load(16), ...op.set(b1));
  for (let r = 0; r < MR; r++) {
    body.push(...op.get(pa), ...op.load32Splat(r * 4), ...op.set(a));
    for (const [j, b] of [
      [0, b0],
      [1, b1],
    ] as const) {
      if (fma) body.push(...op.get(a), ...op.get(b), ...op.get(c(2 * r + j)), ...op.f32x4RelaxedMadd, ...op.set(c(2 * r + j)));
      else body.push(...op.get(c(2 * r + j)), ...op.get(a), ...op.get(b), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(c(2 * r + j)));
    }
  }
  body.push(...op.get(pa), ...op.i32(MR * 4), ...op.i32Add, ...op.set(pa));
  body.push(...op.get(pb), ...op.i32(NR * 4), ...op.i32Add, ...op.set(pb));
  body.push(...op.get(pa), ...op.get(end), ...op.i32Ne, ...op.brIf(0), ...op.end);
  for (let r = 0; r < MR; r++) {
    const addr = r === 0 ? op.get(pc) : [...op.get(pc), ...op.get(ldc), ...op.i32(r), ...op.i32Mul, ...op.i32Add];
    body.push(...addr, ...op.get(c(2 * r)), ...op.v128Store(0));
    body.push(...addr, ...op.get(c(2 * r + 1)), ...op.v128Store(16));
  }
  const locals = [...new Array<number>(2 * MR + 3).fill(T.v128), T.i32];
  return { name: 'tile', params: [T.i32, T.i32, T.i32, T.i32, T.i32], locals, body };
}

/** Maximum pages of the module's memory (4 GiB is wasm32's limit; 2 GiB keeps offsets in i32 range). */
const MAX_PAGES = 32768;

let compiled: WebAssembly.Module | null = null;
/** Whether the compiled kernel uses relaxed SIMD's multiply-add (for reports). */
export let gemmUsesFma = false;

const build = (fma: boolean) => new WebAssembly.Module(wasmModule([tileFunc(fma)], { min: 1, max: MAX_PAGES, shared: true }));

/**
 * The compiled kernel module (shared by every instance and worker): the multiply-add kernel where the runtime
 * validates relaxed SIMD (on by default from V8 11.4, Node 22; Node 20 has it behind a V8 flag, which is set
 * here: it only enables that wasm proposal), else the mul + add kernel.
 */
export function gemmModule(): WebAssembly.Module {
  if (compiled) return compiled;
  for (const attempt of [() => build(true), () => (v8.setFlagsFromString('--experimental-wasm-relaxed-simd'), build(true))]) {
    try {
      compiled = attempt();
      gemmUsesFma = true;
      return compiled;
    } catch {
      // not available: try the next way, then the plain kernel
    }
  }
  compiled = build(false);
  return compiled;
}

/** True when this runtime can compile the SIMD module (Node >= 16.4). */
export function wasmSimdAvailable(): boolean {
  try {
    gemmModule();
    return true;
  } catch {
    return false;
  }
}

/** One instance with its memory: [A block | B panels | C block], grown on demand. */
export class WasmGemm {
  readonly memory: WebAssembly.Memory;
  private readonly tile: (pa: number, pb: number, pc: number, k: number, ldc: number) => void;

  constructor(memory?: WebAssembly.Memory) {
    this.memory = memory ?? new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const inst = new WebAssembly.Instance(gemmModule(), { env: { mem: this.memory } });
    this.tile = inst.exports['tile'] as (pa: number, pb: number, pc: number, k: number, ldc: number) => void;
  }

  /** Grow the memory to at least `bytes`. */
  ensure(bytes: number): void {
    if (bytes > GEMM_MAX_BYTES) throw new Error(`wasm matmul: needs ${bytes} bytes of memory, above its ${GEMM_MAX_BYTES} limit`);
    if (!this.tryEnsure(bytes)) throw new Error(`wasm matmul: the system refused ${bytes} bytes of memory`);
  }

  /** Grow the memory to at least `bytes` (at most GEMM_MAX_BYTES); false when the system refuses the memory. */
  tryEnsure(bytes: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return true;
    const pages = Math.ceil((bytes - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) return false;
    try {
      this.memory.grow(pages);
    } catch {
      return false;
    }
    return true;
  }

  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /** Run the micro-kernel over rows [i0, i0+mc) and B panels [jb0, jb1) (layout: gemmLayout). */
  block(lay: GemmLayout, mc: number, jb0: number, jb1: number): void {
    const { k, aOff, bOff, cOff, ldc } = lay;
    const mb = Math.ceil(mc / MR);
    for (let jb = jb0; jb < jb1; jb++) {
      const pb = bOff + jb * k * NR * 4;
      for (let ib = 0; ib < mb; ib++) this.tile(aOff + ib * k * MR * 4, pb, cOff + ib * MR * ldc + jb * NR * 4, k, ldc);
    }
  }
}

/** Byte offsets of one thread's A block and C block and the shared B panels, for k and padded n. */
export interface GemmLayout {
  k: number;
  nb: number;
  /** Row stride of the C block in bytes (nb * 8 floats). */
  ldc: number;
  bOff: number;
  aOff: number;
  cOff: number;
  /** End of this layout's memory. */
  bytes: number;
}

/** B panels first, then per thread an A block (MC x k) and a C block (MC x nb*8). */
export function gemmLayout(k: number, n: number, threads: number, thread: number): GemmLayout {
  const nb = Math.ceil(n / NR);
  const bBytes = nb * NR * k * 4;
  const aBytes = Math.ceil(MC / MR) * MR * k * 4;
  const cBytes = MC * nb * NR * 4;
  const per = aBytes + cBytes;
  const aOff = bBytes + thread * per;
  return { k, nb, ldc: nb * NR * 4, bOff: 0, aOff, cOff: aOff + aBytes, bytes: bBytes + threads * per };
}

/**
 * Packs columns [c0, c0 + nc) of opB (k x n) into 8-column panels at f32 offset q0:
 * bp[q0 + (jb*k + p)*8 + t] = opB(p, c0 + 8jb + t), 0 beyond the block.
 */
export function packB8(bp: Float32Array, q0: number, b: Float32Array, k: number, n: number, transB: boolean, c0 = 0, nc = n - c0): void {
  const nb = Math.ceil(nc / NR);
  for (let jb = 0; jb < nb; jb++) {
    const j0 = c0 + jb * NR;
    const w = Math.min(NR, c0 + nc - j0);
    let q = q0 + jb * k * NR;
    if (!transB && w === NR) {
      for (let p = 0; p < k; p++, q += NR) bp.set(b.subarray(p * n + j0, p * n + j0 + NR), q);
      continue;
    }
    for (let p = 0; p < k; p++, q += NR) {
      for (let t = 0; t < NR; t++) bp[q + t] = t < w ? (transB ? b[(j0 + t) * k + p]! : b[p * n + j0 + t]!) : 0;
    }
  }
}

/** Packs rows [i0, i0+mc) of opA into MR-row panels at f32 offset q0, 0 beyond m. */
export function packA4(ap: Float32Array, q0: number, a: Float32Array, i0: number, mc: number, m: number, k: number, transA: boolean): void {
  const mb = Math.ceil(mc / MR);
  for (let ib = 0; ib < mb; ib++) {
    const r0 = i0 + ib * MR;
    const h = Math.min(MR, i0 + mc - r0);
    let q = q0 + ib * k * MR;
    if (!transA && h === MR) {
      // Row by row: sequential reads of opA, strided writes into the panel.
      for (let t = 0; t < MR; t++) {
        const src = (r0 + t) * k;
        for (let p = 0; p < k; p++) ap[q + p * MR + t] = a[src + p]!;
      }
      continue;
    }
    for (let p = 0; p < k; p++, q += MR) {
      for (let t = 0; t < MR; t++) ap[q + t] = t < h ? (transA ? a[p * m + r0 + t]! : a[(r0 + t) * k + p]!) : 0;
    }
  }
}

/** Copy rows [0, mc) of the C block (row stride ldc bytes) to o rows [i0, i0+mc), n columns. */
export function unpackC(o: Float32Array, mem: Float32Array, lay: GemmLayout, i0: number, mc: number, n: number): void {
  const c0 = lay.cOff / 4,
    ld = lay.ldc / 4;
  for (let r = 0; r < mc; r++) o.set(mem.subarray(c0 + r * ld, c0 + r * ld + n), (i0 + r) * n);
}

export const GEMM_MC = MC;
/** The kernel memory's limit in bytes (offsets stay in i32 range). */
export const GEMM_MAX_BYTES = MAX_PAGES * PAGE;

/** Single-threaded out = opA(a) . opB(b) through the SIMD kernel. */
export function wasmMatmul(g: WasmGemm, o: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    o.fill(0);
    return;
  }
  const lay = gemmLayout(k, n, 1, 0);
  g.ensure(lay.bytes);
  const mem = g.f32();
  packB8(mem, lay.bOff / 4, b, k, n, transB);
  for (let i0 = 0; i0 < m; i0 += MC) {
    const mc = Math.min(MC, m - i0);
    packA4(mem, lay.aOff / 4, a, i0, mc, m, k, transA);
    g.block(lay, mc, 0, lay.nb);
    unpackC(o, mem, lay, i0, mc, n);
  }
}
