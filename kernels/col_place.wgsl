// spmmT grouping, step 2: puts every entry id into its column's segment. cursor starts as a copy of the
// column starts; the order inside a segment depends on atomic timing and is fixed by col_rank next.
// Bindings: 0 idx (i32, read), 1 cursor (atomic u32, read_write), 2 placed (u32, nnz), 3 Params.
override WG: u32 = 64;

struct Params {
  nnz: u32,
  m: u32,
  nx: u32,
  _a: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> cursor: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> placed: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * p.nx) * WG + lid;
  if (i >= p.nnz) { return; }
  placed[atomicAdd(&cursor[u32(idx[i]) % p.m], 1u)] = i;
}
