// Per-row top-k for k <= WG (TopK SAE, AuxK at small k_aux), one workgroup per row, one read of the row,
// a handful of barriers per row and no per-digit passes. The hot loop is branch-free vector work: a SIMD
// rasteriser (llvmpipe) runs the body of a rarely-taken branch for every lane, so the former per-element
// insertion into a best-Q list cost ~5x a plain read there; a GPU gains as much from no divergence.
// 1. Invocation lid reads its quads (4 columns) of the row: lid, lid + WG, ... (coalesced, for GPUs) or,
//    with CONTIG, a contiguous run of them (CPU rasterisers: each lane's loads stay on its own cache
//    lines; llvmpipe 512 x 24576, k 32: 527 -> 415 ms). Each of the 4 column positions of its quads is a
//    group, of which it keeps the best two keys and the best one's quad (selects, no branch). The k-th
//    largest of the WG lane maxima, lo, is held by at least k entries of the row (the k lanes whose
//    maxima rank first each hold an entry >= lo; an empty lane's maximum is 0, the smallest key), so the
//    row's top k all have keys >= lo.
// 2. The entries with key >= lo go to a workgroup list (arrival order): a group whose second key is below
//    lo holds at most its best there (listed from registers); a group whose second key reaches lo may hide
//    more and re-reads its column (rare on real rows: two of the ~k entries above lo in one group of
//    cols/(4 WG)). On random rows the list holds a little over k entries.
// 3. Each listed entry's rank under the contract's order (key descending, column ascending) decides whether
//    it is kept, and its slot is the number of kept entries with a lower column: the k kept columns go out
//    in ascending order, as topkRows in src/backend/cpu/select.ts gives them.
// A row whose list would exceed `cap` (many entries tied at lo: e.g. a ReLU'd row with fewer than k
// positive entries) is marked in `bad` (bad[row] = 1, bad[total rows] counts them) and left to the radix
// kernel (topk_rows, gated on that count).
// V4: x is read as vec4s (binding 3, the same window as binding 0; rows start on whole vec4s, so cols and
// the window's shift are multiples of 4): on llvmpipe a storage load costs about the same for a vec4 as for
// one f32. Without it a quad is four scalar loads, the columns past the row's end reading as key 0.
// Bindings: 0 x window (f32, read), 1 out window (i32), 2 bad (atomic u32, rows + 1, global row index),
// 3 x window as vec4 (read; bound to a 16-byte stand-in unless V4), 4 Params.
override WG: u32 = 128;
// Rows per workgroup, one after the other: amortises a workgroup's start (its workgroup memory is zeroed
// at each start, and on llvmpipe each start costs a round of coroutine set-up).
override RPW: u32 = 1;
override V4: bool = false;
// Each lane reads a contiguous run of quads instead of every WG-th quad (step 1).
override CONTIG: bool = false;
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
@group(0) @binding(3) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> maxima: array<vec4<u32>, WG / 4u>;
var<workgroup> listKey: array<u32, LCAP>;
var<workgroup> listCol: array<u32, LCAP>;
var<workgroup> kept: array<u32, LCAP>;
var<workgroup> listLen: atomic<u32>;
var<workgroup> lo: u32;

//#include "lib/topk_key.wgsl"

// key() on four lanes at once (the same map: -0 -> +0, then flip negatives, set the sign bit of the rest).
fn key4(v: vec4<f32>) -> vec4<u32> {
  var b = bitcast<vec4<u32>>(v);
  b = select(b, vec4<u32>(0u), b == vec4<u32>(0x80000000u));
  return select(b | vec4<u32>(0x80000000u), ~b, (b & vec4<u32>(0x80000000u)) != vec4<u32>(0u));
}

// The keys of columns 4q .. 4q+3 of the row at xb; past the row's end 0, the smallest key, which no list
// takes (step 2 lists keys >= lo from columns < cols only; with lo = 0 every group re-reads its column).
fn keys4(xb: u32, q: u32) -> vec4<u32> {
  if (V4) { return key4(x4[xb / 4u + q]); }
  var k4 = vec4<u32>(0u);
  for (var i = 0u; i < 4u; i++) {
    if (4u * q + i < p.cols) { k4[i] = key(x[xb + 4u * q + i]); }
  }
  return k4;
}

fn append(kc: u32, c: u32) {
  let s = atomicAdd(&listLen, 1u);
  if (s < p.cap) {
    listKey[s] = kc;
    listCol[s] = c;
  }
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
  let n4 = (p.cols + 3u) / 4u;
  // 1. Per group (component i of this lane's quads), the best two keys and the best one's quad, branch-free:
  // a key equal to a kept one stays below it (the earlier column first). Key 0 marks an empty slot. (The
  // second's quad is not needed: a group listing more than its best re-reads its column.)
  var m1 = vec4<u32>(0u);
  var m2 = vec4<u32>(0u);
  var q1 = vec4<u32>(0u);
  // This lane's quads: q0, q0 + qs, ... below qe.
  let per = (n4 + WG - 1u) / WG;
  let q0 = select(lid, lid * per, CONTIG);
  let qs = select(WG, 1u, CONTIG);
  let qe = select(n4, min(n4, q0 + per), CONTIG);
  for (var q = q0; q < qe; q += qs) {
    let k4 = keys4(xb, q);
    let qv = vec4<u32>(q);
    let gt1 = k4 > m1;
    let gt2 = k4 > m2;
    m2 = select(select(m2, k4, gt2), m1, gt1);
    m1 = select(m1, k4, gt1);
    q1 = select(q1, qv, gt1);
  }
  let m = max(max(m1.x, m1.y), max(m1.z, m1.w));
  maxima[lid / 4u][lid % 4u] = m;
  if (lid == 0u) { atomicStore(&listLen, 0u); }
  workgroupBarrier();
  // The k-th largest lane maximum: the one with exactly k - 1 ahead of it (ties broken by lid). Four maxima
  // per step, and a lane stops counting once k are ahead of it (most lanes: their maximum is not the k-th).
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
  // 2. The entries at or above the bound. A group whose second key is below it holds at most its best
  // there, listed from registers (one reservation per lane). A group whose second key reaches it may hide
  // more (rare: two of the ~k entries above lo among its cols/(4 WG)): it re-reads its column, in a loop
  // that runs no iteration for the other groups (a rarely-taken branch costs its body on SIMD rasterisers).
  let bv = vec4<u32>(bound);
  let reread = m2 >= bv;
  let take1 = (m1 >= bv) & !reread;
  let take = dot(select(vec4<u32>(0u), vec4<u32>(1u), take1), vec4<u32>(1u));
  var s = 0u;
  if (take > 0u) { s = atomicAdd(&listLen, take); }
  for (var i = 0u; i < 4u; i++) {
    if (take1[i]) {
      if (s < p.cap) {
        listKey[s] = m1[i];
        listCol[s] = 4u * q1[i] + i;
      }
      s++;
    }
    for (var q = select(qe, q0, reread[i]); q < qe; q += qs) {
      let c = 4u * q + i;
      if (c < p.cols) {
        let kc = keys4(xb, q)[i];
        if (kc >= bound) { append(kc, c); }
      }
    }
  }
  workgroupBarrier();
  if (lid == 0u) { lo = atomicLoad(&listLen); }
  let n = workgroupUniformLoad(&lo);
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
