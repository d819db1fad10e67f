// Sparse x dense: out[b, :] = sum over the entries i of row b of vals[i] * w[c_i, :], with out [B,d] and
// w [M,d]. Row b's entries are [rowPtr[b], rowPtr[b+1]) (csr_rowptr) and are summed in entry order, so the
// result is deterministic. One invocation per output element (one V) of an out row window; with w split
// into row windows, the first window writes and later ones add.
// Must match `spmmF32` in src/backend/cpu/sparse.ts up to summation order across w windows.
// The including kernel declares `alias V`, the element type of w and out: f32 (spmm, any d) or vec4<f32>
// (spmm_v4, d % 4 == 0); Params.d and the shifts count V elements.
// Bindings: 0 vals (f32), 1 idx (i32), 2 rowPtr (u32), 3 w window (V), 4 out window (V, read_write), 5 Params.
override WG: u32 = 64;

struct Params {
  m: u32,
  d: u32,          // row length in V elements
  nx: u32,
  accumulate: u32, // 0: out = sum, 1: out += sum
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
@group(0) @binding(3) var<storage, read> w: array<V>;
@group(0) @binding(4) var<storage, read_write> out: array<V>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let id = (wg.x + wg.y * p.nx) * WG + lid;
  if (id >= p.oRows * p.d) { return; }
  let bl = id / p.d;
  let t = id - bl * p.d;
  let b = p.oRow0 + bl;
  let base = b * p.m;
  var s = V(0.0);
  for (var j = rowPtr[b]; j < rowPtr[b + 1u]; j++) {
    let c = u32(idx[j]) - base;
    if (c >= p.wRow0 && c < p.wRow0 + p.wRows) {
      s += vals[j] * w[p.wShift + (c - p.wRow0) * p.d + t];
    }
  }
  let o = p.oShift + id;
  out[o] = select(s, out[o] + s, p.accumulate == 1u);
}
