// spmmT grouping, step 3: a stable counting sort of the entry ids by column. One invocation per tile walks
// its entries in order and puts each at start[c] + (entries of c in earlier tiles) + (entries of c seen so
// far in this tile), so every column's segment lists its entries in ascending entry id (= ascending row,
// since idx ascends) with no atomics: the same order on every run, whatever the column lengths. The cost is
// O(nnz) in all and O(tile) per invocation, where a rank pass over unordered segments costs O(len^2) per
// column (16.7M compares for a latent firing in all 4096 rows).
// Bindings: 0 idx (i32, read), 1 start (u32, M + 1), 2 count (u32, tiles * M, read_write; per-tile offsets
// from col_tile_scan, advanced here), 3 sorted (u32, nnz, read_write), 4 Params.
override WG: u32 = 16;

struct Params {
  nnz: u32,
  m: u32,
  nx: u32,
  tile: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read> start: array<u32>;
@group(0) @binding(2) var<storage, read_write> count: array<u32>;
@group(0) @binding(3) var<storage, read_write> sorted: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wg.x + wg.y * p.nx) * WG + lid;
  let first = t * p.tile;
  if (first >= p.nnz) { return; }
  let last = min(first + p.tile, p.nnz);
  for (var i = first; i < last; i++) {
    let c = u32(idx[i]) % p.m;
    let o = t * p.m + c;
    let k = count[o];
    count[o] = k + 1u;
    sorted[start[c] + k] = i;
  }
}
