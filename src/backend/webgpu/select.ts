// Top-k selection on WebGPU (Backend.topk): per row, the k largest by (value desc, column asc), written as
// ascending flat indices, identical to the CPU backend. Two regimes:
// - range select (BatchTopK: one row of n*m, k = n*k_sample): where k is small next to n, the one-pass
//   sampled bracket (sampled_select.ts); behind it, as its exact fallback and for the other ranges, a radix
//   select over the whole range with global histograms and no readback (topk_hist, topk_collect, topk_pick:
//   three digits, the last one over the candidates collected on the way when they fit), then a deterministic
//   emit (topk_count, scan_u32, topk_emit). The fallback's kernels are recorded after the sampled path's and
//   return at once when it succeeded (a flag on the device: no readback). Ranges go in binding-sized windows.
// - per-row select (TopK, AuxK): one workgroup per row; for k <= 128 a bound from the row's group maxima and
//   an exact rank over the few entries above it (topk_rows_bound), else (and for the rows it cannot settle)
//   a radix select and emit per row (topk_rows).
import type { GpuBinding, GpuContext, GpuStorage } from './context.js';
import { exactWindow, head, Params, tileItems, unitFits, windows, type Window } from './chunk.js';
import { GatedContext } from './gate.js';
import { sampledPlan, sampledSelect } from './sampled_select.js';
import type { GpuTuning } from './tuning.js';

const WG = 128;
/** Elements per invocation in a count/emit tile: 4096-element tiles, ~24.6k tiles at 4096 x 24576. */
const EMIT_ITEMS = 32;
/**
 * Elements per invocation in a histogram tile. Large, because each workgroup pays for zeroing, scanning and
 * merging a 2048-bin histogram (on llvmpipe 32 -> 256 cut the three passes from 2.3 s to 1.0 s at 100M).
 */
const HIST_ITEMS = 256;
/** Most candidates kept after the second digit (16 MiB); more and the last pass re-reads x. */
const CAND_CAP = 1 << 22;
/** Contiguous columns per invocation in a per-row sweep tile. */
const ROW_ITEMS = 16;
/** Radix digits [lowest bit, width] from the top; 11 + 11 + 10 bits = three passes. */
const DIGITS: readonly (readonly [number, number])[] = [
  [21, 11],
  [10, 11],
  [0, 10],
];

export function topkGpu(
  ctx: GpuContext,
  tuning: GpuTuning,
  outIdx: GpuStorage,
  x: GpuStorage,
  rows: number,
  cols: number,
  k: number,
): void {
  if (!Number.isInteger(k) || k < 1 || k > cols) throw new Error(`topk: need 1 <= k <= cols, got k=${k}, cols=${cols}`);
  if (x.dtype !== 'f32' || outIdx.dtype !== 'i32') throw new Error('topk: x must be f32 and outIdx i32');
  if (x.length !== rows * cols) throw new Error(`topk: x has ${x.length} elements, expected ${rows}x${cols}`);
  if (outIdx.length !== rows * k) throw new Error(`topk: outIdx has ${outIdx.length} elements, expected ${rows * k}`);
  // One workgroup per row would leave a GPU idle on a few very long rows; those (and rows wider than one
  // binding) go through the range select, one row at a time.
  const perRow = rows > 1 && unitFits(ctx, cols) && unitFits(ctx, k) && !(cols >= 1 << 20 && rows < 32);
  if (perRow) {
    rowsSelect(ctx, tuning, outIdx, x, rows, cols, k);
  } else {
    for (let r = 0; r < rows; r++) rangeSelect(ctx, outIdx, x, r * cols, cols, k, r * k);
  }
}

/** Top-k of elements [first, first+n) of x (flat indices = element indices) into out[outFirst, +k). */
function rangeSelect(
  ctx: GpuContext,
  out: GpuStorage,
  x: GpuStorage,
  first: number,
  n: number,
  k: number,
  outFirst: number,
): void {
  const state = ctx.scratch(16);
  // state[3] = 0: the radix select runs, unless the sampled path (which sets it) settles the select first.
  ctx.clear(state, 8, 8);
  const plan = sampledPlan(ctx, n, k);
  if (!plan) {
    findCut(ctx, state, x, first, n, k);
    emit(ctx, out, state, x, first, n, k, outFirst);
    ctx.release(state);
    return;
  }
  // The exact fallback, planned first and recorded after the sampled path behind a gate on state[3].
  const fallback = new GatedContext(ctx);
  findCut(fallback, state, x, first, n, k);
  emit(fallback, out, state, x, first, n, k, outFirst);
  sampledSelect(ctx, plan, out, x, first, n, k, outFirst, state);
  fallback.commit(state, 3);
  ctx.release(state);
}

