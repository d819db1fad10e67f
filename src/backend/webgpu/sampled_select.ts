// BatchTopK on WebGPU in one pass over the matrix (the GPU form of src/backend/cpu/sample_select.ts): a
// stratified sample of the keys brackets the cut from below, one pass appends every entry at or above the
// bracket's bottom to a small candidate buffer (in per-tile segments), the exact radix select then runs on
// the candidates only, and the emit walks the segments. The radix select over the matrix reads it three or
// four times (three histogram passes plus count and emit); this reads it once (plus the samples).
// Exact whatever the sample says: when the bracket misses (fewer than k candidates, or more than the buffer
// holds) topk_check sets a flag on the device and the exact radix select (select.ts) runs instead; its
// kernels are always recorded and return at once when the flag says the sampled path succeeded, so there
// is no readback and no host decision.
// Kernels: topk_sample (per window of x), topk_bracket, topk_sieve (per window), topk_check, then
// topk_hist + topk_pick (three digits over the candidates), topk_seg count, scan_u32 x2, topk_seg emit.
import type { GpuContext, GpuStorage } from './context.js';
import { exactWindow, head, Params, tileItems, windows } from './chunk.js';

export interface SampledKnobs {
  /** log2 of the number of samples (<= 16: lib/sample_pos.wgsl's exact integer arithmetic). */
  sampleBits: number;
  /** The sampled path is used for ranges of at least this many entries (and k <= n/16). */
  minN: number;
  /** Bracket bottom: this many binomial standard deviations below the sampled rank of the cut. */
  sigmas: number;
  /** Candidate buffer: this many times the expected candidates (at least 2^14, at most one binding). */
  capScale: number;
  /** Test hook: a fixed candidate capacity (forces the overflow fallback when small). */
  capOverride: number | null;
  /**
   * Test hook: called with the sampled path's state buffer after topk_check, before it is released, so a
   * spec can copy it out and see which path ran (u32 [3]: 0 sampled, 1 fallback; [2]: candidates found).
   */
  probe: ((ctx: GpuContext, state: GPUBuffer) => void) | null;
}

/** The knobs; specs lower them to reach the sampled path and its fallbacks at small sizes. */
export const SAMPLED: SampledKnobs = { sampleBits: 16, minN: 1 << 18, sigmas: 7, capScale: 2, capOverride: null, probe: null };

const WG = 128;
/** Entries per invocation of the sieve: 16384-entry tiles, ~6.1k tiles at 4096 x 24576. */
const SIEVE_ITEMS = 128;
/** Candidates per invocation of a candidate histogram pass (topk_hist, mode 1). */
const HIST_ITEMS = 64;
const SEG_WG = 64;

/** The sieve's entries per invocation: SIEVE_ITEMS, halved until a tile fits one binding anywhere. */
function sieveItems(ctx: GpuContext): number {
  return tileItems(ctx, WG, SIEVE_ITEMS, 1);
}

/** The plan for one range, or null when the sampled path does not apply (the caller runs the radix select). */
export interface SampledPlan {
  samples: number;
  rank: number;
  cap: number;
}

export function sampledPlan(ctx: GpuContext, n: number, k: number): SampledPlan | null {
  const s = SAMPLED.sampleBits;
  const samples = 1 << s;
  if (n < Math.max(SAMPLED.minN, samples) || k > n / 16 || s > 16) return null;
  // The rank in the sample expected to hold the cut, and the bracket's bottom below it (sample_select.ts).
  const r = (samples * k) / n;
  const rank = Math.max(0, Math.ceil(r + SAMPLED.sigmas * Math.sqrt(r) + 2));
  if (rank >= samples) return null;
  const bindElems = Math.floor(ctx.maxBindingBytes / 4);
  const expected = ((rank + 1) / samples) * n;
  const cap = SAMPLED.capOverride ?? Math.min(n, bindElems, Math.max(1 << 14, Math.ceil(SAMPLED.capScale * expected)));
  const tiles = Math.ceil(n / (WG * sieveItems(ctx)));
  // The segment table and the per-tile counts must each fit one binding, and the samples too.
  if (samples * 4 > ctx.maxBindingBytes || (2 * tiles + 2) * 4 > ctx.maxBindingBytes || cap < k) return null;
  return { samples, rank, cap };
}

/**
 * The sampled select of x[first, first+n) into out[outFirst, +k), recorded ahead of the exact fallback:
 * `fb` is the fallback's state (its [3] is set by topk_check: 1 = skip the fallback).
 */
