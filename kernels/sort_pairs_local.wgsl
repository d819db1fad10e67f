// sort_pairs_local: the bitonic steps of stages k in [kFirst, kLast] (powers of two) whose compare distance j
// is below the block size, for blocks of `block` (a power of two <= 1024) consecutive (key, tag) pairs held in
// workgroup memory: one dispatch replaces log2(block) global steps per stage (see sort_pairs.wgsl, which
// runs the steps with j >= block). The direction of each compare follows the pair's global index, so the
// result equals the all-global sort. Used by scatterAdd.
// Returns at once when unsorted[0] = 0 (scatter_keys found the pairs already in order).
// Bindings: 0 unsorted (read, u32), 1 keys (read_write, vec2<u32>), 2 Params.
override WG: u32 = 128;

struct Params {
  block: u32,  // pairs per workgroup (power of two, <= 1024, <= total length)
  kFirst: u32,
  kLast: u32,
}

@group(0) @binding(0) var<storage, read> unsorted: array<u32>;
@group(0) @binding(1) var<storage, read_write> keys: array<vec2u>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> sh: array<vec2u, 1024>;
var<workgroup> work: u32;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  if (li == 0u) {
    work = unsorted[0];
  }
  if (workgroupUniformLoad(&work) == 0u) {
    return;
  }
  let block = params.block;
  let base = (wg.x + wg.y * nwg.x) * block;
  for (var e = li; e < block; e += WG) {
    sh[e] = keys[base + e];
  }
  workgroupBarrier();
  let half = block / 2u;
  for (var k = params.kFirst; k <= params.kLast; k *= 2u) {
    for (var j = min(k / 2u, half); j >= 1u; j /= 2u) {
      for (var t = li; t < half; t += WG) {
        let i = (t / j) * 2u * j + (t % j);
        let l = i + j;
        let a = sh[i];
        let b = sh[l];
        let ascending = ((base + i) & k) == 0u;
        let greater = a.x > b.x || (a.x == b.x && a.y > b.y);
        if (greater == ascending) {
          sh[i] = b;
          sh[l] = a;
        }
      }
      workgroupBarrier();
    }
  }
  for (var e = li; e < block; e += WG) {
    keys[base + e] = sh[e];
  }
}
