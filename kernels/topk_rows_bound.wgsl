// Per-row top-k for k <= WG (TopK SAE, AuxK at small k_aux), one workgroup per row and one read of the row
// plus a re-read from cache, with a handful of barriers per row (no histogram pass per digit):
// 1. invocation lid takes the columns lid, lid + WG, ... (coalesced) and keeps their largest key: WG group
//    maxima. The k-th largest of them, lo, is a lower bound that holds at least k entries (the k groups whose
//    maxima rank first each hold an entry >= lo), so the row's top k all have keys >= lo.
// 2. the row is read again and the entries with key >= lo are appended to a workgroup list (arrival order).
//    On random rows the list holds a little over k entries.
// 3. each listed entry's rank under the contract's order (key descending, column ascending) decides whether
//    it is kept, and its slot is the number of kept entries with a lower column: the k kept columns go out
//    in ascending order, as topkRows in src/backend/cpu/select.ts gives them.
// A row whose list would exceed `cap` (many entries tied at lo: e.g. a ReLU'd row with fewer than k
// positive entries) is marked in `bad` (bad[row] = 1, bad[total rows] counts them) and left to the radix
// kernel (topk_rows, gated on that count).
// Bindings: 0 x window (f32, read), 1 out window (i32), 2 bad (atomic u32, rows + 1, global row index), 3 Params.
override WG: u32 = 128;
const LCAP: u32 = 1024u;

struct Params {
  cols: u32,
  k: u32,
  rows: u32,     // rows in this window
  xShift: u32,
  outShift: u32,
  rowBase: u32,  // global index of the window's first row
  nx: u32,
  cap: u32,      // list capacity used (<= LCAP; lowered by specs to force the fallback)
  totalRows: u32,
  _a: u32,
  _b: u32,
  _c: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read_write> bad: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> maxima: array<u32, WG>;
var<workgroup> listKey: array<u32, LCAP>;
var<workgroup> listCol: array<u32, LCAP>;
var<workgroup> kept: array<u32, LCAP>;
var<workgroup> listLen: atomic<u32>;
var<workgroup> lo: u32;
var<workgroup> found: u32;

//#include "lib/topk_key.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * p.nx;
  if (row >= p.rows) { return; }
  let xb = p.xShift + row * p.cols;
  // 1. Group maxima; an empty group (cols < WG) has key 0, below every finite value's key.
  var m = 0u;
  for (var c = lid; c < p.cols; c += WG) { m = max(m, key(x[xb + c])); }
  maxima[lid] = m;
  if (lid == 0u) { atomicStore(&listLen, 0u); }
  workgroupBarrier();
  // The k-th largest maximum: the one with exactly k - 1 ahead of it (ties broken by lid).
  var ahead = 0u;
  for (var t = 0u; t < WG; t++) {
    let o = maxima[t];
    ahead += select(0u, 1u, o > m || (o == m && t < lid));
  }
  if (ahead == p.k - 1u) { lo = m; }
  let bound = workgroupUniformLoad(&lo);
  // 2. The entries at or above the bound.
  for (var c = lid; c < p.cols; c += WG) {
    let kc = key(x[xb + c]);
    if (kc >= bound) {
      let s = atomicAdd(&listLen, 1u);
      if (s < p.cap) {
        listKey[s] = kc;
        listCol[s] = c;
      }
    }
  }
  workgroupBarrier();
  if (lid == 0u) { found = atomicLoad(&listLen); }
  let n = workgroupUniformLoad(&found);
  let g = p.rowBase + row;
  if (n > p.cap) {
    if (lid == 0u) {
      atomicStore(&bad[g], 1u);
      atomicAdd(&bad[p.totalRows], 1u);
    }
    return;
  }
  if (lid == 0u) { atomicStore(&bad[g], 0u); }
  // 3. Ranks, then slots among the kept.
  for (var s = lid; s < n; s += WG) {
    let ks = listKey[s];
    let cs = listCol[s];
    var r = 0u;
    for (var t = 0u; t < n && r < p.k; t++) {
      let kt = listKey[t];
      r += select(0u, 1u, kt > ks || (kt == ks && listCol[t] < cs));
    }
    kept[s] = select(0u, 1u, r < p.k);
  }
  workgroupBarrier();
  let ob = p.outShift + row * p.k;
  let fb = g * p.cols;
  for (var s = lid; s < n; s += WG) {
    if (kept[s] == 0u) { continue; }
    let cs = listCol[s];
    var slot = 0u;
    for (var t = 0u; t < n; t++) { slot += select(0u, 1u, kept[t] != 0u && listCol[t] < cs); }
    out[ob + slot] = i32(fb + cs);
  }
}
