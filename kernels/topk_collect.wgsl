// BatchTopK radix select, second histogram pass over x that also collects the candidates: like topk_hist
// (mode 0), and every value whose key matches the prefix is appended to `cand` (order irrelevant: later
// passes only histogram them), so the last pass reads the candidates instead of all of x. state[2] counts
// the matches (cleared by the host first); when they exceed `cap` nothing is kept and the last pass falls
// back to x (topk_hist modes 1 and 2).
// Bindings: 0 x window (f32, read), 1 state [prefix, kRem, found, skip] (atomic u32), 2 hist [2048] (atomic u32),
// 3 cand (f32, cap), 4 Params.
override WG: u32 = 128;
override ITEMS: u32 = 32;

struct Params {
  n: u32,
  xShift: u32,
  shift: u32,
  bits: u32,
  mask: u32,
  nx: u32,
  tiles: u32,
  mode: u32, // unused: the Params layout of topk_hist
  cap: u32,
  _a: u32,
  _b: u32,
  _c: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> cand: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> local: array<atomic<u32>, 2048>;
var<workgroup> skip: u32;

//#include "lib/topk_key.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x + wg.y * p.nx;
  if (tile >= p.tiles) { return; }
  // state[3] = 1: the sampled path settled the select (topk_check); read once, uniformly.
  if (lid == 0u) { skip = atomicLoad(&state[3]); }
  if (workgroupUniformLoad(&skip) != 0u) { return; }
  let prefix = atomicLoad(&state[0]) & p.mask;
  let digitMask = (1u << p.bits) - 1u;
  let base = tile * WG * ITEMS;
  let end = min(base + WG * ITEMS, p.n);
  var mine = 0u;
  for (var i = base + lid; i < end; i += WG) {
    let k = key(x[p.xShift + i]);
    if ((k & p.mask) == prefix) {
      atomicAdd(&local[(k >> p.shift) & digitMask], 1u);
      mine++;
    }
  }
  if (mine != 0u) {
    let at = atomicAdd(&state[2], mine);
    if (at + mine <= p.cap) {
      var j = at;
      for (var i = base + lid; i < end; i += WG) {
        let v = x[p.xShift + i];
        if ((key(v) & p.mask) == prefix) {
          cand[j] = v;
          j++;
        }
      }
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
