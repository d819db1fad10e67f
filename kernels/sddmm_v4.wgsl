// sddmm with vec4 loads, for d % 4 == 0 (sizes and shifts in Params are in vec4 units: d4 = d / 4).
// out[i] = dot(a[r_i, :], w[c_i, :]); see sddmm.wgsl. Must match `sddmmF32` in src/backend/cpu/sparse.ts
// up to summation order.
// Bindings: 0 a window, 1 w window (vec4<f32>, read), 2 idx (i32, read), 3 out (f32, read_write), 4 Params.
override WG: u32 = 64;

struct Params {
  nnz: u32,
  m: u32,
  d4: u32,
  nx: u32,
  aRow0: u32,
  aRows: u32,
  aShift: u32,
  wRow0: u32,
  wRows: u32,
  wShift: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * p.nx) * WG + lid;
  if (i >= p.nnz) { return; }
  let f = u32(idx[i]);
  let r = f / p.m;
  let c = f - r * p.m;
  if (r < p.aRow0 || r >= p.aRow0 + p.aRows || c < p.wRow0 || c >= p.wRow0 + p.wRows) { return; }
  let ab = p.aShift + (r - p.aRow0) * p.d4;
  let wb = p.wShift + (c - p.wRow0) * p.d4;
  var s = vec4<f32>(0.0);
  for (var t = 0u; t < p.d4; t++) { s += a[ab + t] * w[wb + t]; }
  out[i] = (s.x + s.y) + (s.z + s.w);
}
