// Exclusive prefix sum of data[off .. off+n) in place, by one workgroup; the total goes to data[off+n].
// Used for the per-tile counts of topk_count and the per-column counts of spmmT.
// Bindings: 0 data (u32, read_write), 1 Params.
override WG: u32 = 128;

struct Params {
  n: u32,
  off: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

//#include "lib/scan.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  // Each invocation owns one contiguous chunk, so the scan is one pass of sums plus one of writes.
  let per = (p.n + WG - 1u) / WG;
  let b = min(lid * per, p.n);
  let e = min(b + per, p.n);
  var s = 0u;
  for (var i = b; i < e; i++) { s += data[p.off + i]; }
  let incl = scanIncl(lid, s);
  var run = incl - s;
  for (var i = b; i < e; i++) {
    let v = data[p.off + i];
    data[p.off + i] = run;
    run += v;
  }
  if (lid == WG - 1u) { data[p.off + p.n] = incl; }
}
