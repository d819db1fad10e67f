// matmul_tiled: C[M,N] (+)= opA(A)[M,K] . opB(B)[K,N] for one block, tiled through workgroup memory.
// A workgroup of 16x8 invocations computes a 64x64 tile of C; per K step of 16 it stages a 64x16 tile of
// opA and a 16x64 tile of opB in workgroup memory (zero-padded at the edges, loads coalesced along the
// stored layout), then each invocation accumulates an 8-row x 4-column block. The usual choice on real
// GPUs; on llvmpipe barriers are expensive and matmul_reg is faster (see matmul.ts).
// Layout, Params and bindings: lib/matmul_io.wgsl (scalar a and b).
const BM = 64u;
const BN = 64u;
const BK = 16u;
const WGX = 16u;
const WGY = 8u;
const THREADS = 128u;

alias AB = f32;

//#include "lib/matmul_io.wgsl"

var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

fn loadA(m: u32, k: u32) -> f32 {
  if (m >= params.M || k >= params.K) {
    return 0.0;
  }
  if (TRANS_A) {
    return a[params.aOff + k * params.lda + m];
  }
  return a[params.aOff + m * params.lda + k];
}

fn loadB(k: u32, n: u32) -> f32 {
  if (k >= params.K || n >= params.N) {
    return 0.0;
  }
  if (TRANS_B) {
    return b[params.bOff + n * params.ldb + k];
  }
  return b[params.bOff + k * params.ldb + n];
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let tile = wg.x + wg.y * nwg.x;
  let tileM = (tile / params.tilesX) * BM;
  let tileN = (tile % params.tilesX) * BN;
  var acc: array<vec4f, 8>;
  for (var i = 0u; i < 8u; i++) {
    acc[i] = vec4f(0.0);
  }
  for (var k0 = 0u; k0 < params.K; k0 += BK) {
    for (var q = 0u; q < 8u; q++) {
      let e = li + q * THREADS;
      // Walk the stored layout's contiguous axis with adjacent invocations.
      var kk: u32;
      var mm: u32;
      if (TRANS_A) { mm = e % BM; kk = e / BM; } else { kk = e % BK; mm = e / BK; }
      As[kk * BM + mm] = loadA(tileM + mm, k0 + kk);
      var kb: u32;
      var nn: u32;
      if (TRANS_B) { kb = e % BK; nn = e / BK; } else { nn = e % BN; kb = e / BN; }
      Bs[kb * BN + nn] = loadB(k0 + kb, tileN + nn);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let bo = kk * BN + lid.x * 4u;
      let bv = vec4f(Bs[bo], Bs[bo + 1u], Bs[bo + 2u], Bs[bo + 3u]);
      let ao = kk * BM + lid.y * 8u;
      for (var i = 0u; i < 8u; i++) {
        acc[i] = fma(vec4f(As[ao + i]), bv, acc[i]);
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 8u; i++) {
    storeRow(tileM + lid.y * 8u + i, tileN + lid.x * 4u, acc[i]);
  }
}