export function sampledSelect(
  ctx: GpuContext,
  plan: SampledPlan,
  out: GpuStorage,
  x: GpuStorage,
  first: number,
  n: number,
  k: number,
  outFirst: number,
  fb: GPUBuffer,
): void {
  const { samples, rank, cap } = plan;
  const items = sieveItems(ctx);
  const tile = WG * items;
  const tiles = Math.ceil(n / tile);
  const wins = windows(ctx, x.buffer, first, n, tile);
  const st = ctx.scratch(32);
  const smp = ctx.scratch(samples * 4);
  const candVal = ctx.scratch(cap * 4);
  const candIdx = ctx.scratch(cap * 4);
  const segBytes = Math.ceil((2 * tiles * 4) / 16) * 16;
  const seg = ctx.scratch(segBytes);
  const countBytes = Math.ceil(((2 * tiles + 2) * 4) / 16) * 16;
  const counts = ctx.scratch(countBytes);
  const hist = ctx.scratch(2048 * 4);

  // 1-2. Samples (each window writes those it holds) and the bracket's bottom.
  for (const w of wins) {
    const g = ctx.grid(Math.ceil(samples / WG));
    const params = new Params().u32(n, SAMPLED.sampleBits, w.first - first, w.count, w.shift, g[0]).bytes;
    ctx.dispatch('topk_sample', { WG }, [w.binding, head(smp, samples * 4)], params, g);
  }
  ctx.dispatch('topk_bracket', { WG }, [head(smp, samples * 4), st], new Params().u32(samples, rank).bytes, [1]);
  // 3-4. The one pass over x, then the check that picks the sampled path or the fallback.
  const cv = exactWindow(ctx, candVal, 0, cap);
  const ci = exactWindow(ctx, candIdx, 0, cap);
  for (const w of wins) {
    const tile0 = (w.first - first) / tile;
    const wt = Math.ceil(w.count / tile);
    const g = ctx.grid(wt);
    const params = new Params().u32(w.count, w.shift, tile0, wt, g[0], cap, w.first).bytes;
    ctx.dispatch('topk_sieve', { WG, ITEMS: items }, [w.binding, st, cv.binding, ci.binding, head(seg, segBytes)], params, g);
  }
  ctx.dispatch('topk_check', {}, [st, fb], new Params().u32(k, cap).bytes, [1]);
  // 5. The exact cut among the candidates: three digits (topk_hist mode 1 reads the count from state[2]).
  ctx.clear(hist, 0, 2048 * 4);
  const htile = WG * HIST_ITEMS;
  const ht = Math.ceil(cap / htile);
  const hg = ctx.grid(ht);
  [[21, 11], [10, 11], [0, 10]].forEach(([shift, bits], pass) => {
    const mask = pass === 0 ? 0 : ~((1 << (shift! + bits!)) - 1) >>> 0;
    const params = new Params().u32(cap, 0, shift!, bits!, mask, hg[0], ht, 1, cap).bytes;
    ctx.dispatch('topk_hist', { WG, ITEMS: HIST_ITEMS }, [cv.binding, st, hist], params, hg);
    ctx.dispatch('topk_pick', { WG }, [hist, st], new Params().u32(shift!, bits!, pass === 0 ? 1 : 0, k).bytes, [1]);
  });
  // 6. Emit: per-tile counts over the segments, scans, writes.
  const cb = head(counts, countBytes);
  const sb = head(seg, segBytes);
  const sg = ctx.grid(Math.ceil(tiles / SEG_WG));
  const outWins = windows(ctx, out.buffer, outFirst, k, 1);
  const segParams = (o: { first: number; count: number; shift: number }) =>
    new Params().u32(tiles, sg[0], o.first - outFirst, o.count, o.shift).bytes;
  ctx.dispatch('topk_seg', { WG: SEG_WG, MODE: 0 }, [cv.binding, ci.binding, sb, st, cb, outWins[0]!.binding], segParams(outWins[0]!), sg);
  ctx.dispatch('scan_u32', { WG }, [cb], new Params().u32(tiles, 0).bytes, [1]);
  ctx.dispatch('scan_u32', { WG }, [cb], new Params().u32(tiles, tiles + 1).bytes, [1]);
  for (const o of outWins) {
    ctx.dispatch('topk_seg', { WG: SEG_WG, MODE: 1 }, [cv.binding, ci.binding, sb, st, cb, o.binding], segParams(o), sg);
  }
  SAMPLED.probe?.(ctx, st);
  for (const b of [st, smp, candVal, candIdx, seg, counts, hist]) ctx.release(b);
}
