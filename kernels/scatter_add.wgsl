// scatter_add: last step of the deterministic scatterAdd. keys (sorted by destination, then entry) and
// sorted values form runs of equal destination; the first invocation of each run whose destination lies in
// out's window [lo, hi) adds the run's values in entry order onto the current out value:
// out[d] = ((out[d] + src[i0]) + src[i1]) + ..., the same f32 additions, in the same order, as the CPU
// reference, so the result is bit-identical to it (up to subnormal flushing) and to every other run.
// Bindings: 0 keys (read, vec2<u32>), 1 sorted (read), 2 out (read_write), 3 Params.
// Matches CpuBackend.scatterAdd (cpu/sparse.ts scatterAddF32).
override WG: u32 = 128;

struct Params {
  n: u32,       // entries
  lo: u32,      // out window [lo, hi)
  hi: u32,
  oOrigin: u32, // tensor index of out[0]
}

@group(0) @binding(0) var<storage, read> keys: array<vec2u>;
@group(0) @binding(1) var<storage, read> sorted: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let p = (wg.x + wg.y * nwg.x) * WG + li;
  if (p >= params.n) {
    return;
  }
  let d = keys[p].x;
  if (d < params.lo || d >= params.hi) {
    return;
  }
  if (p > 0u && keys[p - 1u].x == d) {
    return;
  }
  var acc = out[d - params.oOrigin];
  var q = p;
  while (q < params.n && keys[q].x == d) {
    acc = acc + sorted[q];
    q++;
  }
  out[d - params.oOrigin] = acc;
}
