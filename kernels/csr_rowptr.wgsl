// Row pointers of a selection: rowPtr[b] = first entry i with idx[i] >= b*m, for b in [0, batch], by binary
// search (idx is strictly ascending, as topk makes it), so row b's entries are [rowPtr[b], rowPtr[b+1]).
// Bindings: 0 idx (i32, read), 1 rowPtr (u32, batch+1, read_write), 2 Params.
override WG: u32 = 64;

struct Params {
  nnz: u32,
  m: u32,
  batch: u32,
  nx: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> rowPtr: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = (wg.x + wg.y * p.nx) * WG + lid;
  if (b > p.batch) { return; }
  let goal = b * p.m;
  var lo = 0u;
  var hi = p.nnz;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (u32(idx[mid]) < goal) { lo = mid + 1u; } else { hi = mid; }
  }
  rowPtr[b] = lo;
}
