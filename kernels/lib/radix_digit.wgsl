// The radix select's digit step, shared by topk_pick, topk_bracket and topk_rows: which digit of this pass
// holds the kRem-th largest key. The `bins` histogram bins are taken in descending digit order, invocation
// lid owning positions [lid*per, lid*per + per); the one whose span holds the kRem-th largest key returns
// (1, that digit, kRem minus the counts of the larger digits), every other invocation (0, 0, 0).
// Needs, from the including kernel: `fn histAt(b: u32) -> u32` (bin b's count), lib/scan.wgsl, and a call
// from every invocation of the workgroup (scanIncl holds barriers).
fn pickDigit(lid: u32, bins: u32, kRem: u32) -> vec3<u32> {
  let per = (bins + WG - 1u) / WG;
  var s = 0u;
  for (var j = 0u; j < per; j++) {
    let q = lid * per + j;
    if (q < bins) { s += histAt(bins - 1u - q); }
  }
  let incl = scanIncl(lid, s);
  var acc = incl - s;
  if (acc < kRem && kRem <= incl) {
    for (var j = 0u; j < per; j++) {
      let q = lid * per + j;
      if (q >= bins) { break; }
      let c = histAt(bins - 1u - q);
      if (acc + c >= kRem) { return vec3<u32>(1u, bins - 1u - q, kRem - acc); }
      acc += c;
    }
  }
  return vec3<u32>(0u);
}
