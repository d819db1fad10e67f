// attention: causal multi-head (grouped-query) attention over the sequences of one window, one invocation
// per (row, head). Online softmax in f32 over keys j <= t: running max m, normaliser l and a private
// accumulator of headDim (<= 256) values, rescaled when the max grows. Sequences are independent.
// Bindings: 0 q, 1 k, 2 v, 3 out, 4 Params. Matches ModelOps.attention (cpu/model.ts attentionF32).
override WG: u32 = 64;

struct Params {
  n: u32,        // invocations in this window = seqs * len * heads
  len: u32,
  heads: u32,
  kvHeads: u32,
  hd: u32,
  s0: u32,       // first sequence of the window
  qOrigin: u32,
  kOrigin: u32,
  vOrigin: u32,
  oOrigin: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WG + li;
  if (id >= params.n) { return; }
  let hd = params.hd;
  let h = id % params.heads;
  let rw = id / params.heads;                 // row within the window
  let t = rw % params.len;
  let row = params.s0 * params.len + rw;      // row of the tensor
  let seqStart = row - t;
  let kh = h / (params.heads / params.kvHeads);
  let qo = (row * params.heads + h) * hd - params.qOrigin;
  let kw = params.kvHeads * hd;
  var acc: array<f32, 256>;
  var qv: array<f32, 256>;
  for (var e = 0u; e < hd; e++) {
    qv[e] = q[qo + e];
    acc[e] = 0.0;
  }
  var m = -3.4028234663852886e38;
  var l = 0.0;
  for (var j = 0u; j <= t; j++) {
    let ko = (seqStart + j) * kw + kh * hd;
    var d = 0.0;
    for (var e = 0u; e < hd; e++) { d += qv[e] * k[ko + e - params.kOrigin]; }
    let sc = d * params.scale;
    if (sc > m) {
      let r = exp(m - sc);
      l *= r;
      for (var e = 0u; e < hd; e++) { acc[e] *= r; }
      m = sc;
    }
    let p = exp(sc - m);
    l += p;
    let vo = ko - params.vOrigin;
    for (var e = 0u; e < hd; e++) { acc[e] += p * v[vo + e]; }
  }
  let oo = (row * params.heads + h) * hd - params.oOrigin;
  for (var e = 0u; e < hd; e++) { out[oo + e] = acc[e] / l; }
}
