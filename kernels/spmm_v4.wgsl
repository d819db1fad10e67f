// spmm with vec4 loads and stores, for d % 4 == 0 (d4 = d / 4; shifts in vec4 units). See spmm.wgsl.
// Must match `spmmF32` in src/backend/cpu/sparse.ts up to summation order across w windows.
// Bindings: 0 vals (f32), 1 idx (i32), 2 rowPtr (u32), 3 w window (vec4), 4 out window (vec4, read_write), 5 Params.
override WG: u32 = 64;

struct Params {
  m: u32,
  d4: u32,
  nx: u32,
  accumulate: u32,
  oRow0: u32,
  oRows: u32,
  oShift: u32,
  wRow0: u32,
  wRows: u32,
  wShift: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<storage, read> vals: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> rowPtr: array<u32>;
@group(0) @binding(3) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let id = (wg.x + wg.y * p.nx) * WG + lid;
  if (id >= p.oRows * p.d4) { return; }
  let bl = id / p.d4;
  let t = id - bl * p.d4;
  let b = p.oRow0 + bl;
  let base = b * p.m;
  var s = vec4<f32>(0.0);
  for (var j = rowPtr[b]; j < rowPtr[b + 1u]; j++) {
    let c = u32(idx[j]) - base;
    if (c >= p.wRow0 && c < p.wRow0 + p.wRows) {
      s += vals[j] * w[p.wShift + (c - p.wRow0) * p.d4 + t];
    }
  }
  let o = p.oShift + id;
  out[o] = select(s, out[o] + s, p.accumulate == 1u);
}
