// BatchTopK emit, count step: for each tile of WG*ITEMS elements of one window, the number of keys
// strictly above the cut key T and equal to T (state = [T, r] from topk_pick). counts holds two arrays of
// tiles+1 u32: gt at [0, tiles], eq at [tiles+1, 2*tiles+1]; scan_u32 turns them into per-tile offsets.
// Bindings: 0 x window (f32, read), 1 state (read), 2 counts (u32, read_write), 3 Params.
override WG: u32 = 128;
override ITEMS: u32 = 32;

struct Params {
  n: u32,
  xShift: u32,
  tileBase: u32, // global index of this window's first tile
  tiles: u32,    // tiles in this window
  total: u32,    // tiles in the whole range (length of each counts array minus one)
  nx: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> acc: atomic<u32>;

fn key(v: f32) -> u32 {
  var b = bitcast<u32>(v);
  if (b == 0x80000000u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * p.nx;
  let cut = state[0];
  if (tile < p.tiles) {
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
    if (gt + eq != 0u) { atomicAdd(&acc, (gt << 16u) | eq); }
  }
  workgroupBarrier();
  if (lid == 0u && tile < p.tiles) {
    let v = atomicLoad(&acc);
    counts[p.tileBase + tile] = v >> 16u;
    counts[p.total + 1u + p.tileBase + tile] = v & 0xffffu;
  }
}
