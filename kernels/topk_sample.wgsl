// BatchTopK sampled bracket, step 1: the order keys of 2^sBits stratified samples of a range (positions from
// lib/sample_pos.wgsl), for topk_bracket. The range may span several windows of x: each window's dispatch
// writes the samples whose positions it holds.
// Bindings: 0 x window (f32, read), 1 samples (u32, 2^sBits), 2 Params.
override WG: u32 = 128;

struct Params {
  n: u32,       // elements in the whole range
  sBits: u32,
  winFirst: u32, // range position of the window's first element
  winCount: u32,
  xShift: u32,
  nx: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> samples: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

//#include "lib/topk_key.wgsl"
//#include "lib/sample_pos.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = (wg.x + wg.y * p.nx) * WG + lid;
  if (j >= (1u << p.sBits)) { return; }
  let at = samplePos(j, p.n, p.sBits, 0u);
  if (at < p.winFirst || at >= p.winFirst + p.winCount) { return; }
  samples[j] = key(x[p.xShift + at - p.winFirst]);
}
