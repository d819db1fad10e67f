// spmmT grouping, step 3: makes each column's segment ascending by entry id (= by row, since idx ascends),
// so the sums in spmm_t run in a fixed order. Entry ids are distinct, so an entry's rank in its segment is
// the number of smaller ids there: O(len^2) per column in all, cheap for SAE selections (a few entries per
// latent on average; a latent firing on all B rows costs B^2 compares).
// Bindings: 0 idx (i32), 1 start (u32, M+1 column starts), 2 placed (u32), 3 sorted (u32, read_write), 4 Params.
override WG: u32 = 64;

struct Params {
  nnz: u32,
  m: u32,
  nx: u32,
  _a: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read> start: array<u32>;
@group(0) @binding(2) var<storage, read> placed: array<u32>;
@group(0) @binding(3) var<storage, read_write> sorted: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let q = (wg.x + wg.y * p.nx) * WG + lid;
  if (q >= p.nnz) { return; }
  let e = placed[q];
  let c = u32(idx[e]) % p.m;
  let s = start[c];
  let t = start[c + 1u];
  var rank = 0u;
  for (var j = s; j < t; j++) { rank += select(0u, 1u, placed[j] < e); }
  sorted[s + rank] = e;
}
