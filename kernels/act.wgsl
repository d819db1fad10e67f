// act: out[i] = op(x[i]) over one window. OP 0: silu x / (1 + e^-x); OP 1: gelu_tanh
// x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))), tanh written through exp of a clamped argument (tanh(15) is
// 1 in f32) so that large |x| gives +-1, not inf/inf. Bindings: 0 x, 1 out, 2 Params.
// Matches ModelOps.act (cpu/model.ts actValue).
override WG: u32 = 128;
override OP: u32 = 0;

struct Params {
  n: u32,
  start: u32,
  xOrigin: u32,
  oOrigin: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn apply(v: f32) -> f32 {
  if (OP == 0u) { return v / (1.0 + exp(-v)); }
  let u = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0);
  let e = exp(2.0 * u);
  return 0.5 * v * (1.0 + (e - 1.0) / (e + 1.0));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * WG + li;
  if (i < params.n) {
    let e = params.start + i;
    out[e - params.oOrigin] = apply(x[e - params.xOrigin]);
  }
}
