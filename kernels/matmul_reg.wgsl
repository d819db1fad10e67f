// matmul_reg: C[M,N] (+)= opA(A)[M,K] . opB(B)[K,N] for one block, register-tiled without workgroup memory.
// Each invocation owns a 4x4 block of C in four vec4 accumulators and walks K one step at a time, loading
// 4 values of opA's column and 4 of opB's row. No barriers: on llvmpipe (a workgroup runs its invocations as
// coroutines, and each barrier is a context switch) this is ~4x faster than workgroup-memory tiling.
// Layout: A stored [M, lda] row-major ([K, lda] when TRANS_A), B stored [K, ldb] ([N, ldb] when TRANS_B),
// C [M, ldc]; aOff/bOff/cOff are element offsets of the block in the bindings. Indices beyond M or N are
// clamped for loads (their results are never stored), so any M, N, K works.
// Bindings: 0 a (read), 1 b (read), 2 c (read_write), 3 Params. Matches CpuBackend.matmul (f32 accumulation
// here vs f64 there). A workgroup covers 4*WGY rows x 4*WGX columns; tiles are numbered x fastest.
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WGX: u32 = 16;
override WGY: u32 = 8;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  lda: u32,
  ldb: u32,
  ldc: u32,
  aOff: u32,
  bOff: u32,
  cOff: u32,
  accumulate: u32, // 1: C += A.B (a later K block), 0: C = A.B
  tilesX: u32,     // workgroup tiles along N
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let tile = wg.x + wg.y * nwg.x;
  let tx = tile % params.tilesX;
  let ty = tile / params.tilesX;
  let row0 = (ty * WGY + lid.y) * 4u;
  let col0 = (tx * WGX + lid.x) * 4u;
  let M = params.M;
  let N = params.N;
  if (row0 >= M || col0 >= N) {
    return;
  }
  let rows = min(vec4u(row0) + vec4u(0u, 1u, 2u, 3u), vec4u(M - 1u));
  let cols = min(vec4u(col0) + vec4u(0u, 1u, 2u, 3u), vec4u(N - 1u));
  // Per-step strides and starting indices for the four rows of opA and four columns of opB.
  var ia: vec4u;
  var sa: u32;
  if (TRANS_A) { ia = rows + params.aOff; sa = params.lda; } else { ia = rows * params.lda + params.aOff; sa = 1u; }
  var ib: vec4u;
  var sb: u32;
  if (TRANS_B) { ib = cols * params.ldb + params.bOff; sb = 1u; } else { ib = cols + params.bOff; sb = params.ldb; }
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < params.K; k++) {
    let av = vec4f(a[ia.x], a[ia.y], a[ia.z], a[ia.w]);
    let bv = vec4f(b[ib.x], b[ib.y], b[ib.z], b[ib.w]);
    acc0 = fma(vec4f(av.x), bv, acc0);
    acc1 = fma(vec4f(av.y), bv, acc1);
    acc2 = fma(vec4f(av.z), bv, acc2);
    acc3 = fma(vec4f(av.w), bv, acc3);
    ia += vec4u(sa);
    ib += vec4u(sb);
  }
  let accs = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + i;
    if (r < M) {
      for (var j = 0u; j < 4u; j++) {
        let col = col0 + j;
        if (col < N) {
          let at = params.cOff + r * params.ldc + col;
          let prev = select(0.0, c[at], params.accumulate != 0u);
          c[at] = prev + accs[i][j];
        }
      }
    }
  }
}
