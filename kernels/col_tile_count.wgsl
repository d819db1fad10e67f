// spmmT grouping, step 1: counts the entries of every (tile, column) pair, tile = T consecutive entries:
// count[tile * M + c] += 1 for c = idx[i] mod m (u32 atomics; integer counts do not depend on their order).
// The table is cleared by the host first. col_tile_scan then turns it into per-tile offsets within columns.
// Bindings: 0 idx (i32, read), 1 count (atomic u32, tiles * M), 2 Params.
override WG: u32 = 64;

struct Params {
  nnz: u32,
  m: u32,
  nx: u32,
  tile: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> count: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * p.nx) * WG + lid;
  if (i >= p.nnz) { return; }
  atomicAdd(&count[(i / p.tile) * p.m + u32(idx[i]) % p.m], 1u);
}
