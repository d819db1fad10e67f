// Transposed sparse x dense: out[c, :] = sum over the entries i with c_i = c of vals[i] * g[r_i, :], with
// out [M,d] and g [B,d]. Column c's entries are sorted[start[c] .. start[c+1]) in ascending entry order
// (col_tile_count, col_tile_scan, scan_u32, col_tile_place), so the sum order is fixed: deterministic
// without float atomics. One invocation per output element (one V) of an out row window; with g split into
// row windows, the first window writes and later ones add.
// Must match `spmmTF32` in src/backend/cpu/sparse.ts up to summation order across g windows.
// The including kernel declares `alias V`, the element type of g and out: f32 (spmm_t, any d) or vec4<f32>
// (spmm_t_v4, d % 4 == 0); Params.d and the shifts count V elements.
// Bindings: 0 vals (f32), 1 idx (i32), 2 start (u32), 3 sorted (u32), 4 g window (V),
// 5 out window (V, read_write), 6 Params.
override WG: u32 = 64;

struct Params {
  m: u32,
  d: u32, // row length in V elements
  nx: u32,
  accumulate: u32,
  oRow0: u32,
  oRows: u32,
  oShift: u32,
  gRow0: u32,
  gRows: u32,
  gShift: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<storage, read> vals: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> start: array<u32>;
@group(0) @binding(3) var<storage, read> sorted: array<u32>;
@group(0) @binding(4) var<storage, read> g: array<V>;
@group(0) @binding(5) var<storage, read_write> out: array<V>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let id = (wg.x + wg.y * p.nx) * WG + lid;
  if (id >= p.oRows * p.d) { return; }
  let cl = id / p.d;
  let t = id - cl * p.d;
  let c = p.oRow0 + cl;
  var s = V(0.0);
  for (var j = start[c]; j < start[c + 1u]; j++) {
    let e = sorted[j];
    let r = u32(idx[e]) / p.m;
    if (r >= p.gRow0 && r < p.gRow0 + p.gRows) {
      s += vals[e] * g[p.gShift + (r - p.gRow0) * p.d + t];
    }
  }
  let o = p.oShift + id;
  out[o] = select(s, out[o] + s, p.accumulate == 1u);
}