/**
 * Radix select: leaves state = [T, r, ...], the key of the k-th largest and how many keys equal to T are
 * kept. Pass 0 histograms x; pass 1 also collects the candidates left (if at most `cap`), which pass 2
 * histograms instead of x (AIR Top-K's filtering; pass 2 falls back to x when they did not fit).
 */
function findCut(ctx: GpuContext, state: GPUBuffer, x: GpuStorage, first: number, n: number, k: number): void {
  const items = fitItems(ctx, HIST_ITEMS);
  const tile = WG * items;
  const wins = windows(ctx, x.buffer, first, n, tile);
  const hist = ctx.scratch(2048 * 4);
  const cap = Math.min(n, CAND_CAP, Math.floor(ctx.maxBindingBytes / 4));
  const cand = ctx.scratch(cap * 4);
  const candWin = exactWindow(ctx, cand, 0, cap);
  ctx.clear(hist, 0, 2048 * 4);
  ctx.clear(state, 8, 4);
  DIGITS.forEach(([shift, bits], pass) => {
    const mask = pass === 0 ? 0 : ~((1 << (shift + bits)) - 1) >>> 0;
    const run = (kernel: string, w: Window, extra: GpuBinding[], mode: number) => {
      const wt = Math.ceil(w.count / tile);
      const g = ctx.grid(wt);
      const params = new Params().u32(w.count, w.shift, shift, bits, mask, g[0], wt, mode, cap).bytes;
      ctx.dispatch(kernel, { WG, ITEMS: items }, [w.binding, state, hist, ...extra], params, g);
    };
    if (pass === 0) for (const w of wins) run('topk_hist', w, [], 0);
    if (pass === 1) for (const w of wins) run('topk_collect', w, [candWin.binding], 0);
    if (pass === 2) {
      run('topk_hist', candWin, [], 1);
      for (const w of wins) run('topk_hist', w, [], 2);
    }
    ctx.dispatch('topk_pick', { WG }, [hist, state], new Params().u32(shift, bits, pass === 0 ? 1 : 0, k).bytes, [1]);
  });
  ctx.release(hist);
  ctx.release(cand);
}

/** Writes the selected flat indices in ascending order: per-chunk counts, a scan over tiles, then writes. */
function emit(
  ctx: GpuContext,
  out: GpuStorage,
  state: GPUBuffer,
  x: GpuStorage,
  first: number,
  n: number,
  k: number,
  outFirst: number,
): void {
  const items = fitItems(ctx, EMIT_ITEMS);
  const tile = WG * items;
  const tiles = Math.ceil(n / tile);
  const consts = { WG, ITEMS: items };
  const countBytes = Math.ceil(((2 * tiles + 2) * 4) / 16) * 16;
  if (countBytes > ctx.maxBindingBytes) throw new Error(`topk: ${tiles} tiles need more than one binding of counts`);
  const counts = ctx.scratch(countBytes);
  const cb = head(counts, countBytes);
  // Per chunk (WG per tile): [counts before it in its tile, its counts]; windowed like x (fewer bytes per tile).
  const thr = ctx.scratch(tiles * WG * 8);
  const parts = windows(ctx, x.buffer, first, n, tile).map((w) => {
    const tile0 = (w.first - first) / tile;
    const wt = Math.ceil(w.count / tile);
    return { w, tile0, wt, g: ctx.grid(wt), t: exactWindow(ctx, thr, tile0 * WG * 2, wt * WG * 2) };
  });
  for (const { w, tile0, wt, g, t } of parts) {
    const params = new Params().u32(w.count, w.shift, tile0, wt, tiles, g[0], t.shift).bytes;
    ctx.dispatch('topk_count', consts, [w.binding, state, cb, t.binding], params, g);
  }
  ctx.dispatch('scan_u32', { WG }, [cb], new Params().u32(tiles, 0).bytes, [1]);
  ctx.dispatch('scan_u32', { WG }, [cb], new Params().u32(tiles, tiles + 1).bytes, [1]);

  // Output slots of a window are not known on the host, so with several output windows (only under tiny
  // binding limits) every pair is dispatched and each kernel writes only the slots its binding holds.
  const outWins = windows(ctx, out.buffer, outFirst, k, 1);
  for (const { w, tile0, wt, g, t } of parts) {
    for (const o of outWins) {
      const outSlots = [o.first - outFirst, o.count, o.shift];
      const params = new Params().u32(w.count, w.shift, tile0, wt, tiles, g[0], t.shift, w.first, ...outSlots).bytes;
      ctx.dispatch('topk_emit', consts, [w.binding, state, cb, t.binding, o.binding], params, g);
    }
  }
  ctx.release(counts);
  ctx.release(thr);
}

