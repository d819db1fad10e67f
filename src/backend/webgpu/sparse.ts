// Sparse products over a top-k selection on WebGPU (Backend.sddmm, spmm, spmmT). idx holds strictly
// ascending flat indices r*m + c. Dense operands (a, w, g, out) may exceed one storage binding and are
// bound as row windows; the selection arrays (vals, idx: rows*k entries) must fit one binding.
// vec4 kernels (`*_v4`) are used when d % 4 == 0, scalar ones otherwise.
// Kernels: kernels/{sddmm,spmm,spmm_t}{,_v4}.wgsl, csr_rowptr, col_count, col_place, col_rank, scan_u32.
import type { GpuContext, GpuStorage } from './context.js';
import { bindRange, head, u32s, windows, type Window } from './ranges.js';

const WG = 64;

/** Params fields of a row window in the kernels' units (vec4 when v4). */
function rowWin(w: Window, d: number, v4: boolean): [number, number, number] {
  return [w.first / d, w.count / d, v4 ? w.shift / 4 : w.shift];
}

function entries(ctx: GpuContext, s: GpuStorage): Window {
  return bindRange(ctx, s.buffer, 0, s.length);
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
      const params = u32s(nnz, m, v4 ? d / 4 : d, g[0], ...rowWin(ai, d, v4), ...rowWin(wi, d, v4));
      ctx.dispatch(v4 ? 'sddmm_v4' : 'sddmm', { WG }, [ai.binding, wi.binding, ib, ob], params, g);
    }
  }
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
  if (vals.length !== nnz) throw new Error(`spmm: vals has ${vals.length} elements, idx ${nnz}`);
  if (out.length !== batch * d) throw new Error(`spmm: out has ${out.length} elements, expected ${batch}x${d}`);
  if (out.length === 0) return;
  if (nnz === 0) {
    ctx.clear(out.buffer, 0, out.length * 4);
    return;
  }
  const v4 = d % 4 === 0;
  const dd = v4 ? d / 4 : d;
  const rowPtrBytes = (batch + 1) * 4;
  const rowPtr = ctx.scratch(rowPtrBytes);
  const rp = head(rowPtr, rowPtrBytes);
  const vb = entries(ctx, vals).binding;
  const ib = entries(ctx, idx).binding;
  const gp = ctx.grid(Math.ceil((batch + 1) / WG));
  ctx.dispatch('csr_rowptr', { WG }, [ib, rp], u32s(nnz, m, batch, gp[0]), gp);
  const ww = windows(ctx, w.buffer, 0, rowsOf(w, d, 'spmm: w') * d, d);
  for (const oi of windows(ctx, out.buffer, 0, out.length, d)) {
    const g = ctx.grid(Math.ceil((oi.count / d) * dd / WG));
    ww.forEach((wi, j) => {
      const params = u32s(m, dd, g[0], j > 0 ? 1 : 0, ...rowWin(oi, d, v4), ...rowWin(wi, d, v4));
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
  if (vals.length !== nnz) throw new Error(`spmmT: vals has ${vals.length} elements, idx ${nnz}`);
  if (out.length !== m * d) throw new Error(`spmmT: out has ${out.length} elements, expected ${m}x${d}`);
  if (out.length === 0) return;
  if (nnz === 0) {
    ctx.clear(out.buffer, 0, out.length * 4);
    return;
  }
  const v4 = d % 4 === 0;
  const dd = v4 ? d / 4 : d;
  const vb = entries(ctx, vals).binding;
  const ib = entries(ctx, idx).binding;
  const ge = ctx.grid(Math.ceil(nnz / WG));

  // Group entry ids by column, each column's segment in ascending entry order: counting sort, then a rank
  // pass that undoes the atomic placement order.
  const startBytes = Math.ceil(((m + 1) * 4) / 16) * 16;
  const start = ctx.scratch(startBytes);
  const cursor = ctx.scratch(startBytes);
  const placed = ctx.scratch(nnz * 4);
  const sorted = ctx.scratch(nnz * 4);
  const sb = head(start, startBytes);
  const pb = head(placed, nnz * 4);
  const so = head(sorted, nnz * 4);
  ctx.clear(start, 0, startBytes);
  ctx.dispatch('col_count', { WG }, [ib, sb], u32s(nnz, m, ge[0]), ge);
  ctx.dispatch('scan_u32', { WG: 128 }, [sb], u32s(m, 0), [1]);
  ctx.copy(start, 0, cursor, 0, startBytes);
  ctx.dispatch('col_place', { WG }, [ib, head(cursor, startBytes), pb], u32s(nnz, m, ge[0]), ge);
  ctx.dispatch('col_rank', { WG }, [ib, sb, pb, so], u32s(nnz, m, ge[0]), ge);

  const gw = windows(ctx, g.buffer, 0, rowsOf(g, d, 'spmmT: g') * d, d);
  for (const oi of windows(ctx, out.buffer, 0, out.length, d)) {
    const gr = ctx.grid(Math.ceil((oi.count / d) * dd / WG));
    gw.forEach((gi, j) => {
      const params = u32s(m, dd, gr[0], j > 0 ? 1 : 0, ...rowWin(oi, d, v4), ...rowWin(gi, d, v4));
      ctx.dispatch(v4 ? 'spmm_t_v4' : 'spmm_t', { WG }, [vb, ib, sb, so, gi.binding, oi.binding], params, gr);
    });
  }
  for (const b of [start, cursor, placed, sorted]) ctx.release(b);
}
