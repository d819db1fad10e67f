// BatchTopK emit, write step: writes the flat indices of the selected elements of one window in ascending
// order. An element is selected when its key is above the cut T, or equal to T and among the first r such
// elements by index (state = [T, r]). Its output slot is gtBefore + min(eqBefore, r), where the counts
// before it are the scanned per-tile counts plus the per-chunk counts from topk_count. Each invocation
// handles one chunk on its own (no barriers); chunks with nothing to write return without reading x.
// Bindings: 0 x window (f32, read), 1 state (read), 2 scanned counts (read), 3 thr window (read),
// 4 out window (i32), 5 Params.
override WG: u32 = 128;
override ITEMS: u32 = 32;

struct Params {
  n: u32,
  xShift: u32,
  tileBase: u32,
  tiles: u32,
  total: u32,
  nx: u32,
  thrShift: u32,
  elemBase: u32, // flat index of the window's first element
  outBase: u32,  // output slot (relative to the range's first) held at out[outShift]
  outLen: u32,   // output slots in this binding
  outShift: u32,
  _a: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> counts: array<u32>;
@group(0) @binding(3) var<storage, read> thr: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<i32>;
@group(0) @binding(5) var<uniform> p: Params;

//#include "lib/topk_key.wgsl"

fn put(slot: u32, idx: u32) {
  if (slot >= p.outBase && slot < p.outBase + p.outLen) {
    out[p.outShift + slot - p.outBase] = i32(idx);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * p.nx;
  if (tile >= p.tiles || state[3] != 0u) { return; }
  let cut = state[0];
  let r = state[1];
  let t = p.thrShift + (tile * WG + lid) * 2u;
  let mine = thr[t + 1u];
  let excl = thr[t];
  var gtBefore = counts[p.tileBase + tile] + (excl >> 16u);
  var eqBefore = counts[p.total + 1u + p.tileBase + tile] + (excl & 0xffffu);
  // Nothing above the cut here, and the ties here come after the r that are kept.
  if ((mine >> 16u) == 0u && ((mine & 0xffffu) == 0u || eqBefore >= r)) { return; }
  let b = tile * WG * ITEMS + lid * ITEMS;
  let e = min(b + ITEMS, p.n);
  for (var i = b; i < e; i++) {
    let k = key(x[p.xShift + i]);
    if (k > cut) {
      put(gtBefore + min(eqBefore, r), p.elemBase + i);
      gtBefore++;
    } else if (k == cut) {
      if (eqBefore < r) { put(gtBefore + eqBefore, p.elemBase + i); }
      eqBefore++;
    }
  }
}
