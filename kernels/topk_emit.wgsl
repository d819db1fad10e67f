// BatchTopK emit, write step: writes the flat indices of the selected elements of one window in ascending
// order. An element is selected when its key is above the cut T, or equal to T and among the first r such
// elements by index. Its output slot is gtBefore + min(eqBefore, r), where the counts before it come from
// the scanned per-tile counts (topk_count + scan_u32) plus a workgroup scan over the invocations' chunks.
// Bindings: 0 x window (f32, read), 1 state [T, r] (read), 2 scanned counts (read), 3 out window (i32), 4 Params.
override WG: u32 = 128;
override ITEMS: u32 = 32;

struct Params {
  n: u32,
  xShift: u32,
  tileBase: u32,
  tiles: u32,
  total: u32,
  nx: u32,
  elemBase: u32, // flat index of the window's first element
  outBase: u32,  // output slot (relative to the range's first) held at out[outShift]
  outLen: u32,   // output slots in this binding
  outShift: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> counts: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> sums: array<u32, WG>;

fn key(v: f32) -> u32 {
  var b = bitcast<u32>(v);
  if (b == 0x80000000u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn scanIncl(lid: u32, v: u32) -> u32 {
  sums[lid] = v;
  workgroupBarrier();
  for (var off = 1u; off < WG; off <<= 1u) {
    // An if, not select(): llvmpipe (Mesa 22.3) returned stale values for a select() over this load.
    var t = 0u;
    if (lid >= off) { t = sums[lid - off]; }
    workgroupBarrier();
    sums[lid] += t;
    workgroupBarrier();
  }
  return sums[lid];
}

fn put(slot: u32, idx: u32) {
  if (slot >= p.outBase && slot < p.outBase + p.outLen) {
    out[p.outShift + slot - p.outBase] = i32(idx);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * p.nx;
  if (tile >= p.tiles) { return; }
  let cut = state[0];
  let r = state[1];
  let b = tile * WG * ITEMS + lid * ITEMS;
  let e = min(b + ITEMS, p.n);
  var gt = 0u;
  var eq = 0u;
  for (var i = b; i < e; i++) {
    let k = key(x[p.xShift + i]);
    gt += select(0u, 1u, k > cut);
    eq += select(0u, 1u, k == cut);
  }
  let mine = (gt << 16u) | eq;
  let excl = scanIncl(lid, mine) - mine;
  if (gt + eq == 0u) { return; }
  var gtBefore = counts[p.tileBase + tile] + (excl >> 16u);
  var eqBefore = counts[p.total + 1u + p.tileBase + tile] + (excl & 0xffffu);
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
