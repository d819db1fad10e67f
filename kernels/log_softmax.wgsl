// log_softmax: out[r, c] = x[r, c] - max_r - log(sum_c exp(x[r, c] - max_r)), one workgroup per row of one
// window, max and sum reduced in workgroup memory. Bindings: 0 x, 1 out, 2 Params.
// Matches ModelOps.logSoftmax (cpu/model.ts logSoftmaxF32).
override WG: u32 = 128;

struct Params {
  rows: u32,
  cols: u32,
  r0: u32,
  xOrigin: u32,
  oOrigin: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= params.rows) { return; }
  let cols = params.cols;
  let row = (params.r0 + r) * cols;
  let xs = row - params.xOrigin;
  let os = row - params.oOrigin;
  var m = -3.4028234663852886e38;
  for (var c = li; c < cols; c += WG) { m = max(m, x[xs + c]); }
  part[li] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { part[li] = max(part[li], part[li + s]); }
    workgroupBarrier();
  }
  let mx = part[0];
  workgroupBarrier();
  var z = 0.0;
  for (var c = li; c < cols; c += WG) { z += exp(x[xs + c] - mx); }
  part[li] = z;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { part[li] += part[li + s]; }
    workgroupBarrier();
  }
  let lz = mx + log(part[0]);
  for (var c = li; c < cols; c += WG) { out[os + c] = x[xs + c] - lz; }
}
