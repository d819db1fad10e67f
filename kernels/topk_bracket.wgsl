// BatchTopK sampled bracket, step 2 (one workgroup): the key of rank `rank` (0 = largest) among the samples,
// by a radix select in workgroup memory (digits of 11, 11 and 10 bits). It becomes the bracket's bottom lo:
// topk_sieve keeps every entry with key >= lo. Also resets the sieve's counter and the skip flag.
// State (u32): [0] cut key T, [1] ties kept r (topk_pick), [2] candidates found (topk_sieve), [3] skip flag
// (1: the sampled path missed; its later kernels return at once), [4] lo.
// Bindings: 0 samples (u32, read), 1 state (u32), 2 Params.
override WG: u32 = 128;

struct Params {
  count: u32, // samples
  rank: u32,  // 0-based rank from the top
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<storage, read> samples: array<u32>;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> hist: array<atomic<u32>, 2048>;
var<workgroup> cut: vec2<u32>;

//#include "lib/scan.wgsl"
//#include "lib/radix_digit.wgsl"

fn histAt(b: u32) -> u32 { return atomicLoad(&hist[b]); }

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var prefix = 0u;
  var kRem = p.rank + 1u;
  for (var ps = 0u; ps < 3u; ps++) {
    let shift = select(select(0u, 10u, ps == 1u), 21u, ps == 0u);
    let bits = select(11u, 10u, ps == 2u);
    let mask = select(~((1u << (shift + bits)) - 1u), 0u, ps == 0u);
    let bins = 1u << bits;
    for (var b = lid; b < bins; b += WG) { atomicStore(&hist[b], 0u); }
    workgroupBarrier();
    for (var i = lid; i < p.count; i += WG) {
      let k = samples[i];
      if ((k & mask) == prefix) { atomicAdd(&hist[(k >> shift) & (bins - 1u)], 1u); }
    }
    workgroupBarrier();
    let d = pickDigit(lid, bins, kRem);
    if (d.x == 1u) { cut = vec2<u32>(prefix | (d.y << shift), d.z); }
    let pick = workgroupUniformLoad(&cut);
    prefix = pick.x;
    kRem = pick.y;
  }
  if (lid == 0u) {
    state[2] = 0u;
    state[3] = 0u;
    state[4] = prefix;
  }
}
