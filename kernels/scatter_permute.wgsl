// scatter_permute: sorted[p] = src[keys[p].y] for p < n whose source entry lies in src's window [lo, hi):
// the values of scatterAdd in destination order. One dispatch per src window.
// Bindings: 0 keys (read, vec2<u32>), 1 src (read), 2 sorted (read_write), 3 Params.
override WG: u32 = 128;

struct Params {
  n: u32,
  lo: u32,
  hi: u32,
  srcOrigin: u32,
}

@group(0) @binding(0) var<storage, read> keys: array<vec2u>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> sorted: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let p = (wg.x + wg.y * nwg.x) * WG + li;
  if (p < params.n) {
    let e = keys[p].y;
    if (e >= params.lo && e < params.hi) {
      sorted[p] = src[e - params.srcOrigin];
    }
  }
}
