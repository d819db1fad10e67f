// What matmul_reg, matmul_reg4 and matmul_tiled share: C[M,N] (+)= opA(A)[M,K] . opB(B)[K,N] for one block.
// Layout: A stored [M, lda] row-major ([K, lda] when TRANS_A), B stored [K, ldb] ([N, ldb] when TRANS_B),
// C [M, ldc]; aOff/bOff/cOff are element offsets of the block in the bindings. Sizes and offsets are in
// elements, also where a and b are bound as vec4s. Tiles are numbered x fastest.
// The including kernel declares `alias AB`, the element type of the a and b bindings (f32 or vec4f).
// Bindings: 0 a (read), 1 b (read), 2 c (read_write), 3 bias (read), 4 relu (read_write), 5 Params. Matches
// CpuBackend.matmul (f32 accumulation here vs f64 there).
// Epilogue (Backend.matmul's `epi`, on the last K block only): C += bias[col] (bit `1` of epi), then
// relu[r, col] = max(C, 0) (bit `2`), a second output laid out like C (same offsets), so the encoder's
// pre-activation and activation come out of one pass over the product, as the separate add and relu give them.
override TRANS_A: bool = false;
override TRANS_B: bool = false;

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
  epi: u32,        // epilogue bits: 1 add bias, 2 write relu (0 on every K block but the last)
  biasOff: u32,    // element offset in `bias` of the block's first column
}

@group(0) @binding(0) var<storage, read> a: array<AB>;
@group(0) @binding(1) var<storage, read> b: array<AB>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> relu: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

// Writes (or adds, when accumulating) v to C[r, col0 .. col0 + 4), skipping what lies outside M x N.
fn storeRow(r: u32, col0: u32, v: vec4f) {
  if (r >= params.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let col = col0 + j;
    if (col < params.N) {
      let at = params.cOff + r * params.ldc + col;
      let prev = select(0.0, c[at], params.accumulate != 0u);
      var val = prev + v[j];
      if ((params.epi & 1u) != 0u) { val = val + bias[params.biasOff + col]; }
      c[at] = val;
      if ((params.epi & 2u) != 0u) { relu[at] = select(0.0, val, val > 0.0); }
    }
  }
}
