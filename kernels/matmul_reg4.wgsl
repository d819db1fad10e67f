// matmul_reg4: matmul_reg with vec4 loads, for blocks whose stored rows are whole vec4s: the contiguous
// dimension of each operand (K for A, M for A^T, N for B, K for B^T), the leading dimensions, the block
// offsets and K are multiples of 4 (matmul.ts checks and otherwise uses matmul_reg).
// Each invocation owns a 4x4 block of C and steps K by 4: it loads a 4x4 block of opA and of opB as four
// vec4s each (transposing in registers where the stored layout runs the other way) and does 16 vec4 FMAs.
// Indices beyond M or N along a non-contiguous direction are clamped (never stored).
// Layout, Params and bindings: lib/matmul_io.wgsl (a and b bound as vec4s; sizes and offsets in elements).
alias AB = vec4f;

//#include "lib/matmul_io.wgsl"
//#include "lib/matmul_reg_main.wgsl"

// The 4x4 block of opA . opB at (row0, col0), four K steps per iteration.
fn block(row0: u32, col0: u32) -> array<vec4f, 4> {
  let M = params.M;
  let N = params.N;
  // Starting vec4 index of each of the four loads, and the per-step (4 k) increment.
  var ia: vec4u;
  var sa: u32;
  if (TRANS_A) {
    ia = (vec4u(0u, 1u, 2u, 3u) * params.lda + params.aOff + row0) / 4u;
    sa = params.lda;
  } else {
    ia = (min(vec4u(row0) + vec4u(0u, 1u, 2u, 3u), vec4u(M - 1u)) * params.lda + params.aOff) / 4u;
    sa = 1u;
  }
  var ib: vec4u;
  var sb: u32;
  if (TRANS_B) {
    ib = (min(vec4u(col0) + vec4u(0u, 1u, 2u, 3u), vec4u(N - 1u)) * params.ldb + params.bOff) / 4u;
    sb = 1u;
  } else {
    ib = (vec4u(0u, 1u, 2u, 3u) * params.ldb + params.bOff + col0) / 4u;
    sb = params.ldb;
  }
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  let steps = params.K / 4u;
  for (var s = 0u; s < steps; s++) {
    // x0..x3: opA rows 0..3 over the 4 k's; y0..y3: opB rows k..k+3 over the 4 columns.
    var x0 = a[ia.x];
    var x1 = a[ia.y];
    var x2 = a[ia.z];
    var x3 = a[ia.w];
    if (TRANS_A) {
      let t = transpose(mat4x4f(x0, x1, x2, x3));
      x0 = t[0];
      x1 = t[1];
      x2 = t[2];
      x3 = t[3];
    }
    var y0 = b[ib.x];
    var y1 = b[ib.y];
    var y2 = b[ib.z];
    var y3 = b[ib.w];
    if (TRANS_B) {
      let t = transpose(mat4x4f(y0, y1, y2, y3));
      y0 = t[0];
      y1 = t[1];
      y2 = t[2];
      y3 = t[3];
    }
    acc0 = fma(vec4f(x0.x), y0, acc0);
    acc0 = fma(vec4f(x0.y), y1, acc0);
    acc0 = fma(vec4f(x0.z), y2, acc0);
    acc0 = fma(vec4f(x0.w), y3, acc0);
    acc1 = fma(vec4f(x1.x), y0, acc1);
    acc1 = fma(vec4f(x1.y), y1, acc1);
    acc1 = fma(vec4f(x1.z), y2, acc1);
    acc1 = fma(vec4f(x1.w), y3, acc1);
    acc2 = fma(vec4f(x2.x), y0, acc2);
    acc2 = fma(vec4f(x2.y), y1, acc2);
    acc2 = fma(vec4f(x2.z), y2, acc2);
    acc2 = fma(vec4f(x2.w), y3, acc2);
    acc3 = fma(vec4f(x3.x), y0, acc3);
    acc3 = fma(vec4f(x3.y), y1, acc3);
    acc3 = fma(vec4f(x3.z), y2, acc3);
    acc3 = fma(vec4f(x3.w), y3, acc3);
    ia += vec4u(sa);
    ib += vec4u(sb);
  }
  return array<vec4f, 4>(acc0, acc1, acc2, acc3);
}