/** The largest power-of-two ITEMS <= want (at least 4) whose tile (WG*ITEMS f32) fits one binding anywhere. */
function fitItems(ctx: GpuContext, want: number): number {
  return tileItems(ctx, WG, want, 4);
}

export interface RowBoundKnobs {
  enabled: boolean;
  /** List capacity (<= 1024); specs lower it to force the radix fallback of topk_rows_bound. */
  cap: number;
  rowsPerGroup: number;
  vec4: boolean;
  /**
   * Lanes for k <= smallWG / 2 (fewer, longer groups): the bound, the k-th of the lane maxima, stays tight
   * while ranking the maxima costs a quarter (llvmpipe, 512 x 24576, k 32: 634 -> 520 ms against 128 lanes).
   */
  smallWG: number;
  /**
   * Test hook: called with the `bad` buffer after topk_rows_bound, before it is released, so a spec can see
   * how many rows it left to the radix fallback (u32 [rows]).
   */
  probe: ((ctx: GpuContext, bad: GPUBuffer, rows: number) => void) | null;
}

/** The per-row select knobs. */
export const ROW_BOUND: RowBoundKnobs = { enabled: true, cap: 1024, rowsPerGroup: 1, vec4: true, smallWG: 64, probe: null };

/**
 * Per-row top-k, one workgroup per row, rows in binding-sized windows of x and out: topk_rows_bound where
 * k <= WG, with topk_rows (the radix select per row) behind it for the rows it could not settle, gated on
 * their count so that it launches nothing when there are none; topk_rows alone for larger k.
 */
function rowsSelect(ctx: GpuContext, tuning: GpuTuning, out: GpuStorage, x: GpuStorage, rows: number, cols: number, k: number): void {
  const align = ctx.limits.minStorageBufferOffsetAlignment;
  const outRowsFit = Math.floor((ctx.maxBindingBytes - align + 4) / (k * 4));
  const wins = windows(ctx, x.buffer, 0, rows * cols, cols, outRowsFit).map((w) => {
    const row0 = w.first / cols;
    const n = w.count / cols;
    return { w, row0, n, o: exactWindow(ctx, out.buffer, row0 * k, n * k), g: ctx.grid(n) };
  });
  const badBytes = Math.ceil(((rows + 1) * 4) / 16) * 16;
  const bounded = ROW_BOUND.enabled && k <= WG && badBytes <= ctx.maxBindingBytes;
  const bad = ctx.scratch(bounded ? badBytes : 16);
  const badBinding = head(bad, bounded ? badBytes : 16);
  const radix = (c: GpuContext, gated: number) => {
    for (const { w, row0, n, o, g } of wins) {
      const params = new Params().u32(cols, k, n, w.shift, o.shift, row0, g[0], gated).bytes;
      c.dispatch('topk_rows', { WG, ITEMS: ROW_ITEMS }, [w.binding, o.binding, badBinding], params, g);
    }
  };
  if (!bounded) {
    radix(ctx, 0);
    ctx.release(bad);
    return;
  }
  ctx.clear(bad, 0, badBytes);
  const cap = Math.min(ROW_BOUND.cap, 1024);
  // vec4 loads where every row starts on a whole vec4 (windows start on rows, at 16-byte aligned offsets).
  const v4 = ROW_BOUND.vec4 && cols % 4 === 0 && wins.every(({ w }) => w.shift % 4 === 0);
  const spare = v4 ? null : ctx.scratch(16);
  for (const { w, row0, n, o } of wins) {
    const g = ctx.grid(Math.ceil(n / ROW_BOUND.rowsPerGroup));
    const params = new Params().u32(cols, k, n, w.shift, o.shift, row0, g[0], cap, rows).bytes;
    const x4 = v4 ? w.binding : head(spare!, 16);
    const lanes = 2 * k <= ROW_BOUND.smallWG ? ROW_BOUND.smallWG : WG;
    const consts = { WG: lanes, RPW: ROW_BOUND.rowsPerGroup, V4: v4 ? 1 : 0, CONTIG: tuning.rowsContig ? 1 : 0 };
    ctx.dispatch('topk_rows_bound', consts, [w.binding, o.binding, badBinding, x4], params, g);
  }
  if (spare) ctx.release(spare);
  ROW_BOUND.probe?.(ctx, bad, rows);
  const fallback = new GatedContext(ctx);
  radix(fallback, 1);
  fallback.commit(bad, rows, 'nonzero');
  ctx.release(bad);
}
