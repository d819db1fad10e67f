// Per-row top-k for k <= WG (TopK SAE, AuxK at small k_aux), one workgroup per row, one read of the row,
// and a handful of barriers per row (no histogram pass per digit):
// 1. invocation lid takes the columns lid, lid + WG, ... (coalesced: its group) and keeps the group's best
//    Q keys with their columns in registers. The k-th largest of the WG group maxima, lo, is a lower bound
//    that holds at least k entries (the k groups whose maxima rank first each hold an entry >= lo), so the
//    row's top k all have keys >= lo.
// 2. each group appends its entries with key >= lo to a workgroup list (arrival order): from its registers
//    when its Q-th best key is below lo (then no other entry of the group reaches lo), else by re-reading its
//    group (rare: a group holding Q or more of the ~k entries above lo). On random rows the list holds a
//    little over k entries.
// 3. each listed entry's rank under the contract's order (key descending, column ascending) decides whether
//    it is kept, and its slot is the number of kept entries with a lower column: the k kept columns go out
//    in ascending order, as topkRows in src/backend/cpu/select.ts gives them.
// A row whose list would exceed `cap` (many entries tied at lo: e.g. a ReLU'd row with fewer than k
// positive entries) is marked in `bad` (bad[row] = 1, bad[total rows] counts them) and left to the radix
// kernel (topk_rows, gated on that count).
// V4: step 1 reads x as vec4s (binding 3, the same window as binding 0; rows start on whole vec4s, so
// cols and the window's shift are multiples of 4): on llvmpipe a storage load costs about the same for a
// vec4 as for one f32. A group is then the vec4 columns lid, lid + WG, ... (any split into WG groups works).
// Bindings: 0 x window (f32, read), 1 out window (i32), 2 bad (atomic u32, rows + 1, global row index),
// 3 x window as vec4 (read; bound to a 16-byte stand-in unless V4), 4 Params.
override WG: u32 = 128;
// Rows per workgroup, one after the other: amortises a workgroup's start (its workgroup memory is zeroed
// at each start, and on llvmpipe each start costs a round of coroutine set-up).
override RPW: u32 = 1;
override V4: bool = false;
const LCAP: u32 = 1024u;
const Q: u32 = 4u;

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
@group(0) @binding(3) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> maxima: array<vec4<u32>, WG / 4u>;
var<workgroup> listKey: array<u32, LCAP>;
var<workgroup> listCol: array<u32, LCAP>;
var<workgroup> kept: array<u32, LCAP>;
var<workgroup> listLen: atomic<u32>;
var<workgroup> lo: u32;
var<workgroup> found: u32;

//#include "lib/topk_key.wgsl"

// Into a group's best Q (key descending): a later column with an equal key stays below (lower column first).
fn insert(bk: ptr<function, array<u32, Q>>, bc: ptr<function, array<u32, Q>>, kc: u32, c: u32) {
  if (kc <= (*bk)[Q - 1u]) { return; }
  var j = Q - 1u;
  while (j > 0u && kc > (*bk)[j - 1u]) {
    (*bk)[j] = (*bk)[j - 1u];
    (*bc)[j] = (*bc)[j - 1u];
    j--;
  }
  (*bk)[j] = kc;
  (*bc)[j] = c;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let first = (wg.x + wg.y * p.nx) * RPW;
  for (var row = first; row < min(first + RPW, p.rows); row++) {
    selectRow(row, lid);
    // The next row reuses the workgroup arrays.
    workgroupBarrier();
  }
}

fn selectRow(row: u32, lid: u32) {
  let xb = p.xShift + row * p.cols;
  // 1. The group's best Q (key descending; key 0, below every finite value's key, marks an empty slot).
  var bk = array<u32, Q>(0u, 0u, 0u, 0u);
  var bc = array<u32, Q>(0u, 0u, 0u, 0u);
  if (V4) {
    for (var q = lid; q < p.cols / 4u; q += WG) {
      let v = x4[xb / 4u + q];
      for (var i = 0u; i < 4u; i++) { insert(&bk, &bc, key(v[i]), 4u * q + i); }
    }
  } else {
    for (var c = lid; c < p.cols; c += WG) { insert(&bk, &bc, key(x[xb + c]), c); }
  }
  let m = bk[0];
  maxima[lid / 4u][lid % 4u] = m;
  if (lid == 0u) { atomicStore(&listLen, 0u); }
  workgroupBarrier();
  // The k-th largest maximum: the one with exactly k - 1 ahead of it (ties broken by lid). Four maxima per
  // step, and a group stops counting once k are ahead of it (most groups: their maximum is not the k-th).
  var ahead = 0u;
  let mv = vec4<u32>(m);
  for (var t = 0u; t < WG / 4u && ahead < p.k; t++) {
    let o = maxima[t];
    let before = vec4<u32>(4u * t) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(lid);
    let a = (o > mv) | ((o == mv) & before);
    ahead += dot(select(vec4<u32>(0u), vec4<u32>(1u), a), vec4<u32>(1u));
  }
  if (ahead == p.k - 1u) { lo = m; }
  let bound = workgroupUniformLoad(&lo);
  // 2. The entries at or above the bound: from the registers, or (a group with Q or more of them, whose
  // Q-th best key is >= lo and may hide more) by re-reading the group.
  if (bk[Q - 1u] < bound || bk[Q - 1u] == 0u) {
    for (var j = 0u; j < Q; j++) {
      if (bk[j] >= bound && bk[j] != 0u) {
        let s = atomicAdd(&listLen, 1u);
        if (s < p.cap) {
          listKey[s] = bk[j];
          listCol[s] = bc[j];
        }
      }
    }
  } else {
    // The same group as step 1: columns lid, lid + WG, ... or (V4) the vec4 columns lid, lid + WG, ...
    let step = select(1u, 4u, V4);
    for (var c0 = lid * step; c0 < p.cols; c0 += WG * step) {
      for (var c = c0; c < c0 + step; c++) {
        let kc = key(x[xb + c]);
        if (kc >= bound) {
          let s = atomicAdd(&listLen, 1u);
          if (s < p.cap) {
            listKey[s] = kc;
            listCol[s] = c;
          }
        }
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
