// Sparse products over a top-k selection on WebGPU (Backend.sddmm, spmm, spmmT). idx holds strictly
// ascending flat indices r*m + c. Dense operands (a, w, g, out) may exceed one storage binding and are
// bound as row windows; the selection arrays (vals, idx: rows*k entries) must fit one binding.
// vec4 kernels (`*_v4`) are used when d % 4 == 0, scalar ones otherwise.
// Kernels: kernels/{sddmm,spmm,spmm_t}{,_v4}.wgsl, csr_rowptr, col_tile_{count,scan,place}, scan_u32.
import type { GpuContext, GpuStorage } from './context.js';
import { exactWindow, head, Params, windows, type Window } from './chunk.js';

const WG = 64;
/** Invocations per workgroup of col_tile_place, one tile each: small, so that few tiles still spread over cores. */
const PLACE_WG = 16;
/** spmmT's (tile, column) count table holds about this many words per entry (see groupTiles). */
const TABLE_PER_ENTRY = 4;
/** Fewest entries per tile: below this, more tiles add table work without shortening the serial walks. */
const MIN_TILE = 256;

/**
 * Tiles for spmmT's counting sort. Each tile costs m table words to clear and scan, and is walked serially by
 * one invocation (nnz / tiles steps), so tiles = TABLE_PER_ENTRY * nnz / m: grouping work stays O(nnz) and a
 * walk is about m / TABLE_PER_ENTRY steps, whatever the column lengths. On llvmpipe (B=4096, m=24576, k=32)
 * 1 to 4 words per entry measured within noise of each other; more tiles only shorten the walks, which
 * matters on GPUs, not on 2 CPU cores (bench/RESULTS.md, "spmmT grouping").
 */
function groupTiles(ctx: GpuContext, nnz: number, m: number): number {
  const words = Math.min(TABLE_PER_ENTRY * nnz, Math.floor(ctx.limits.maxStorageBufferBindingSize / 4));
  return Math.max(1, Math.min(Math.ceil(nnz / MIN_TILE), Math.floor(words / m)));
}

/** Params fields of a row window in the kernels' units (vec4 when v4). */
function rowWin(w: Window, d: number, v4: boolean): [number, number, number] {
  return [w.first / d, w.count / d, v4 ? w.shift / 4 : w.shift];
}

function entries(ctx: GpuContext, s: GpuStorage): Window {
  return exactWindow(ctx, s.buffer, 0, s.length);
}

function rowsOf(s: GpuStorage, d: number, what: string): number {
  if (s.length % d !== 0) throw new Error(`${what} has ${s.length} elements, not a multiple of d=${d}`);
  return s.length / d;
}

/** out[i] = dot(a[r_i, :], w[c_i, :]), a [B,d], w [M,d]. */
export function sddmmGpu(
  ctx: GpuContext,
  out: GpuStorage,
  a: GpuStorage,
  w: GpuStorage,
  idx: GpuStorage,
  m: number,
  d: number,
): void {
  const nnz = idx.length;
  if (out.length !== nnz) throw new Error(`sddmm: out has ${out.length} elements, idx ${nnz}`);
  if (nnz === 0) return;
  const v4 = d % 4 === 0;
  const aw = windows(ctx, a.buffer, 0, rowsOf(a, d, 'sddmm: a') * d, d);
  const ww = windows(ctx, w.buffer, 0, rowsOf(w, d, 'sddmm: w') * d, d);
  const ib = entries(ctx, idx).binding;
  const ob = entries(ctx, out).binding;
  const g = ctx.grid(Math.ceil(nnz / WG));
  // Every entry is computed by the one (a window, w window) pair that holds both of its rows.
  for (const ai of aw) {
    for (const wi of ww) {
      const params = new Params().u32(nnz, m, v4 ? d / 4 : d, g[0], ...rowWin(ai, d, v4), ...rowWin(wi, d, v4)).bytes;
      ctx.dispatch(v4 ? 'sddmm_v4' : 'sddmm', { WG }, [ai.binding, wi.binding, ib, ob], params, g);
    }
  }
}

/**
 * The shared checks of spmm/spmmT's output [rows, d]: false when there is nothing to run (an empty output, or
 * no entries: then the output is cleared to zero).
 */
function sparseOutput(ctx: GpuContext, op: string, out: GpuStorage, vals: GpuStorage, idx: GpuStorage, rows: number, d: number): boolean {
  if (vals.length !== idx.length) throw new Error(`${op}: vals has ${vals.length} elements, idx ${idx.length}`);
  if (out.length !== rows * d) throw new Error(`${op}: out has ${out.length} elements, expected ${rows}x${d}`);
  if (out.length === 0) return false;
  if (idx.length === 0) {
    ctx.clear(out.buffer, 0, out.length * 4);
    return false;
  }
  return true;
}

