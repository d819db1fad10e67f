// BatchTopK sampled bracket, step 4 (one invocation): the sieve's candidates hold the range's top k exactly
// when there are at least k of them (everything else lies below lo, under all of them) and all of them were
// stored (at most cap). Sets the skip flags: state[3] = 1 skips the rest of the sampled path, and the exact
// radix fallback's fb[3] = 1 skips the fallback; exactly one of the two runs.
// Bindings: 0 state (u32), 1 fallback state (u32), 2 Params.
struct Params {
  k: u32,
  cap: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<storage, read_write> state: array<u32>;
@group(0) @binding(1) var<storage, read_write> fb: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(1)
fn main() {
  let found = state[2];
  let ok = found >= p.k && found <= p.cap;
  state[3] = select(1u, 0u, ok);
  fb[3] = select(0u, 1u, ok);
}
