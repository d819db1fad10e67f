// Dense matmul: out[M,N] = opA(a)[M,K] . opB(b)[K,N] with two kernel families chosen per adapter:
//   'register' (matmul_reg4.wgsl, or matmul_reg.wgsl when rows are not whole vec4s): 4x4 outputs per
//     invocation, no workgroup memory. Best on llvmpipe, where every workgroupBarrier is a coroutine switch
//     (measured in bench/RESULTS.md).
//   'tiled' (matmul_tiled.wgsl): 64x64 workgroup tiles staged in workgroup memory. Best on real GPUs.
// Operands larger than one binding are split into blocks (M, N and K partitions) whose stored spans each
// fit a window; K blocks after the first accumulate onto out.
import { Params, window, windowElems } from './chunk.js';
import type { GpuContext } from './context.js';
import type { GpuTensor } from './storage.js';
import type { MatmulVariant } from './tuning.js';

export type { MatmulVariant } from './tuning.js';

interface KernelShape {
  kernel: string;
  tileM: number;
  tileN: number;
}

const REG: KernelShape = { kernel: 'matmul_reg', tileM: 32, tileN: 64 };
const REG4: KernelShape = { kernel: 'matmul_reg4', tileM: 32, tileN: 64 };
const TILED: KernelShape = { kernel: 'matmul_tiled', tileM: 64, tileN: 64 };

interface Blocking {
  pm: number;
  pn: number;
  pk: number;
}

/**
 * Partition M, N, K (doubling a dimension of the offending operand) until every operand block's stored span
 * fits E. Per operand, the dimension along its leading stride goes first, while its blocks still shrink
 * (blocks are at least 4 long, for vec4 alignment); then the other one.
 */
export function blocking(M: number, N: number, K: number, transA: boolean, transB: boolean, E: number): Blocking {
  const p = { pm: 1, pn: 1, pk: 1 };
  const shrinks = (n: number, parts: number) => blockSize(n, parts * 2) < blockSize(n, parts);
  const split = (first: 'pm' | 'pn' | 'pk', second: 'pm' | 'pn' | 'pk') => {
    const dim = { pm: M, pn: N, pk: K };
    if (shrinks(dim[first], p[first])) p[first] *= 2;
    else if (shrinks(dim[second], p[second])) p[second] *= 2;
    else throw new Error(`WebGPU matmul: [${M}x${K}].[${K}x${N}] (transA ${transA}, transB ${transB}) cannot be split into blocks of ${E} elements`);
  };
  for (;;) {
    const mb = blockSize(M, p.pm), nb = blockSize(N, p.pn), kb = blockSize(K, p.pk);
    const spanA = transA ? (kb - 1) * M + mb : (mb - 1) * K + kb;
    const spanB = transB ? (nb - 1) * K + kb : (kb - 1) * N + nb;
    const spanC = (mb - 1) * N + nb;
    if (spanC > E) split('pm', 'pn');
    else if (spanA > E) split(transA ? 'pk' : 'pm', transA ? 'pm' : 'pk');
    else if (spanB > E) split(transB ? 'pn' : 'pk', transB ? 'pk' : 'pn');
    else return p;
  }
}

/** Block length when n is split into p parts: a multiple of 4 (so vec4 kernels stay aligned) unless n < 4. */
function blockSize(n: number, p: number): number {
  return Math.min(n, Math.ceil(Math.ceil(n / p) / 4) * 4);
}

/** [start, size) of block i when n is split into p parts. */
function part(n: number, p: number, i: number): [number, number] {
  const size = blockSize(n, p);
  const start = i * size;
  return [start, Math.max(0, Math.min(size, n - start))];
}

export function matmulGpu(
  ctx: GpuContext,
  variant: MatmulVariant,
  out: GpuTensor,
  a: GpuTensor,
  b: GpuTensor,
  M: number,
  K: number,
  N: number,
  transA: boolean,
  transB: boolean,
  epi: { bias: GpuTensor | null; relu: GpuTensor | null } = { bias: null, relu: null },
): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (epi.bias || epi.relu) throw new Error('matmulGpu: no fused epilogue without a K block (K = 0)');
    ctx.clear(out.buffer, 0, out.bytes);
    return;
  }
  // Whole vec4s: every leading dimension (K or M for a, N or K for b) and K itself are multiples of 4;
  // block starts are multiples of 4 by construction (blockSize).
  const vec4 = K % 4 === 0 && (transA ? M : K) % 4 === 0 && (transB ? K : N) % 4 === 0;
  const shape = variant === 'tiled' ? TILED : vec4 ? REG4 : REG;
  const { pm, pn, pk } = blocking(M, N, K, transA, transB, windowElems(ctx));
  const constants = { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0 };
  // Unused epilogue bindings get 16-byte stand-ins (the layout declares them either way; two, because one
  // buffer may not be bound read-only and writable in the same dispatch).
  const spareBias = epi.bias ? null : ctx.scratch(16);
  const spareRelu = epi.relu ? null : ctx.scratch(16);
  const epiBits = (epi.bias ? 1 : 0) | (epi.relu ? 2 : 0);
  // The epilogue runs on the last non-empty K block, after every partial sum is in.
  let lastK = pk - 1;
  while (lastK > 0 && part(K, pk, lastK)[1] === 0) lastK--;
  for (let i = 0; i < pm; i++) {
    const [m0, mb] = part(M, pm, i);
    if (mb === 0) continue;
    for (let j = 0; j < pn; j++) {
      const [n0, nb] = part(N, pn, j);
      if (nb === 0) continue;
      const cw = window(ctx, out.buffer, m0 * N + n0, (mb - 1) * N + nb);
      // relu is laid out like out: its window over the same elements has the same origin, so cOff serves both.
      const rw = epi.relu ? window(ctx, epi.relu.buffer, m0 * N + n0, (mb - 1) * N + nb).binding : spareRelu!;
      const biasW = epi.bias ? window(ctx, epi.bias.buffer, n0, nb) : null;
      for (let l = 0; l < pk; l++) {
        const [k0, kb] = part(K, pk, l);
        if (kb === 0) continue;
        const aw = transA ? window(ctx, a.buffer, k0 * M + m0, (kb - 1) * M + mb) : window(ctx, a.buffer, m0 * K + k0, (mb - 1) * K + kb);
        const bw = transB ? window(ctx, b.buffer, n0 * K + k0, (nb - 1) * K + kb) : window(ctx, b.buffer, k0 * N + n0, (kb - 1) * N + nb);
        const aStart = transA ? k0 * M + m0 : m0 * K + k0;
        const bStart = transB ? n0 * K + k0 : k0 * N + n0;
        const tilesX = Math.ceil(nb / shape.tileN);
        const tiles = tilesX * Math.ceil(mb / shape.tileM);
        const p = new Params()
          .u32(mb)
          .u32(nb)
          .u32(kb)
          .u32(transA ? M : K)
          .u32(transB ? K : N)
          .u32(N)
          .u32(aStart - aw.origin)
          .u32(bStart - bw.origin)
          .u32(m0 * N + n0 - cw.origin)
          .u32(l > 0 ? 1 : 0)
          .u32(tilesX)
          .u32(l === lastK ? epiBits : 0)
          .u32(biasW ? n0 - biasW.origin : 0);
        const bindings = [aw.binding, bw.binding, cw.binding, biasW ? biasW.binding : spareBias!, rw];
        ctx.dispatch(shape.kernel, constants, bindings, p.bytes, ctx.grid(tiles));
      }
    }
  }
  if (spareBias) ctx.release(spareBias);
  if (spareRelu) ctx.release(spareRelu);
}
