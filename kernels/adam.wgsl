// adam: one Adam step in place over one window of n parameters (all four tensors share the window):
//   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr * (m / bc1) / (sqrt(v / bc2) + eps).
// Bindings: 0 g (read), 1 p, 2 m, 3 v (read_write), 4 Params. Matches CpuBackend.adam (which uses f64
// arithmetic with m and v rounded to f32 before the step; here everything is f32).
override WG: u32 = 128;
override PER: u32 = 4;

struct Params {
  n: u32,
  start: u32,
  origin: u32, // tensor index of element 0 of every binding (the four windows are aligned alike)
  _pad: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  bc1: f32,
  bc2: f32,
  omb1: f32,   // 1 - beta1, formed in f64 on the host
  omb2: f32,   // 1 - beta2
}

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let base = (wg.x + wg.y * nwg.x) * (WG * PER) + li;
  let off = params.start - params.origin;
  for (var j = 0u; j < PER; j++) {
    let i = base + j * WG;
    if (i < params.n) {
      let k = i + off;
      let gi = g[k];
      let mi = params.beta1 * m[k] + params.omb1 * gi;
      let vi = params.beta2 * v[k] + params.omb2 * gi * gi;
      m[k] = mi;
      v[k] = vi;
      p[k] = p[k] - params.lr * (mi / params.bc1) / (sqrt(vi / params.bc2) + params.eps);
    }
  }
}
