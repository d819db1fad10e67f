// gather and the deterministic scatterAdd.
// gather: one dispatch per (x window, idx window) pair; each writes the entries whose index falls in its
// x window, so x may be larger than one binding (e.g. gathering top-k values out of a [4096, 24576] matrix).
// scatterAdd: WGSL has no f32 atomics, and atomics would make the result order-dependent anyway. Instead the
// entries are sorted by (destination, entry) with a bitonic sort of u32 pairs, the values are permuted into
// that order, and one invocation per destination adds its run in entry order: the same additions in the
// same order as the CPU reference, so every run gives the same bits. Strictly ascending indices (top-k
// selections, the usual caller) are detected on the GPU and skip the sort's work (not its dispatches).
// The sort workspace (8 bytes per entry, rounded up to a power of two) is internal and is bound whole: it
// must fit the device's storage binding limit (16M entries on llvmpipe), independently of maxBindingBytes.
import { head, Params, ranges, window, windowElems, type WindowBinding } from './chunk.js';
import type { GpuContext } from './context.js';
import { fillRun } from './elementwise.js';
import type { GpuTensor } from './storage.js';
import type { GpuTuning } from './tuning.js';

const WG = 128;
const PER = 4;

export function gatherGpu(ctx: GpuContext, out: GpuTensor, x: GpuTensor, idx: GpuTensor): void {
  const n = idx.length;
  if (n === 0) return;
  const E = windowElems(ctx);
  for (const [lo, xc] of ranges(Math.max(1, x.length), E)) {
    const xw = window(ctx, x.buffer, lo, xc);
    for (const [s, c] of ranges(n, E)) {
      const iw = window(ctx, idx.buffer, s, c);
      const ow = window(ctx, out.buffer, s, c);
      const p = new Params().u32(c).u32(s).u32(iw.origin).u32(ow.origin).u32(lo).u32(lo + xc).u32(xw.origin);
      ctx.dispatch('gather', {}, [xw.binding, iw.binding, ow.binding], p.bytes, ctx.grid(Math.ceil(c / (WG * PER))));
    }
  }
}

export function scatterAddGpu(ctx: GpuContext, tuning: GpuTuning, out: GpuTensor, src: GpuTensor, idx: GpuTensor): void {
  const n = idx.length;
  if (n === 0 || out.length === 0) return;
  const padded = 2 ** Math.ceil(Math.log2(Math.max(2, n)));
  const keyBytes = padded * 8;
  if (keyBytes > ctx.limits.maxStorageBufferBindingSize) {
    throw new Error(`scatterAdd: ${n} entries need a ${keyBytes}-byte sort workspace, over the device's binding limit`);
  }
  const E = windowElems(ctx);
  const keys = ctx.scratch(keyBytes);
  const keysBinding = head(keys, keyBytes);
  const unsorted = ctx.scratch(16);
  ctx.clear(unsorted, 0, 16);
  // Each window also reads the next entry, to compare neighbours across the window boundary.
  for (const [s, c] of ranges(n, E - 1)) {
    const iw = window(ctx, idx.buffer, s, Math.min(c + 1, n - s));
    const p = new Params().u32(c).u32(s).u32(iw.origin).u32(n);
    ctx.dispatch('scatter_keys', {}, [iw.binding, keysBinding, unsorted], p.bytes, ctx.grid(Math.ceil(c / WG)));
  }
  if (padded > n) fillRun(ctx, keys, 2 * n, 2 * (padded - n), 0xffffffff);
  sortPairs(ctx, unsorted, keysBinding, padded, tuning.localSort);

  const sorted = ctx.scratch(n * 4);
  const sortedBinding = head(sorted, Math.ceil(n / 4) * 16);
  for (const [lo, c] of ranges(n, E)) {
    const sw = window(ctx, src.buffer, lo, c);
    const p = new Params().u32(n).u32(lo).u32(lo + c).u32(sw.origin);
    ctx.dispatch('scatter_permute', {}, [keysBinding, sw.binding, sortedBinding], p.bytes, ctx.grid(Math.ceil(n / WG)));
  }
  for (const [lo, c] of ranges(out.length, E)) {
    const ow = window(ctx, out.buffer, lo, c);
    const p = new Params().u32(n).u32(lo).u32(lo + c).u32(ow.origin);
    ctx.dispatch('scatter_add', {}, [keysBinding, sortedBinding, ow.binding], p.bytes, ctx.grid(Math.ceil(n / WG)));
  }
  ctx.release(keys);
  ctx.release(sorted);
  ctx.release(unsorted);
}

/** Pairs per workgroup in sort_pairs_local (its workgroup array holds 1024). */
const BLOCK = 1024;
/** Compare-exchanges per invocation in sort_pairs (its PAIRS default). */
const SORT_PAIRS = 8;

/**
 * Bitonic sort of `len` (a power of two) u32 pairs in ascending (key, tag) order. Steps with compare distance
 * below BLOCK run in workgroup memory (sort_pairs_local, one dispatch per stage), larger ones globally
 * (sort_pairs, one dispatch per step): 45 dispatches instead of 171 for 2^18 pairs. Without `local` every
 * step is global (see GpuTuning.localSort for the trade-off).
 */
function sortPairs(
  ctx: GpuContext,
  unsorted: GPUBuffer,
  keys: WindowBinding,
  len: number,
  local: boolean,
): void {
  const block = local ? Math.min(BLOCK, len) : 1;
  const half = len / 2;
  const g = ctx.grid(Math.ceil(half / (WG * SORT_PAIRS)));
  if (block === 1) {
    for (let k = 2; k <= len; k *= 2) {
      for (let j = k / 2; j >= 1; j /= 2) {
        ctx.dispatch('sort_pairs', {}, [unsorted, keys], new Params().u32(half).u32(k).u32(j).bytes, g);
      }
    }
    return;
  }
  const blocks = ctx.grid(len / block);
  const localSteps = (kFirst: number, kLast: number) =>
    ctx.dispatch('sort_pairs_local', {}, [unsorted, keys], new Params().u32(block).u32(kFirst).u32(kLast).bytes, blocks);
  localSteps(2, block);
  for (let k = 2 * block; k <= len; k *= 2) {
    for (let j = k / 2; j >= block; j /= 2) {
      ctx.dispatch('sort_pairs', {}, [unsorted, keys], new Params().u32(half).u32(k).u32(j).bytes, g);
    }
    localSteps(k, k);
  }
}
