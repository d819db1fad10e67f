// sort_pairs: one compare-exchange step (stage k, distance j) of a bitonic sort of (key, tag) u32 pairs in
// ascending (key, tag) order over a power-of-two length 2 * half. The tags are distinct, so the order is
// total and the result is the same on every run. Used by scatterAdd to group entries by destination.
// Bindings: 0 keys (read_write, vec2<u32>), 1 Params.
override WG: u32 = 128;

struct Params {
  half: u32, // number of pairs compared = length / 2
  k: u32,    // bitonic stage (block size being merged)
  j: u32,    // compare distance
}

@group(0) @binding(0) var<storage, read_write> keys: array<vec2u>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let t = (wg.x + wg.y * nwg.x) * WG + li;
  if (t >= params.half) {
    return;
  }
  let j = params.j;
  let i = (t / j) * 2u * j + (t % j);
  let l = i + j;
  let a = keys[i];
  let b = keys[l];
  let ascending = (i & params.k) == 0u;
  let greater = a.x > b.x || (a.x == b.x && a.y > b.y);
  if (greater == ascending) {
    keys[i] = b;
    keys[l] = a;
  }
}
