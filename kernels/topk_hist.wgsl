// BatchTopK radix select, histogram pass: counts, per digit value, the keys of one window of a range (or of
// the candidate buffer filled by topk_collect) that still match the prefix chosen by the earlier passes.
// Each workgroup builds a local atomic histogram over one tile of WG*ITEMS elements and merges its non-zero
// bins into the global histogram with atomicAdd.
// Keys are order-preserving u32s of the f32 values, -0 canonicalised to +0 (as `topkRows` in
// src/backend/cpu/select.ts).
// Bindings: 0 x window or candidates (f32, read), 1 state [prefix, kRem, candidates, skip] (read; skip = 1:
// return at once, the sampled path settled the select),
// 2 hist [2048] (atomic u32), 3 Params.
override WG: u32 = 128;
override ITEMS: u32 = 32;

struct Params {
  n: u32,      // elements in this window (mode 1: unused)
  xShift: u32, // index in `x` of the window's first element (binding offsets are aligned down)
  shift: u32,  // lowest bit of the digit
  bits: u32,   // digit width
  mask: u32,   // bits fixed by earlier passes (0 on the first pass)
  nx: u32,     // workgroups along x of the dispatch grid
  tiles: u32,  // tiles (workgroups) in this dispatch
  // 0: count x. 1: count the candidates, if they all fit (state[2] <= cap). 2: count x, only if they did not.
  mode: u32,
  cap: u32,
  _a: u32,
  _b: u32,
  _c: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> local: array<atomic<u32>, 2048>;

//#include "lib/topk_key.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * p.nx;
  let found = state[2];
  // The select this pass belongs to was settled by another path (topk_check).
  if (state[3] != 0u) { return; }
  if ((p.mode == 1u && found > p.cap) || (p.mode == 2u && found <= p.cap)) { return; }
  let n = select(p.n, found, p.mode == 1u);
  let base = tile * WG * ITEMS;
  if (tile >= p.tiles || base >= n) { return; }
  let prefix = state[0] & p.mask;
  let digitMask = (1u << p.bits) - 1u;
  let end = min(base + WG * ITEMS, n);
  for (var i = base + lid; i < end; i += WG) {
    let k = key(x[p.xShift + i]);
    if ((k & p.mask) == prefix) {
      atomicAdd(&local[(k >> p.shift) & digitMask], 1u);
    }
  }
  workgroupBarrier();
  for (var b = lid; b <= digitMask; b += WG) {
    let c = atomicLoad(&local[b]);
    if (c != 0u) {
      atomicAdd(&hist[b], c);
    }
  }
}
