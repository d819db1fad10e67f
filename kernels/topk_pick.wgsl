// BatchTopK radix select, pick step (one workgroup): from the global digit histogram of the candidates,
// finds the digit bucket holding the kRem-th largest key, appends that digit to the prefix and subtracts
// the counts of the larger buckets from kRem. After the last digit, state = [T, r]: the exact cut key and
// how many keys equal to T must be kept. Zeroes the histogram for the next pass.
// Bindings: 0 hist [2048] (u32, read_write), 1 state [prefix, kRem, found, skip] (read_write; skip = 1: return
// at once, leaving the histogram as it is), 2 Params.
override WG: u32 = 128;

struct Params {
  shift: u32,
  bits: u32,
  first: u32, // 1 on the first pass: prefix 0 and kRem = k, state not read
  k: u32,
}

@group(0) @binding(0) var<storage, read_write> hist: array<u32>;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

//#include "lib/scan.wgsl"
//#include "lib/radix_digit.wgsl"

fn histAt(b: u32) -> u32 { return hist[b]; }

var<workgroup> skip: u32;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  // state[3] = 1: another path settled the select (topk_check); read once, uniformly.
  if (lid == 0u) { skip = state[3]; }
  if (workgroupUniformLoad(&skip) != 0u) { return; }
  let prefix = select(state[0], 0u, p.first == 1u);
  let kRem = select(state[1], p.k, p.first == 1u);
  // One invocation rewrites state below: every read of it must happen first.
  storageBarrier();
  let bins = 1u << p.bits;
  let d = pickDigit(lid, bins, kRem);
  if (d.x == 1u) {
    state[0] = prefix | (d.y << p.shift);
    state[1] = d.z;
  }
  // Clear the histogram for the next pass (each invocation its own span of it).
  let per = (bins + WG - 1u) / WG;
  for (var j = 0u; j < per; j++) {
    let q = lid * per + j;
    if (q < bins) { hist[bins - 1u - q] = 0u; }
  }
}
