// sort_pairs: one compare-exchange step (stage k, distance j) of a bitonic sort of (key, tag) u32 pairs in
// ascending (key, tag) order over a power-of-two length 2 * half. The tags are distinct, so the order is
// total and the result is the same on every run. Used by scatterAdd to group entries by destination.
// Returns at once when unsorted[0] = 0 (scatter_keys found the pairs already in order).
// Bindings: 0 unsorted (read, u32), 1 keys (read_write, vec2<u32>), 2 Params.
override WG: u32 = 128;
override PAIRS: u32 = 8; // compare-exchanges per invocation (fewer workgroups: launches cost on CPU adapters)

struct Params {
  half: u32, // number of pairs compared = length / 2
  k: u32,    // bitonic stage (block size being merged)
  j: u32,    // compare distance
}

@group(0) @binding(0) var<storage, read> unsorted: array<u32>;
@group(0) @binding(1) var<storage, read_write> keys: array<vec2u>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  if (unsorted[0] == 0u) {
    return;
  }
  let j = params.j;
  let first = (wg.x + wg.y * nwg.x) * WG * PAIRS + li;
  for (var q = 0u; q < PAIRS; q++) {
    let t = first + q * WG;
    if (t >= params.half) {
      return;
    }
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
}
