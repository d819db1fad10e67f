// unary: out[i] = op(x[i]) over one window of n elements (out and x are distinct buffers).
// Bindings: 0 x (read), 1 out (read_write), 2 Params. Matches CpuBackend.unary (cpu/elementwise.ts unaryF32).
// OP: 0 neg, 1 exp, 2 log, 3 sqrt, 4 abs, 5 square, 6 recip, 7 relu (x > 0 ? x : 0), 8 step (x > 0 ? 1 : 0).
override WG: u32 = 128;
override PER: u32 = 4;
override OP: u32 = 0;

struct Params {
  n: u32,       // elements in this window
  start: u32,   // first element of the window (tensor index)
  xOrigin: u32, // tensor index of x[0]
  oOrigin: u32, // tensor index of out[0]
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn apply(v: f32) -> f32 {
  switch OP {
    case 0u: { return -v; }
    case 1u: { return exp(v); }
    case 2u: { return log(v); }
    case 3u: { return sqrt(v); }
    case 4u: { return abs(v); }
    case 5u: { return v * v; }
    case 6u: { return 1.0 / v; }
    case 7u: { return select(0.0, v, v > 0.0); }
    default: { return select(0.0, 1.0, v > 0.0); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let base = (wg.x + wg.y * nwg.x) * (WG * PER) + li;
  let xo = params.start - params.xOrigin;
  let oo = params.start - params.oOrigin;
  for (var j = 0u; j < PER; j++) {
    let i = base + j * WG;
    if (i < params.n) {
      out[i + oo] = apply(x[i + xo]);
    }
  }
}