/** out[b, :] = sum over entries i of row b of vals[i] * w[c_i, :]; out [batch,d] overwritten. */
export function spmmGpu(
  ctx: GpuContext,
  out: GpuStorage,
  vals: GpuStorage,
  idx: GpuStorage,
  m: number,
  w: GpuStorage,
  batch: number,
  d: number,
): void {
  const nnz = idx.length;
  if (!sparseOutput(ctx, 'spmm', out, vals, idx, batch, d)) return;
  const v4 = d % 4 === 0;
  const dd = v4 ? d / 4 : d;
  const rowPtrBytes = (batch + 1) * 4;
  const rowPtr = ctx.scratch(rowPtrBytes);
  const rp = head(rowPtr, rowPtrBytes);
  const vb = entries(ctx, vals).binding;
  const ib = entries(ctx, idx).binding;
  const gp = ctx.grid(Math.ceil((batch + 1) / WG));
  ctx.dispatch('csr_rowptr', { WG }, [ib, rp], new Params().u32(nnz, m, batch, gp[0]).bytes, gp);
  const ww = windows(ctx, w.buffer, 0, rowsOf(w, d, 'spmm: w') * d, d);
  for (const oi of windows(ctx, out.buffer, 0, out.length, d)) {
    const g = ctx.grid(Math.ceil((oi.count / d) * dd / WG));
    ww.forEach((wi, j) => {
      const params = new Params().u32(m, dd, g[0], j > 0 ? 1 : 0, ...rowWin(oi, d, v4), ...rowWin(wi, d, v4)).bytes;
      ctx.dispatch(v4 ? 'spmm_v4' : 'spmm', { WG }, [vb, ib, rp, wi.binding, oi.binding], params, g);
    });
  }
  ctx.release(rowPtr);
}

/** out[c, :] = sum over entries i with c_i = c of vals[i] * g[r_i, :]; out [m,d] overwritten. */
export function spmmTGpu(
  ctx: GpuContext,
  out: GpuStorage,
  vals: GpuStorage,
  idx: GpuStorage,
  m: number,
  g: GpuStorage,
  d: number,
): void {
  const nnz = idx.length;
  if (!sparseOutput(ctx, 'spmmT', out, vals, idx, m, d)) return;
  const v4 = d % 4 === 0;
  const dd = v4 ? d / 4 : d;
  const vb = entries(ctx, vals).binding;
  const ib = entries(ctx, idx).binding;
  const ge = ctx.grid(Math.ceil(nnz / WG));

  // Group entry ids by column, each column's segment in ascending entry order (so the sums below run in a
  // fixed order): a stable counting sort over tiles of consecutive entries (see groupTiles).
  const tiles = groupTiles(ctx, nnz, m);
  const tile = Math.ceil(nnz / tiles);
  const startBytes = Math.ceil(((m + 1) * 4) / 16) * 16;
  const countBytes = tiles * m * 4;
  const start = ctx.scratch(startBytes);
  const count = ctx.scratch(countBytes);
  const sorted = ctx.scratch(nnz * 4);
  const sb = head(start, startBytes);
  const cb = head(count, countBytes);
  const so = head(sorted, nnz * 4);
  ctx.clear(count, 0, countBytes);
  ctx.dispatch('col_tile_count', { WG }, [ib, cb], new Params().u32(nnz, m, ge[0], tile).bytes, ge);
  const gc = ctx.grid(Math.ceil(m / WG));
  ctx.dispatch('col_tile_scan', { WG }, [cb, sb], new Params().u32(m, tiles, gc[0]).bytes, gc);
  ctx.dispatch('scan_u32', { WG: 128 }, [sb], new Params().u32(m, 0).bytes, [1]);
  const gt = ctx.grid(Math.ceil(tiles / PLACE_WG));
  ctx.dispatch('col_tile_place', { WG: PLACE_WG }, [ib, sb, cb, so], new Params().u32(nnz, m, gt[0], tile).bytes, gt);

  const gw = windows(ctx, g.buffer, 0, rowsOf(g, d, 'spmmT: g') * d, d);
  for (const oi of windows(ctx, out.buffer, 0, out.length, d)) {
    const gr = ctx.grid(Math.ceil((oi.count / d) * dd / WG));
    gw.forEach((gi, j) => {
      const params = new Params().u32(m, dd, gr[0], j > 0 ? 1 : 0, ...rowWin(oi, d, v4), ...rowWin(gi, d, v4)).bytes;
      ctx.dispatch(v4 ? 'spmm_t_v4' : 'spmm_t', { WG }, [vb, ib, sb, so, gi.binding, oi.binding], params, gr);
    });
  }
  for (const b of [start, count, sorted]) ctx.release(b);
}
