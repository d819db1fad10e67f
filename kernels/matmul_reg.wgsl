// matmul_reg: C[M,N] (+)= opA(A)[M,K] . opB(B)[K,N] for one block, register-tiled without workgroup memory.
// Each invocation owns a 4x4 block of C in four vec4 accumulators and walks K one step at a time, loading
// 4 values of opA's column and 4 of opB's row. No barriers: on llvmpipe (a workgroup runs its invocations as
// coroutines, and each barrier is a context switch) this is ~4x faster than workgroup-memory tiling.
// Indices beyond M or N are clamped for loads (their results are never stored), so any M, N, K works.
// Layout, Params and bindings: lib/matmul_io.wgsl (scalar a and b).
alias AB = f32;

//#include "lib/matmul_io.wgsl"
//#include "lib/matmul_reg_main.wgsl"

// The 4x4 block of opA . opB at (row0, col0), one K step per iteration.
fn block(row0: u32, col0: u32) -> array<vec4f, 4> {
  let M = params.M;
  let N = params.N;
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
  return array<vec4f, 4>(acc0, acc1, acc2, acc3);
}
