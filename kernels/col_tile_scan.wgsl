// spmmT grouping, step 2: for every column c, an exclusive prefix over the tiles in place,
// count[t * M + c] = entries of column c in tiles before t, and total[c] = the column's length (scan_u32
// then turns total into column starts). One invocation per column; neighbours read neighbouring words.
// Bindings: 0 count (u32, tiles * M, read_write), 1 total (u32, M + 1), 2 Params.
override WG: u32 = 64;

struct Params {
  m: u32,
  tiles: u32,
  nx: u32,
  _a: u32,
}

@group(0) @binding(0) var<storage, read_write> count: array<u32>;
@group(0) @binding(1) var<storage, read_write> total: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = (wg.x + wg.y * p.nx) * WG + lid;
  if (c >= p.m) { return; }
  var run = 0u;
  for (var t = 0u; t < p.tiles; t++) {
    let o = t * p.m + c;
    let v = count[o];
    count[o] = run;
    run += v;
  }
  total[c] = run;
}
