// WebAssembly SIMD kernels of the fast CPU backend over its storage heap (wasm_heap.ts): the sparse products
// sddmm, spmm and spmmT, and Adam, each over a range of the output like par_kernels.ts's range kernels, with
// the reference's exact arithmetic. Products of two f32 are exact in f64, and f64x2 lanes do the reference's
// f64 operations in the reference's order, so the results are the reference's bits:
// - sddmm: eight partial sums s_j over t = j mod 8 (lanes of 4 f64x2 accumulators), combined as
//   ((s0+s4)+(s2+s6)) + ((s1+s5)+(s3+s7)), as par_kernels.ts's sddmmRange;
// - spmm, spmmT: one f64 accumulator per output element, entries added in the reference's order.
// - adam: the reference's f64 formula per element, two elements per f64x2, rounding m and v to f32 where the
//   reference stores them (cpu.ts / par_kernels.ts adamRange); an odd last element is left to JavaScript.
// The sparse kernels need d to be a positive multiple of 8 (the loops step 8 floats); other d run the JavaScript kernels.
// Arguments are byte offsets into the heap (i32; offsets above 2^31 arrive negative, the same address bits).
import { op, T, wasmModule, type WasmFunc } from './wasm.js';

const { get, set, tee, i32 } = op;

/** Locals after the parameters: numbered from `first`, named for readability. */
function locals<N extends string>(first: number, names: readonly N[]): Record<N, number> {
  return Object.fromEntries(names.map((n, i) => [n, first + i])) as Record<N, number>;
}

/** p + i*4: the address of element i of an i32/f32 array at byte offset p. */
const at = (p: number, i: number) => [...get(p), ...get(i), ...i32(4), ...op.i32Mul, ...op.i32Add];

/** acc (f64x2 at q+off) += v (f64x2 local) * promote(2 floats at pw+woff). */
function axpyPair(q: number, qOff: number, v: number, pw: number, wOff: number): number[] {
  return [
    ...get(q),
    ...get(q), ...op.v128Load(qOff), ...get(v), ...get(pw), ...op.v128Load64Zero(wOff), ...op.f64x2PromoteLow, ...op.f64x2Mul, ...op.f64x2Add,
    ...op.v128Store(qOff),
  ];
}

/** acc[0, dB*2) (f64, at pAcc) += v * w[0, dB) (f32 at pw): 8 floats per iteration. Uses locals q, e. */
function axpyRow(pAcc: number, v: number, pw: number, dB: number, q: number, e: number): number[] {
  return [
    ...get(pw), ...get(dB), ...op.i32Add, ...set(e),
    ...get(pAcc), ...set(q),
    ...op.loop,
    ...[0, 1, 2, 3].flatMap((j) => axpyPair(q, 16 * j, v, pw, 8 * j)),
    ...get(q), ...i32(64), ...op.i32Add, ...set(q),
    ...get(pw), ...i32(32), ...op.i32Add, ...tee(pw), ...get(e), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
  ];
}

/** Zero the f64 accumulator row (dB*2 bytes at pAcc). Uses locals q, e. */
function zeroRow(pAcc: number, dB: number, q: number, e: number): number[] {
  return [
    ...get(pAcc), ...tee(q), ...get(dB), ...i32(2), ...op.i32Mul, ...op.i32Add, ...set(e),
    ...op.loop,
    ...get(q), ...op.v128Zero, ...op.v128Store(0),
    ...get(q), ...i32(16), ...op.i32Add, ...tee(q), ...get(e), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
  ];
}

/** out row at po (dB bytes of f32) = the f64 accumulator row rounded. Uses locals q, e; advances po. */
function storeRow(pAcc: number, po: number, dB: number, q: number, e: number): number[] {
  return [
    ...get(po), ...get(dB), ...op.i32Add, ...set(e),
    ...get(pAcc), ...set(q),
    ...op.loop,
    ...get(po), ...get(q), ...op.v128Load(0), ...op.f32x4DemoteF64x2Zero, ...op.v128Store64Lane(0, 0),
    ...get(po), ...get(q), ...op.v128Load(16), ...op.f32x4DemoteF64x2Zero, ...op.v128Store64Lane(8, 0),
    ...get(q), ...i32(32), ...op.i32Add, ...set(q),
    ...get(po), ...i32(16), ...op.i32Add, ...tee(po), ...get(e), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
  ];
}

