// Per-row top-k of an [rows, cols] f32 matrix, one workgroup per row (TopK SAE, AuxK): a radix select over
// the row's order-preserving u32 keys (digits of 11, 11 and 10 bits, workgroup histograms) finds the cut key
// T and the number r of elements equal to T to keep; a sweep in tiles then writes, in ascending column
// order, the columns above T and the first r equal to T. Must match `topkRows` in src/backend/cpu/select.ts
// exactly (value descending, column ascending; -0 and +0 tie).
// Also the fallback of topk_rows_bound: with `gated` = 1 only the rows it marked in `bad` are selected.
// Bindings: 0 x window (f32, read), 1 out window (i32, rows*k flat indices), 2 bad (u32, read, global row
// index; read only when gated), 3 Params.
override WG: u32 = 128;
override ITEMS: u32 = 16; // contiguous columns per invocation in a sweep tile (WG*ITEMS < 65536)

struct Params {
  cols: u32,
  k: u32,
  rows: u32,     // rows in this window
  xShift: u32,   // index in `x` of the window's first element
  outShift: u32, // index in `out` of the window's first output slot
  rowBase: u32,  // global index of the window's first row
  nx: u32,
  gated: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read> bad: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> hist: array<atomic<u32>, 2048>;
var<workgroup> cut: vec2<u32>;

//#include "lib/topk_key.wgsl"

//#include "lib/scan.wgsl"
//#include "lib/radix_digit.wgsl"

fn histAt(b: u32) -> u32 { return atomicLoad(&hist[b]); }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * p.nx;
  if (row >= p.rows) { return; }
  if (p.gated == 1u && bad[p.rowBase + row] == 0u) { return; }
  let xb = p.xShift + row * p.cols;
  var prefix = 0u;
  var kRem = p.k;
  for (var ps = 0u; ps < 3u; ps++) {
    let shift = select(select(0u, 10u, ps == 1u), 21u, ps == 0u);
    let bits = select(11u, 10u, ps == 2u);
    // Bits fixed by the earlier passes; none on the first (where shift + bits = 32).
    let mask = select(~((1u << (shift + bits)) - 1u), 0u, ps == 0u);
    let bins = 1u << bits;
    for (var b = lid; b < bins; b += WG) { atomicStore(&hist[b], 0u); }
    workgroupBarrier();
    for (var c = lid; c < p.cols; c += WG) {
      let k = key(x[xb + c]);
      if ((k & mask) == prefix) { atomicAdd(&hist[(k >> shift) & (bins - 1u)], 1u); }
    }
    workgroupBarrier();
    let d = pickDigit(lid, bins, kRem);
    if (d.x == 1u) { cut = vec2<u32>(prefix | (d.y << shift), d.z); }
    let pick = workgroupUniformLoad(&cut);
    prefix = pick.x;
    kRem = pick.y;
  }

  let r = kRem;
  let ob = p.outShift + row * p.k;
  let fb = (p.rowBase + row) * p.cols;
  var gtBase = 0u;
  var eqBase = 0u;
  for (var t0 = 0u; t0 < p.cols; t0 += WG * ITEMS) {
    let b = t0 + lid * ITEMS;
    let e = min(b + ITEMS, p.cols);
    var gt = 0u;
    var eq = 0u;
    for (var c = b; c < e; c++) {
      let k = key(x[xb + c]);
      gt += select(0u, 1u, k > prefix);
      eq += select(0u, 1u, k == prefix);
    }
    let mine = (gt << 16u) | eq;
    let excl = scanIncl(lid, mine) - mine;
    if (gt + eq != 0u) {
      var g = gtBase + (excl >> 16u);
      var q = eqBase + (excl & 0xffffu);
      for (var c = b; c < e; c++) {
        let k = key(x[xb + c]);
        if (k > prefix) {
          out[ob + g + min(q, r)] = i32(fb + c);
          g++;
        } else if (k == prefix) {
          if (q < r) { out[ob + g + q] = i32(fb + c); }
          q++;
        }
      }
    }
    let tot = workgroupUniformLoad(&scanTotal);
    gtBase += tot >> 16u;
    eqBase += tot & 0xffffu;
    if (gtBase + min(eqBase, r) >= p.k) { break; }
  }
}
