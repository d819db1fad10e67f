// matmul_reg4: matmul_reg with vec4 loads, for blocks whose stored rows are whole vec4s: the contiguous
// dimension of each operand (K for A, M for A^T, N for B, K for B^T), the leading dimensions, the block
// offsets and K are multiples of 4 (matmul.ts checks and otherwise uses matmul_reg).
// Each invocation owns a 4x4 block of C and steps K by 4: it loads a 4x4 block of opA and of opB as four
// vec4s each (transposing in registers where the stored layout runs the other way) and does 16 vec4 FMAs.
// Indices beyond M or N along a non-contiguous direction are clamped (never stored).
// Layout and Params as in matmul_reg.wgsl (sizes and offsets in elements).
// Bindings: 0 a (read, vec4), 1 b (read, vec4), 2 c (read_write), 3 Params. Matches CpuBackend.matmul.
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
  accumulate: u32,
  tilesX: u32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;
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
  let lda4 = params.lda / 4u;
  let ldb4 = params.ldb / 4u;
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
      let t0 = x0; let t1 = x1; let t2 = x2; let t3 = x3;
      x0 = vec4f(t0.x, t1.x, t2.x, t3.x);
      x1 = vec4f(t0.y, t1.y, t2.y, t3.y);
      x2 = vec4f(t0.z, t1.z, t2.z, t3.z);
      x3 = vec4f(t0.w, t1.w, t2.w, t3.w);
    }
    var y0 = b[ib.x];
    var y1 = b[ib.y];
    var y2 = b[ib.z];
    var y3 = b[ib.w];
    if (TRANS_B) {
      let t0 = y0; let t1 = y1; let t2 = y2; let t3 = y3;
      y0 = vec4f(t0.x, t1.x, t2.x, t3.x);
      y1 = vec4f(t0.y, t1.y, t2.y, t3.y);
      y2 = vec4f(t0.z, t1.z, t2.z, t3.z);
      y3 = vec4f(t0.w, t1.w, t2.w, t3.w);
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