/** sddmm(pOut, pA, pW, pIdx, m, dB, i0, i1): out[i] = dot(a[r_i], w[c_i]) for i in [i0, i1). */
function sddmmFunc(): WasmFunc {
  const [pOut, pA, pW, pIdx, m, dB, i, i1] = [0, 1, 2, 3, 4, 5, 6, 7];
  const L = locals(8, ['f', 'r', 'pa', 'pw', 'end', 'a0', 'a1', 'a2', 'a3', 's'] as const);
  const acc = [L.a0, L.a1, L.a2, L.a3];
  const body = [
    ...op.block,
    ...get(i), ...get(i1), ...op.i32GeS, ...op.brIf(0),
    ...op.loop,
    ...at(pIdx, i), ...op.i32Load(), ...set(L.f),
    ...get(L.f), ...get(m), ...op.i32DivU, ...set(L.r),
    ...get(pA), ...get(L.r), ...get(dB), ...op.i32Mul, ...op.i32Add, ...tee(L.pa), ...get(dB), ...op.i32Add, ...set(L.end),
    ...get(pW), ...get(L.f), ...get(L.r), ...get(m), ...op.i32Mul, ...op.i32Sub, ...get(dB), ...op.i32Mul, ...op.i32Add, ...set(L.pw),
    ...acc.flatMap((a) => [...op.v128Zero, ...set(a)]),
    ...op.loop,
    ...acc.flatMap((a, j) => [
      ...get(a),
      ...get(L.pa), ...op.v128Load64Zero(8 * j), ...op.f64x2PromoteLow,
      ...get(L.pw), ...op.v128Load64Zero(8 * j), ...op.f64x2PromoteLow,
      ...op.f64x2Mul, ...op.f64x2Add, ...set(a),
    ]),
    ...get(L.pw), ...i32(32), ...op.i32Add, ...set(L.pw),
    ...get(L.pa), ...i32(32), ...op.i32Add, ...tee(L.pa), ...get(L.end), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
    // [(s0+s4)+(s2+s6), (s1+s5)+(s3+s7)], then lane 0 + lane 1, rounded once.
    ...at(pOut, i),
    ...get(L.a0), ...get(L.a2), ...op.f64x2Add, ...get(L.a1), ...get(L.a3), ...op.f64x2Add, ...op.f64x2Add, ...tee(L.s),
    ...op.f64x2ExtractLane(0), ...get(L.s), ...op.f64x2ExtractLane(1), ...op.f64Add, ...op.f32DemoteF64,
    ...op.f32Store(),
    ...get(i), ...i32(1), ...op.i32Add, ...tee(i), ...get(i1), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
    ...op.end,
  ];
  return { name: 'sddmm', params: new Array<number>(8).fill(T.i32), locals: [...new Array<number>(5).fill(T.i32), ...new Array<number>(5).fill(T.v128)], body };
}

/**
 * spmm(pOut, pVals, pIdx, m, pW, dB, b0, b1, i, nnz, pAcc): out rows [b0, b1) = sum over each row's entries
 * (which start at entry i) of vals[i] * w[c_i]; pAcc is 2*dB bytes of scratch (one f64 row).
 */
function spmmFunc(): WasmFunc {
  const [pOut, pVals, pIdx, m, pW, dB, b, b1, i, nnz, pAcc] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const L = locals(11, ['rowEnd', 'f', 'pw', 'q', 'e', 'po', 'v'] as const);
  const body = [
    ...op.block,
    ...get(b), ...get(b1), ...op.i32GeS, ...op.brIf(0),
    ...op.loop,
    ...zeroRow(pAcc, dB, L.q, L.e),
    ...get(b), ...i32(1), ...op.i32Add, ...get(m), ...op.i32Mul, ...set(L.rowEnd),
    ...op.block,
    ...op.loop,
    ...get(i), ...get(nnz), ...op.i32GeS, ...op.brIf(1),
    ...at(pIdx, i), ...op.i32Load(), ...tee(L.f), ...get(L.rowEnd), ...op.i32GeS, ...op.brIf(1),
    ...at(pVals, i), ...op.f32Load(), ...op.f64PromoteF32, ...op.f64x2Splat, ...set(L.v),
    ...get(pW), ...get(L.f), ...get(b), ...get(m), ...op.i32Mul, ...op.i32Sub, ...get(dB), ...op.i32Mul, ...op.i32Add, ...set(L.pw),
    ...axpyRow(pAcc, L.v, L.pw, dB, L.q, L.e),
    ...get(i), ...i32(1), ...op.i32Add, ...set(i),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...get(pOut), ...get(b), ...get(dB), ...op.i32Mul, ...op.i32Add, ...set(L.po),
    ...storeRow(pAcc, L.po, dB, L.q, L.e),
    ...get(b), ...i32(1), ...op.i32Add, ...tee(b), ...get(b1), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
    ...op.end,
  ];
  return { name: 'spmm', params: new Array<number>(11).fill(T.i32), locals: [...new Array<number>(6).fill(T.i32), T.v128], body };
}

