// BatchTopK emit, count step: for each tile of WG*ITEMS elements of one window, every invocation counts the
// keys strictly above the cut key T and equal to T in its chunk of ITEMS consecutive elements
// (state = [T, r] from topk_pick); a workgroup scan gives each chunk its counts before it in the tile.
// thr receives per chunk [counts before it in the tile, its own counts], both packed as gt << 16 | eq;
// counts receives per tile two arrays of tiles+1 u32, gt at [0, tiles] and eq at [tiles+1, 2*tiles+1],
// which scan_u32 turns into per-tile offsets for topk_emit.
// Bindings: 0 x window (f32, read), 1 state (read; state[3] = 1: settled elsewhere, return at once), 2 counts (u32), 3 thr window (u32), 4 Params.
override WG: u32 = 128;
override ITEMS: u32 = 32;

struct Params {
  n: u32,
  xShift: u32,
  tileBase: u32, // global index of this window's first tile
  tiles: u32,    // tiles in this window
  total: u32,    // tiles in the whole range (length of each counts array minus one)
  nx: u32,
  thrShift: u32, // index in `thr` of this window's first chunk entry
  _a: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;
@group(0) @binding(3) var<storage, read_write> thr: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;

//#include "lib/topk_key.wgsl"

//#include "lib/scan.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * p.nx;
  if (tile >= p.tiles || state[3] != 0u) { return; }
  let cut = state[0];
  let b = tile * WG * ITEMS + lid * ITEMS;
  let e = min(b + ITEMS, p.n);
  var gt = 0u;
  var eq = 0u;
  for (var i = b; i < e; i++) {
    let k = key(x[p.xShift + i]);
    gt += select(0u, 1u, k > cut);
    eq += select(0u, 1u, k == cut);
  }
  // A tile has fewer than 65536 elements, so both counts fit in 16 bits.
  let mine = (gt << 16u) | eq;
  let incl = scanIncl(lid, mine);
  let t = p.thrShift + (tile * WG + lid) * 2u;
  thr[t] = incl - mine;
  thr[t + 1u] = mine;
  if (lid == WG - 1u) {
    counts[p.tileBase + tile] = incl >> 16u;
    counts[p.total + 1u + p.tileBase + tile] = incl & 0xffffu;
  }
}
