// BatchTopK sampled bracket, step 6: the emit over the candidates, tile segment by tile segment (topk_sieve),
// one invocation per tile. With the cut T and the ties to keep r (state[0], state[1], from topk_hist and
// topk_pick over the candidates), an entry is selected when its key is above T, or equal to T and among the
// first r such entries by index. MODE 0 counts, per tile, the entries above T and equal to T (counts[t] and
// counts[total + 1 + t], which scan_u32 turns into the counts before each tile); MODE 1 writes the selected
// flat indices to their slots, gtBefore + min(eqBefore, r), as topk_emit does. Segments are in index order
// within a tile and tiles are numbered in index order, so the output ascends. Returns at once when the
// sampled path missed (state[3] = 1).
// Bindings: 0 cand values (f32, read), 1 cand indices (u32, read), 2 seg (u32, read), 3 state (u32, read),
// 4 counts (u32), 5 out window (i32), 6 Params.
override WG: u32 = 64;
override MODE: u32 = 0;

struct Params {
  tiles: u32,
  nx: u32,
  outBase: u32, // output slot (relative to the range's first) held at out[outShift]
  outLen: u32,
  outShift: u32,
  _a: u32,
  _b: u32,
  _c: u32,
}

@group(0) @binding(0) var<storage, read> candVal: array<f32>;
@group(0) @binding(1) var<storage, read> candIdx: array<u32>;
@group(0) @binding(2) var<storage, read> seg: array<u32>;
@group(0) @binding(3) var<storage, read> state: array<u32>;
@group(0) @binding(4) var<storage, read_write> counts: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<i32>;
@group(0) @binding(6) var<uniform> p: Params;

//#include "lib/topk_key.wgsl"

fn put(slot: u32, idx: u32) {
  if (slot >= p.outBase && slot < p.outBase + p.outLen) {
    out[p.outShift + slot - p.outBase] = i32(idx);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wg.x + wg.y * p.nx) * WG + lid;
  if (t >= p.tiles || state[3] != 0u) { return; }
  let cut = state[0];
  let r = state[1];
  let s0 = seg[2u * t];
  let s1 = s0 + seg[2u * t + 1u];
  if (MODE == 0u) {
    var gt = 0u;
    var eq = 0u;
    for (var j = s0; j < s1; j++) {
      let k = key(candVal[j]);
      gt += select(0u, 1u, k > cut);
      eq += select(0u, 1u, k == cut);
    }
    counts[t] = gt;
    counts[p.tiles + 1u + t] = eq;
    return;
  }
  var gtBefore = counts[t];
  var eqBefore = counts[p.tiles + 1u + t];
  for (var j = s0; j < s1; j++) {
    let k = key(candVal[j]);
    if (k > cut) {
      put(gtBefore + min(eqBefore, r), candIdx[j]);
      gtBefore++;
    } else if (k == cut) {
      if (eqBefore < r) { put(gtBefore + eqBefore, candIdx[j]); }
      eqBefore++;
    }
  }
}
