// Per-adapter kernel choices. CPU rasterisers (Mesa llvmpipe/lavapipe, SwiftShader) run a workgroup's
// invocations as coroutines over SIMD lanes, so every workgroupBarrier costs a round of context switches:
// there the kernels without workgroup memory, and tiny workgroups for tree reductions, win (bench/RESULTS.md).
// Real GPUs get the usual shared-memory tiling and 128-wide trees.
/// <reference types="@webgpu/types" />

export type MatmulVariant = 'register' | 'tiled';

export interface GpuTuning {
  /** 'register': matmul_reg4/matmul_reg (no workgroup memory); 'tiled': matmul_tiled. */
  matmul: MatmulVariant;
  /** Workgroup size of reduce_rows (a power of two, <= 128). */
  reduceWG: number;
  /** Elements each reduce_rows invocation folds before the tree (a multiple of 4). */
  reducePer: number;
  /**
   * Run the short-distance bitonic steps of scatterAdd's sort in workgroup memory (sort_pairs_local): 45
   * instead of 171 dispatches for 2^18 entries. On llvmpipe (262144 entries) this took scatterAdd from 71 to
   * 25 ms for ascending indices (the sort's dispatches return at once, and each costs ~0.4 ms to launch) and
   * from 107 to 177 ms for unordered ones (barriers); top-k selections are ascending, so it is on everywhere.
   */
  localSort: boolean;
  /**
   * Per-row top-k (topk_rows_bound): each invocation reads a contiguous run of the row rather than every
   * WG-th quad. On llvmpipe a lane's loads are scalar, so its own cache lines win (512 x 24576, k 32: 527 ->
   * 415 ms); on a GPU the interleaved reads coalesce.
   */
  rowsContig: boolean;
}

export function isCpuAdapter(info: GPUAdapterInfo | undefined): boolean {
  const text = `${info?.device ?? ''} ${info?.description ?? ''} ${info?.architecture ?? ''}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|softpipe/.test(text);
}

export function tuningFor(info: GPUAdapterInfo | undefined): GpuTuning {
  return isCpuAdapter(info)
    ? { matmul: 'register', reduceWG: 16, reducePer: 128, localSort: true, rowsContig: true }
    : { matmul: 'tiled', reduceWG: 128, reducePer: 16, localSort: true, rowsContig: false };
}
