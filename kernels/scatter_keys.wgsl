// scatter_keys: first step of the deterministic scatterAdd. keys[i] = (idx[i] as u32, i) for entries
// i in [start, start + n); the host pads keys [L, L') with (0xffffffff, 0xffffffff) so that the bitonic
// sort (sort_pairs) can run over a power of two. Negative indices become huge keys and are never applied.
// Bindings: 0 idx (read, i32), 1 keys (read_write, vec2<u32>), 2 Params. Part of CpuBackend.scatterAdd.
override WG: u32 = 128;

struct Params {
  n: u32,
  start: u32,
  idxOrigin: u32,
}

@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> keys: array<vec2u>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * WG + li;
  if (i < params.n) {
    let e = params.start + i;
    keys[e] = vec2u(u32(idx[e - params.idxOrigin]), e);
  }
}
