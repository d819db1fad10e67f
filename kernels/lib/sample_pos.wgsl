// Stratified sample positions for the sampled top-k brackets (topk_sample, topk_rows_sampled): sample j of S
// (S = 2^sBits) lies in stretch j of n equal stretches, at an offset from a fixed integer hash of j and
// `salt` (the row for per-row samples). The positions only change the speed of a select, never its result.
// floor(j * n / S) is computed without 64-bit products: j * (n >> s) + (j * (n mod S)) >> s, exact for s <= 16.
fn stretchStart(j: u32, n: u32, sBits: u32) -> u32 {
  let lo = n & ((1u << sBits) - 1u);
  return j * (n >> sBits) + ((j * lo) >> sBits);
}

fn mix(j: u32, salt: u32) -> u32 {
  var h = (j ^ 0x9e3779b9u ^ (salt * 0x27d4eb2fu)) * 0x85ebca6bu;
  h ^= h >> 13u;
  h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return h;
}

// Position in [0, n) of sample j of 2^sBits; needs n >= 2^sBits (every stretch holds at least one entry).
fn samplePos(j: u32, n: u32, sBits: u32, salt: u32) -> u32 {
  let s0 = stretchStart(j, n, sBits);
  let len = stretchStart(j + 1u, n, sBits) - s0;
  return s0 + mix(j, salt) % len;
}