/**
 * spmmT(pOut, pVals, pIdx, m, pG, dB, pStart, pOrder, g0, g1, pAcc, G): out rows of the column groups [g0, g1)
 * (group j: columns [jG, jG+G)) = sum over the entries of each column of vals[i] * g[r_i]. The entries of a group
 * come in ascending entry order (order[start[j] .. start[j+1])), which is each column's ascending order, so each
 * output element adds in the reference's order; a group's G accumulator rows (G*2*dB bytes at pAcc) share each
 * g row read, which matters when many entries share rows (AuxK: most rows pick the same dead columns).
 */
function spmmTFunc(): WasmFunc {
  const [pOut, pVals, pIdx, m, pG, dB, pStart, pOrder, grp, g1, pAcc, G] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const L = locals(12, ['e0', 'eEnd', 'ix', 'pw', 'q', 'e', 'po', 'c0', 'tot', 'pa', 'f', 'r', 'v'] as const);
  const body = [
    ...op.block,
    ...get(grp), ...get(g1), ...op.i32GeS, ...op.brIf(0),
    ...op.loop,
    ...get(grp), ...get(G), ...op.i32Mul, ...set(L.c0),
    // tot = min(G, m - c0) * dB: the group's output bytes
    ...get(G), ...get(m), ...get(L.c0), ...op.i32Sub, ...get(m), ...get(L.c0), ...op.i32Sub, ...get(G), ...op.i32GtS, ...op.select,
    ...get(dB), ...op.i32Mul, ...set(L.tot),
    ...zeroRow(pAcc, L.tot, L.q, L.e),
    ...at(pStart, grp), ...op.i32Load(0), ...set(L.e0),
    ...at(pStart, grp), ...op.i32Load(4), ...set(L.eEnd),
    ...op.block,
    ...op.loop,
    ...get(L.e0), ...get(L.eEnd), ...op.i32GeS, ...op.brIf(1),
    ...at(pOrder, L.e0), ...op.i32Load(), ...set(L.ix),
    ...at(pVals, L.ix), ...op.f32Load(), ...op.f64PromoteF32, ...op.f64x2Splat, ...set(L.v),
    ...at(pIdx, L.ix), ...op.i32Load(), ...tee(L.f), ...get(m), ...op.i32DivU, ...set(L.r),
    ...get(pG), ...get(L.r), ...get(dB), ...op.i32Mul, ...op.i32Add, ...set(L.pw),
    // this column's accumulator row: pAcc + (c - c0) * 2 * dB
    ...get(pAcc), ...get(L.f), ...get(L.r), ...get(m), ...op.i32Mul, ...op.i32Sub, ...get(L.c0), ...op.i32Sub,
    ...get(dB), ...op.i32Mul, ...i32(2), ...op.i32Mul, ...op.i32Add, ...set(L.pa),
    ...axpyRow(L.pa, L.v, L.pw, dB, L.q, L.e),
    ...get(L.e0), ...i32(1), ...op.i32Add, ...set(L.e0),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...get(pOut), ...get(L.c0), ...get(dB), ...op.i32Mul, ...op.i32Add, ...set(L.po),
    ...storeRow(pAcc, L.po, L.tot, L.q, L.e),
    ...get(grp), ...i32(1), ...op.i32Add, ...tee(grp), ...get(g1), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
    ...op.end,
  ];
  return { name: 'spmmT', params: new Array<number>(12).fill(T.i32), locals: [...new Array<number>(12).fill(T.i32), T.v128], body };
}

/**
 * adam(pP, pM, pV, pG, i0, i1, lr, b1, c1, b2, c2, eps, bc1, bc2) over elements [i0, i1), i1 - i0 even:
 * m = f32(b1*m + c1*g), v = f32(b2*v + (c2*g)*g), p = f32(p - (lr*(m/bc1)) / (sqrt(v/bc2) + eps)), where
 * c1 = 1 - b1 and c2 = 1 - b2 as the reference computes them.
 */
