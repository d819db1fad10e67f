// Dense f32 matmul for the CPU reference: out[m,n] = opA(a)[m,k] . opB(b)[k,n].
//
// Layout (BLIS-style packing; about 4 GFLOP/s on the 2-core EPYC dev box, 3.9x a plain i-k-j loop, see
// bench/RESULTS.md): opB is packed once into panels of 4 columns, [ceil(n/4)][k][4]; opA is packed per block of
// MC rows into panels of 4 rows, [ceil(MC/4)][k][4]. Packing applies transA/transB, so one micro-kernel
// serves all four cases, and zero-padding the panels lets edge tiles use the same kernel.
// The 4x4 micro-kernel keeps 16 accumulators in registers (JS numbers, i.e. f64) for the whole k loop.
//
// Accuracy: f32 * f32 products are exact in f64 (48 significant bits), so each out element is the f64 sum of
// exact products, rounded to f32 once on store: |out - exact| <= 2^-24 |exact| + k * 2^-53 * sum|a||b|.
// This is more accurate than an f32-accumulating GPU kernel; specs comparing the two bound the GPU's error.

const MR = 4;
const NR = 4;
/** Rows of opA packed per block: 64 x k f32 stays in L2 for k up to a few thousand. */
const MC = 64;

/**
 * Reusable packing buffers, grown on demand and held by the backend so repeated matmuls do not allocate.
 * The B buffer holds all of opB, so it grows to the largest k*n seen (75 MB for a 768 x 24576 weight).
 */
export class MatmulScratch {
  a = new Float32Array(0);
  b = new Float32Array(0);

  grow(aLen: number, bLen: number): void {
    if (this.a.length < aLen) this.a = new Float32Array(aLen);
    if (this.b.length < bLen) this.b = new Float32Array(bLen);
  }
}

/** Packs opB into 4-column panels: bp[(jb*k + p)*4 + t] = opB(p, 4jb + t), 0 beyond column n. */
function packB(bp: Float32Array, b: Float32Array, k: number, n: number, transB: boolean): void {
  const nb = Math.ceil(n / NR);
  for (let jb = 0; jb < nb; jb++) {
    const j0 = jb * NR;
    const w = Math.min(NR, n - j0);
    let q = jb * k * NR;
    for (let p = 0; p < k; p++, q += NR) {
      for (let t = 0; t < NR; t++) {
        // opB(p, j) is b[p*n + j], or b[j*k + p] when b is stored [n,k].
        bp[q + t] = t < w ? (transB ? b[(j0 + t) * k + p]! : b[p * n + j0 + t]!) : 0;
      }
    }
  }
}

/** Packs rows [i0, i0+mc) of opA into 4-row panels: ap[(ib*k + p)*4 + t] = opA(i0 + 4ib + t, p), 0 beyond m. */
function packA(ap: Float32Array, a: Float32Array, i0: number, mc: number, m: number, k: number, transA: boolean): void {
  const mb = Math.ceil(mc / MR);
  for (let ib = 0; ib < mb; ib++) {
    const r0 = i0 + ib * MR;
    const h = Math.min(MR, i0 + mc - r0);
    let q = ib * k * MR;
    for (let p = 0; p < k; p++, q += MR) {
      for (let t = 0; t < MR; t++) {
        // opA(i, p) is a[i*k + p], or a[p*m + i] when a is stored [k,m].
        ap[q + t] = t < h ? (transA ? a[p * m + r0 + t]! : a[(r0 + t) * k + p]!) : 0;
      }
    }
  }
}

/** One 4x4 tile of out at (i, j) from the A panel at ap[pa..] and the B panel at bp[q..]. */
function tile(
  o: Float32Array,
  ap: Float32Array,
  pa: number,
  bp: Float32Array,
  q: number,
  k: number,
  i: number,
  j: number,
  m: number,
  n: number,
): void {
  // prettier-ignore
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  // prettier-ignore
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  // prettier-ignore
  for (let p = 0; p < k; p++, pa += MR, q += NR) {
    const a0 = ap[pa]!, a1 = ap[pa + 1]!, a2 = ap[pa + 2]!, a3 = ap[pa + 3]!;
    const b0 = bp[q]!, b1 = bp[q + 1]!, b2 = bp[q + 2]!, b3 = bp[q + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  // prettier-ignore
  if (i + MR <= m && j + NR <= n) {
    let r = i * n + j;
    o[r] = c00; o[r + 1] = c01; o[r + 2] = c02; o[r + 3] = c03;
    r += n;
    o[r] = c10; o[r + 1] = c11; o[r + 2] = c12; o[r + 3] = c13;
    r += n;
    o[r] = c20; o[r + 1] = c21; o[r + 2] = c22; o[r + 3] = c23;
    r += n;
    o[r] = c30; o[r + 1] = c31; o[r + 2] = c32; o[r + 3] = c33;
    return;
  }
  const c = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  const h = Math.min(MR, m - i),
    w = Math.min(NR, n - j);
  for (let t = 0; t < h; t++) for (let u = 0; u < w; u++) o[(i + t) * n + j + u] = c[t * NR + u]!;
}

/** out = opA(a) . opB(b); sizes already validated by the caller, out distinct from a and b. */
export function matmulF32(
  o: Float32Array,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  scratch: MatmulScratch,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    o.fill(0);
    return;
  }
  const nb = Math.ceil(n / NR);
  scratch.grow(Math.ceil(Math.min(MC, m) / MR) * MR * k, nb * NR * k);
  const ap = scratch.a,
    bp = scratch.b;
  packB(bp, b, k, n, transB);
  for (let i0 = 0; i0 < m; i0 += MC) {
    const mc = Math.min(MC, m - i0);
    packA(ap, a, i0, mc, m, k, transA);
    const mb = Math.ceil(mc / MR);
    // Each B panel (k x 4) is reused from L1/L2 across the block's A panels.
    for (let jb = 0; jb < nb; jb++) {
      for (let ib = 0; ib < mb; ib++) tile(o, ap, ib * k * MR, bp, jb * k * NR, k, i0 + ib * MR, jb * NR, m, n);
    }
  }
}
