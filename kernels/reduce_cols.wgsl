// reduce_cols: one pass of a column reduction. Input viewed as [R, C], output [nrb, C] with
// nrb = ceil(R / rb): out[i, c] = op over rows [i*rb, min((i+1)*rb, R)) of x[row, c], folded in row order.
// A dispatch covers row blocks [rb0, rb0 + groups / ncb) and columns [c0, c0 + cw) (ncb blocks of WG
// columns). No workgroup memory: adjacent invocations read adjacent columns. The host repeats passes
// until nrb = 1, so a sum's rounding error grows like rb * passes, not with R.
// Bindings: 0 x (read), 1 out (read_write), 2 Params. Matches CpuBackend.reduce(op, out, x, R, C, 0).
// OP: 0 sum, 1 max, 2 min.
override WG: u32 = 128;
override OP: u32 = 0;

struct Params {
  groups: u32,  // workgroups in this dispatch
  rb0: u32,     // first row block
  ncb: u32,     // column blocks per row block
  c0: u32,      // first column
  cw: u32,      // columns covered
  rows: u32,    // R
  cols: u32,    // C
  rb: u32,      // rows per block
  xOrigin: u32,
  oOrigin: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

//#include "lib/reduce_op.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let local = wg.x + wg.y * nwg.x;
  if (local >= params.groups) {
    return;
  }
  let blk = params.rb0 + local / params.ncb;
  let cb = local % params.ncb;
  let c = params.c0 + cb * WG + li;
  if (c >= params.c0 + params.cw) {
    return;
  }
  let r0 = blk * params.rb;
  let r1 = min(r0 + params.rb, params.rows);
  var acc = x[r0 * params.cols + c - params.xOrigin];
  for (var r = r0 + 1u; r < r1; r++) {
    acc = combine(acc, x[r * params.cols + c - params.xOrigin]);
  }
  out[blk * params.cols + c - params.oOrigin] = acc;
}
