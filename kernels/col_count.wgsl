// spmmT grouping, step 1: count[c] += 1 for the column c_i = idx[i] mod m of every entry (u32 atomics;
// count is cleared by the host first). scan_u32 then turns count into column starts.
// Bindings: 0 idx (i32, read), 1 count (atomic u32, M+1), 2 Params.
override WG: u32 = 64;

struct Params {
  nnz: u32,
  m: u32,
  nx: u32,
  _a: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> count: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * p.nx) * WG + lid;
  if (i >= p.nnz) { return; }
  atomicAdd(&count[u32(idx[i]) % p.m], 1u);
}
