// Inclusive workgroup scan of one u32 per invocation, in three barriers (few barriers matter on llvmpipe,
// where each one switches all invocations): groups of RAKE invocations scan serially, one invocation scans
// the group totals. Also leaves the workgroup total in scanTotal.
// Needs, from the including kernel: `override WG: u32` (the workgroup size, a multiple of RAKE) and a call
// from every invocation of the workgroup (it holds barriers).
const RAKE = 8u;
var<workgroup> sums: array<u32, WG>;
var<workgroup> groupSums: array<u32, WG / RAKE>;
var<workgroup> scanTotal: u32;

fn scanIncl(lid: u32, v: u32) -> u32 {
  sums[lid] = v;
  workgroupBarrier();
  if (lid < WG / RAKE) {
    var run = 0u;
    for (var j = lid * RAKE; j < lid * RAKE + RAKE; j++) {
      run += sums[j];
      sums[j] = run;
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    var run = 0u;
    for (var g = 0u; g < WG / RAKE; g++) {
      run += sums[g * RAKE + RAKE - 1u];
      groupSums[g] = run;
    }
    scanTotal = run;
  }
  workgroupBarrier();
  var before = 0u;
  if (lid >= RAKE) { before = groupSums[lid / RAKE - 1u]; }
  return sums[lid] + before;
}
