// Top-k selection on WebGPU (Backend.topk): per row, the k largest by (value desc, column asc), written as
// ascending flat indices, identical to the CPU backend. Two regimes:
// - range select (BatchTopK: one row of n*m, k = n*k_sample): a radix select over the whole range with
//   global histograms (topk_hist + topk_pick, three digits, no readback), then a deterministic emit
//   (topk_count, scan_u32, topk_emit). The range is processed in binding-sized windows.
// - per-row select (TopK, AuxK): one workgroup per row does the radix select and the emit (topk_rows).
// Kernels: kernels/topk_*.wgsl, kernels/scan_u32.wgsl.
import type { GpuContext, GpuStorage } from './context.js';
import { bindRange, head, unitFits, u32s, windows } from './ranges.js';

const WG = 128;
/** Elements per invocation in a range-select tile: 4096-element tiles, ~24.6k tiles at 4096 x 24576. */
const RANGE_ITEMS = 32;
/** Contiguous columns per invocation in a per-row sweep tile. */
const ROW_ITEMS = 16;
/** Radix digits [lowest bit, width] from the top; 11 + 11 + 10 bits = three passes. */
const DIGITS: readonly (readonly [number, number])[] = [
  [21, 11],
  [10, 11],
  [0, 10],
];

export function topkGpu(ctx: GpuContext, outIdx: GpuStorage, x: GpuStorage, rows: number, cols: number, k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > cols) throw new Error(`topk: need 1 <= k <= cols, got k=${k}, cols=${cols}`);
  if (x.dtype !== 'f32' || outIdx.dtype !== 'i32') throw new Error('topk: x must be f32 and outIdx i32');
  if (x.length !== rows * cols) throw new Error(`topk: x has ${x.length} elements, expected ${rows}x${cols}`);
  if (outIdx.length !== rows * k) throw new Error(`topk: outIdx has ${outIdx.length} elements, expected ${rows * k}`);
  // One workgroup per row would leave a GPU idle on a few very long rows; those (and rows wider than one
  // binding) go through the range select, one row at a time.
  const perRow = rows > 1 && unitFits(ctx, cols) && unitFits(ctx, k) && !(cols >= 1 << 20 && rows < 32);
  if (perRow) {
    rowsSelect(ctx, outIdx, x, rows, cols, k);
  } else {
    for (let r = 0; r < rows; r++) rangeSelect(ctx, outIdx, x, r * cols, cols, k, r * k);
  }
}

/** Top-k of elements [first, first+n) of x (flat indices = element indices) into out[outFirst, +k). */
function rangeSelect(ctx: GpuContext, out: GpuStorage, x: GpuStorage, first: number, n: number, k: number, outFirst: number): void {
  let items = RANGE_ITEMS;
  while (items > 1 && !unitFits(ctx, WG * items)) items >>= 1;
  const tile = WG * items;
  const tiles = Math.ceil(n / tile);
  const wins = windows(ctx, x.buffer, first, n, tile);
  const consts = { WG, ITEMS: items };

  const state = ctx.scratch(16);
  const hist = ctx.scratch(2048 * 4);
  const countBytes = Math.ceil(((2 * tiles + 2) * 4) / 16) * 16;
  const counts = ctx.scratch(countBytes);
  if (countBytes > ctx.maxBindingBytes) throw new Error(`topk: ${tiles} tiles need more than one binding of counts`);
  const countsB = head(counts, countBytes);
  ctx.clear(hist, 0, 2048 * 4);

  DIGITS.forEach(([shift, bits], pass) => {
    const mask = pass === 0 ? 0 : ~((1 << (shift + bits)) - 1) >>> 0;
    for (const w of wins) {
      const wt = Math.ceil(w.count / tile);
      const g = ctx.grid(wt);
      ctx.dispatch('topk_hist', consts, [w.binding, state, hist], u32s(w.count, w.shift, shift, bits, mask, g[0], wt), g);
    }
    ctx.dispatch('topk_pick', { WG }, [hist, state], u32s(shift, bits, pass === 0 ? 1 : 0, k), [1]);
  });

  const tileBase = (w: { first: number }) => (w.first - first) / tile;
  for (const w of wins) {
    const wt = Math.ceil(w.count / tile);
    const g = ctx.grid(wt);
    ctx.dispatch('topk_count', consts, [w.binding, state, countsB], u32s(w.count, w.shift, tileBase(w), wt, tiles, g[0]), g);
  }
  ctx.dispatch('scan_u32', { WG }, [countsB], u32s(tiles, 0), [1]);
  ctx.dispatch('scan_u32', { WG }, [countsB], u32s(tiles, tiles + 1), [1]);

  // Output slots of a window are not known on the host, so with several output windows (only under tiny
  // binding limits) every pair is dispatched and each kernel writes only the slots its binding holds.
  const outWins = windows(ctx, out.buffer, outFirst, k, 1);
  for (const w of wins) {
    const wt = Math.ceil(w.count / tile);
    const g = ctx.grid(wt);
    for (const o of outWins) {
      const params = u32s(w.count, w.shift, tileBase(w), wt, tiles, g[0], w.first, o.first - outFirst, o.count, o.shift);
      ctx.dispatch('topk_emit', consts, [w.binding, state, countsB, o.binding], params, g);
    }
  }
  ctx.release(state);
  ctx.release(hist);
  ctx.release(counts);
}

/** Per-row top-k, one workgroup per row, rows in binding-sized windows of x and out. */
function rowsSelect(ctx: GpuContext, out: GpuStorage, x: GpuStorage, rows: number, cols: number, k: number): void {
  const align = ctx.limits.minStorageBufferOffsetAlignment;
  const outRowsFit = Math.floor((ctx.maxBindingBytes - align + 4) / (k * 4));
  for (const w of windows(ctx, x.buffer, 0, rows * cols, cols, outRowsFit)) {
    const row0 = w.first / cols;
    const n = w.count / cols;
    const o = bindRange(ctx, out.buffer, row0 * k, n * k);
    const g = ctx.grid(n);
    ctx.dispatch('topk_rows', { WG, ITEMS: ROW_ITEMS }, [w.binding, o.binding], u32s(cols, k, n, w.shift, o.shift, row0, g[0]), g);
  }
}
