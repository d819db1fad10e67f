// reduce_rows: one pass of a row reduction. Input viewed as [R, C] (row-major), output [R, nb] with
// nb = ceil(C / (WG * per)): workgroup g (global index g0 + local) reduces block b = g mod nb of row
// r = g div nb, i.e. columns [b*WG*per, (b+1)*WG*per). Each invocation folds its `per` elements (a multiple
// of 4; adjacent invocations read adjacent columns) into four interleaved in-order partials, combines them
// pairwise, then the workgroup combines the WG results as a balanced tree, so a sum's rounding error grows
// like (per/4 + 2 + log2 WG) per pass rather than with C. The host repeats passes until nb = 1.
// Bindings: 0 x (read), 1 out (read_write), 2 Params. Matches CpuBackend.reduce(op, out, x, R, C, 1).
// OP: 0 sum, 1 max, 2 min. WG must be a power of two.
override WG: u32 = 128;
override OP: u32 = 0;

struct Params {
  groups: u32,  // workgroups in this dispatch
  g0: u32,      // global index of the first
  cols: u32,    // C
  nb: u32,      // blocks per row
  per: u32,     // elements per invocation
  xOrigin: u32, // tensor index of x[0]
  oOrigin: u32, // tensor index of out[0]
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> part: array<f32, WG>;

//#include "lib/reduce_op.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let local = wg.x + wg.y * nwg.x;
  let valid = local < params.groups;
  let g = params.g0 + local;
  var acc = vec4f(identity());
  if (valid) {
    let r = g / params.nb;
    let b = g - r * params.nb;
    let c0 = b * WG * params.per + li;
    let base = r * params.cols - params.xOrigin;
    // This invocation's elements in the row (none when its first column is past the end).
    let end = select(0u, min(params.per, (params.cols - c0 + WG - 1u) / WG), c0 < params.cols);
    var j = 0u;
    for (; j + 4u <= end; j += 4u) {
      let c = base + c0 + j * WG;
      acc = vec4f(combine(acc.x, x[c]), combine(acc.y, x[c + WG]), combine(acc.z, x[c + 2u * WG]),
                  combine(acc.w, x[c + 3u * WG]));
    }
    for (; j < end; j++) {
      acc.x = combine(acc.x, x[base + c0 + j * WG]);
    }
  }
  part[li] = combine(combine(acc.x, acc.y), combine(acc.z, acc.w));
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) {
      part[li] = combine(part[li], part[li + s]);
    }
    workgroupBarrier();
  }
  if (valid && li == 0u) {
    out[g - params.oOrigin] = part[0];
  }
}
