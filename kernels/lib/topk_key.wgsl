// The order-preserving u32 key of an f32 for the top-k kernels: larger values give larger keys, and -0 is
// canonicalised to +0 so that they tie (as `topkRows` in src/backend/cpu/select.ts).
fn key(v: f32) -> u32 {
  var b = bitcast<u32>(v);
  if (b == 0x80000000u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
