// BatchTopK sampled bracket, step 3: the one pass over the range. Every entry with key >= lo (state[4], the
// bracket's bottom from topk_bracket) is appended, value and flat index, to the candidate buffers, in
// per-tile segments: seg[2t], seg[2t+1] = tile t's segment start and length, reserved with one atomicAdd on
// state[2]. Segments land in any order; within a segment the entries ascend by index (topk_seg relies on it).
// Nothing is written past `cap` (state[2] then exceeds it and topk_check sends the select to the fallback).
// A workgroup handles a tile of WG*ITEMS entries. It reads them coalesced (invocation lid takes entries
// lid, lid + WG, ...) and appends the few that pass to a workgroup list in arrival order; then each listed
// entry's place in the segment is its rank by index within the list (a count over the list: the list holds
// ~0.2% of the tile, so this is cheap, and needs no scan per round of loads). A tile with more than LCAP
// passing entries (skewed data) takes the ordered path instead: each invocation re-reads a contiguous chunk,
// and a workgroup scan of the chunk counts places them.
// Bindings: 0 x window (f32, read), 1 state (atomic u32), 2 cand values (f32), 3 cand indices (u32),
// 4 seg (u32, 2 per tile), 5 Params.
override WG: u32 = 128;
override ITEMS: u32 = 128;
const LCAP: u32 = 1024u;

struct Params {
  n: u32,        // entries in this window
  xShift: u32,
  tileBase: u32, // range tile number of this window's first tile
  tiles: u32,
  nx: u32,
  cap: u32,
  elemBase: u32, // flat index of the window's first entry
  _a: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> candVal: array<f32>;
@group(0) @binding(3) var<storage, read_write> candIdx: array<u32>;
@group(0) @binding(4) var<storage, read_write> seg: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> listVal: array<f32, LCAP>;
var<workgroup> listIdx: array<u32, LCAP>;
var<workgroup> listLen: atomic<u32>;
var<workgroup> found: u32;
var<workgroup> segBase: u32;

//#include "lib/topk_key.wgsl"
//#include "lib/scan.wgsl"

// Reserve the tile's segment (one invocation) and record it; returns its start to every invocation.
fn reserve(lid: u32, tile: u32, total: u32) -> u32 {
  if (lid == 0u) {
    var at = 0u;
    if (total != 0u) { at = atomicAdd(&state[2], total); }
    segBase = at;
    let t = 2u * (p.tileBase + tile);
    seg[t] = at;
    seg[t + 1u] = total;
  }
  return workgroupUniformLoad(&segBase);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * p.nx;
  if (tile >= p.tiles) { return; }
  let lo = atomicLoad(&state[4]);
  if (lid == 0u) { atomicStore(&listLen, 0u); }
  workgroupBarrier();
  let t0 = tile * WG * ITEMS;
  let end = min(t0 + WG * ITEMS, p.n);
  for (var i = t0 + lid; i < end; i += WG) {
    let v = x[p.xShift + i];
    if (key(v) >= lo) {
      let s = atomicAdd(&listLen, 1u);
      if (s < LCAP) {
        listVal[s] = v;
        listIdx[s] = i;
      }
    }
  }
  workgroupBarrier();
  if (lid == 0u) { found = atomicLoad(&listLen); }
  let total = workgroupUniformLoad(&found);

  if (total <= LCAP) {
    let base = reserve(lid, tile, total);
    if (base + total > p.cap) { return; }
    for (var s = lid; s < total; s += WG) {
      let mine = listIdx[s];
      var place = 0u;
      for (var t = 0u; t < total; t++) { place += select(0u, 1u, listIdx[t] < mine); }
      candVal[base + place] = listVal[s];
      candIdx[base + place] = p.elemBase + mine;
    }
    return;
  }

  // Ordered path: ITEMS consecutive entries per invocation, places from a workgroup scan of the counts.
  let b = t0 + lid * ITEMS;
  let e = min(b + ITEMS, end);
  var mine = 0u;
  for (var i = b; i < e; i++) { mine += select(0u, 1u, key(x[p.xShift + i]) >= lo); }
  let excl = scanIncl(lid, mine) - mine;
  let base = reserve(lid, tile, total);
  if (mine == 0u || base + total > p.cap) { return; }
  var j = base + excl;
  for (var i = b; i < e; i++) {
    let v = x[p.xShift + i];
    if (key(v) >= lo) {
      candVal[j] = v;
      candIdx[j] = p.elemBase + i;
      j++;
    }
  }
}
