// Sampled dense-dense product: out[i] = dot(a[r_i, :], w[c_i, :]) for the entries of a selection,
// r_i = idx[i] div m, c_i = idx[i] mod m; a [B,d], w [M,d]. One invocation per entry. a and w may be bound
// as row windows; an entry is computed by the one dispatch whose windows hold both of its rows.
// Must match `sddmmF32` in src/backend/cpu/sparse.ts up to summation order.
// The including kernel declares `alias V`, the element type of a and w: f32 (sddmm, any d) or vec4<f32>
// (sddmm_v4, d % 4 == 0; Params.d and the shifts count V elements), and
// `fn partials(ab: u32, wb: u32) -> vec4<f32>`: four partial sums of the dot product of the rows starting
// at a[ab] and w[wb], added pairwise here.
// Bindings: 0 a window, 1 w window (V, read), 2 idx (i32, read), 3 out (f32, read_write), 4 Params.
override WG: u32 = 64;

struct Params {
  nnz: u32,
  m: u32,
  d: u32, // row length in V elements
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

@group(0) @binding(0) var<storage, read> a: array<V>;
@group(0) @binding(1) var<storage, read> w: array<V>;
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
  let s = partials(p.aShift + (r - p.aRow0) * p.d, p.wShift + (c - p.wRow0) * p.d);
  out[i] = (s.x + s.y) + (s.z + s.w);
}