function adamFunc(): WasmFunc {
  const [pP, pM, pV, pG, i, i1] = [0, 1, 2, 3, 4, 5];
  const f64 = { lr: 6, b1: 7, c1: 8, b2: 9, c2: 10, eps: 11, bc1: 12, bc2: 13 };
  const L = locals(14, ['off', 'end', 'g', 'mi', 'vi', 'LR', 'B1', 'C1', 'B2', 'C2', 'EPS', 'BC1', 'BC2'] as const);
  const load = (p: number) => [...get(p), ...get(L.off), ...op.i32Add, ...op.v128Load64Zero(0), ...op.f64x2PromoteLow];
  const store = (p: number, v: number[]) => [...get(p), ...get(L.off), ...op.i32Add, ...v, ...op.f32x4DemoteF64x2Zero, ...op.v128Store64Lane(0, 0)];
  // The f32-rounded value, back in f64 lanes.
  const round = (v: number[]) => [...v, ...op.f32x4DemoteF64x2Zero, ...op.f64x2PromoteLow];
  const body = [
    ...[['LR', 'lr'], ['B1', 'b1'], ['C1', 'c1'], ['B2', 'b2'], ['C2', 'c2'], ['EPS', 'eps'], ['BC1', 'bc1'], ['BC2', 'bc2']].flatMap(([v, p]) => [
      ...get(f64[p as keyof typeof f64]), ...op.f64x2Splat, ...set(L[v as 'LR']),
    ]),
    ...op.block,
    ...get(i), ...get(i1), ...op.i32GeS, ...op.brIf(0),
    ...get(i), ...i32(4), ...op.i32Mul, ...set(L.off),
    ...get(i1), ...i32(4), ...op.i32Mul, ...set(L.end),
    ...op.loop,
    ...load(pG), ...set(L.g),
    ...round([...get(L.B1), ...load(pM), ...op.f64x2Mul, ...get(L.C1), ...get(L.g), ...op.f64x2Mul, ...op.f64x2Add]), ...set(L.mi),
    ...round([...get(L.B2), ...load(pV), ...op.f64x2Mul, ...get(L.C2), ...get(L.g), ...op.f64x2Mul, ...get(L.g), ...op.f64x2Mul, ...op.f64x2Add]), ...set(L.vi),
    ...store(pM, get(L.mi)),
    ...store(pV, get(L.vi)),
    ...store(pP, [
      ...load(pP),
      ...get(L.LR), ...get(L.mi), ...get(L.BC1), ...op.f64x2Div, ...op.f64x2Mul,
      ...get(L.vi), ...get(L.BC2), ...op.f64x2Div, ...op.f64x2Sqrt, ...get(L.EPS), ...op.f64x2Add,
      ...op.f64x2Div, ...op.f64x2Sub,
    ]),
    ...get(L.off), ...i32(8), ...op.i32Add, ...tee(L.off), ...get(L.end), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
    ...op.end,
  ];
  return {
    name: 'adam',
    params: [...new Array<number>(6).fill(T.i32), ...new Array<number>(8).fill(T.f64)],
    locals: [T.i32, T.i32, ...new Array<number>(11).fill(T.v128)],
    body,
  };
}

let compiled: WebAssembly.Module | null = null;
/** The heap kernels' module (imports the heap's memory as env.mem; shared by every thread). */
export function heapKernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(wasmModule([sddmmFunc(), spmmFunc(), spmmTFunc(), adamFunc()], { min: 1, max: 65536, shared: true }));
  return compiled;
}

export interface HeapKernels {
  sddmm(pOut: number, pA: number, pW: number, pIdx: number, m: number, dB: number, i0: number, i1: number): void;
  spmm(pOut: number, pVals: number, pIdx: number, m: number, pW: number, dB: number, b0: number, b1: number, i: number, nnz: number, pAcc: number): void;
  spmmT(pOut: number, pVals: number, pIdx: number, m: number, pG: number, dB: number, pStart: number, pOrder: number, g0: number, g1: number, pAcc: number, G: number): void;
  adam(pP: number, pM: number, pV: number, pG: number, i0: number, i1: number, lr: number, b1: number, c1: number, b2: number, c2: number, eps: number, bc1: number, bc2: number): void;
}

export const HEAP_KERNELS = ['sddmm', 'spmm', 'spmmT', 'adam'] as const;
export type HeapKernel = (typeof HEAP_KERNELS)[number];

/** The kernels over `memory` (the heap's). */
export function heapKernels(memory: WebAssembly.Memory): HeapKernels {
  return new WebAssembly.Instance(heapKernelModule(), { env: { mem: memory } }).exports as unknown as HeapKernels;
}

/** True when d suits the kernels (a positive multiple of 8). */
export const wasmSparseShape = (d: number): boolean => d > 0 && d % 8 === 0;
