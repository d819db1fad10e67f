// row_norm: RMSNorm (KIND 0) or LayerNorm (KIND 1) of the rows of one window, one workgroup per row.
// Statistics: each invocation sums a strided slice in f32, then a tree reduction in workgroup memory (written
// out in main: a helper function holding the barriers miscompiled on llvmpipe's GL path); the
// LayerNorm variance is a second pass around the mean (no E[x^2] - E[x]^2 cancellation).
// Bindings: 0 x, 1 w [cols], 2 b [cols] (LayerNorm; any buffer for RMSNorm), 3 out, 4 Params.
// Matches ModelOps.norm (cpu/model.ts normF32).
override WG: u32 = 64;
override KIND: u32 = 0;

struct Params {
  rows: u32,    // rows in this window
  cols: u32,
  r0: u32,      // first row of the window
  xOrigin: u32, // tensor index of x[0]
  oOrigin: u32, // tensor index of out[0]
  eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= params.rows) { return; }   // uniform per workgroup
  let cols = params.cols;
  let row = (params.r0 + r) * cols;
  let xs = row - params.xOrigin;
  let os = row - params.oOrigin;
  var mean = 0.0;
  if (KIND == 1u) {
    var s = 0.0;
    for (var c = li; c < cols; c += WG) { s += x[xs + c]; }
    part[li] = s;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
      if (li < h) { part[li] += part[li + h]; }
      workgroupBarrier();
    }
    mean = part[0] / f32(cols);
    workgroupBarrier();
  }
  var ss = 0.0;
  for (var c = li; c < cols; c += WG) {
    let d = x[xs + c] - mean;
    ss += d * d;
  }
  part[li] = ss;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (li < h) { part[li] += part[li + h]; }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(part[0] / f32(cols) + params.eps);
  for (var c = li; c < cols; c += WG) {
    var y = (x[xs + c] - mean) * inv * w[c];
    if (KIND == 1u) { y += b[c]; }
    out[os + c] = y;
  }
}
