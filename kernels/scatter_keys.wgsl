// scatter_keys: first step of the deterministic scatterAdd. keys[i] = (idx[i] as u32, i) for entries
// i in [start, start + n); the host pads keys [L, L') with (0xffffffff, 0xffffffff) so that the bitonic
// sort (sort_pairs) can run over a power of two. Negative indices become huge keys and are never applied.
// Also sets unsorted[0] = 1 when some idx[i] >= idx[i+1]: strictly ascending indices (a top-k selection,
// the common case) are already in order, and the sort kernels then return at once.
// Bindings: 0 idx (read, i32; the window includes entry start + n when it exists), 1 keys (read_write,
// vec2<u32>), 2 unsorted (read_write, atomic u32), 3 Params. Part of CpuBackend.scatterAdd.
override WG: u32 = 128;

struct Params {
  n: u32,         // entries in this window
  start: u32,     // first entry
  idxOrigin: u32, // entry index of idx[0]
  total: u32,     // entries in all
}

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> keys: array<vec2u>;
@group(0) @binding(2) var<storage, read_write> unsorted: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * WG + li;
  if (i < params.n) {
    let e = params.start + i;
    let d = u32(idx[e - params.idxOrigin]);
    keys[e] = vec2u(d, e);
    if (e + 1u < params.total && d >= u32(idx[e + 1u - params.idxOrigin])) {
      atomicOr(&unsorted[0], 1u);
    }
  }
}
