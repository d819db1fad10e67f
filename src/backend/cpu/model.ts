// CPU reference of the ModelOps primitives (model_ops.ts): plain loops, statistics and dot products
// accumulated in f64 and rounded to f32 once per output, so the WebGPU kernels can be checked against it.
// Installed on CpuBackend by cpu.ts (Object.assign onto its prototype).
import { ArgChecks } from '../args.js';
import type { Storage } from '../backend.js';
import { checkModelArgs } from '../model_args.js';
import type { ActOp, ModelOps, NormKind, RopeStyle } from '../model_ops.js';
import { CpuStorage } from './storage.js';

const args = checkModelArgs(new ArgChecks((s): s is CpuStorage => s instanceof CpuStorage, 'CPU'));
const f = (s: CpuStorage): Float32Array => s.data as Float32Array;

export function normF32(kind: NormKind, o: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array | null, rows: number, cols: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const s = r * cols;
    let mean = 0;
    if (kind === 'layer') {
      for (let c = 0; c < cols; c++) mean += x[s + c]!;
      mean /= cols;
    }
    let ss = 0;
    for (let c = 0; c < cols; c++) {
      const d = x[s + c]! - mean;
      ss += d * d;
    }
    const inv = 1 / Math.sqrt(ss / cols + eps);
    for (let c = 0; c < cols; c++) o[s + c] = (x[s + c]! - mean) * inv * w[c]! + (b ? b[c]! : 0);
  }
}

export function actValue(op: ActOp, v: number): number {
  if (op === 'silu') return v / (1 + Math.exp(-v));
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
}

export function ropeF32(style: RopeStyle, o: Float32Array, x: Float32Array, pos: Int32Array, cos: Float32Array, sin: Float32Array, rows: number, heads: number, headDim: number): void {
  const half = headDim / 2;
  const P = cos.length / half;
  for (let r = 0; r < rows; r++) {
    const p = pos[r]!;
    if (p < 0 || p >= P) throw new Error(`rope: position ${p} of row ${r} outside the tables' ${P} positions`);
    for (let h = 0; h < heads; h++) {
      const base = (r * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[p * half + i]!;
        const sn = sin[p * half + i]!;
        const [a, bi] = style === 'interleaved' ? [base + 2 * i, base + 2 * i + 1] : [base + i, base + i + half];
        const x0 = x[a]!;
        const x1 = x[bi]!;
        o[a] = x0 * c - x1 * sn;
        o[bi] = x0 * sn + x1 * c;
      }
    }
  }
}

export function attentionF32(o: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, seqs: number, len: number, heads: number, kvHeads: number, hd: number, scale: number): void {
  const group = heads / kvHeads;
  const qw = heads * hd;
  const kw = kvHeads * hd;
  const sc = new Float64Array(len);
  const acc = new Float64Array(hd);
  for (let s = 0; s < seqs; s++) {
    for (let t = 0; t < len; t++) {
      const row = s * len + t;
      for (let h = 0; h < heads; h++) {
        const qo = row * qw + h * hd;
        const kh = Math.floor(h / group) * hd;
        let mx = -Infinity;
        for (let j = 0; j <= t; j++) {
          const ko = (s * len + j) * kw + kh;
          let d = 0;
          for (let e = 0; e < hd; e++) d += q[qo + e]! * k[ko + e]!;
          sc[j] = d * scale;
          if (sc[j]! > mx) mx = sc[j]!;
        }
        acc.fill(0);
        let z = 0;
        for (let j = 0; j <= t; j++) {
          const p = Math.exp(sc[j]! - mx);
          z += p;
          const vo = (s * len + j) * kw + kh;
          for (let e = 0; e < hd; e++) acc[e]! += p * v[vo + e]!;
        }
        for (let e = 0; e < hd; e++) o[qo + e] = acc[e]! / z;
      }
    }
  }
}

export function logSoftmaxF32(o: Float32Array, x: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const s = r * cols;
    let mx = -Infinity;
    for (let c = 0; c < cols; c++) if (x[s + c]! > mx) mx = x[s + c]!;
    let z = 0;
    for (let c = 0; c < cols; c++) z += Math.exp(x[s + c]! - mx);
    const lz = mx + Math.log(z);
    for (let c = 0; c < cols; c++) o[s + c] = x[s + c]! - lz;
  }
}

/** The ModelOps methods installed on CpuBackend's prototype. */
export const cpuModelOps: ModelOps = {
  norm(kind: NormKind, out: Storage, x: Storage, w: Storage, b: Storage | null, rows: number, cols: number, eps: number): void {
    const [o, xv, wv, bv] = args.norm(kind, out, x, w, b, rows, cols, eps);
    normF32(kind, f(o), f(xv), f(wv), bv ? f(bv) : null, rows, cols, eps);
  },
  act(op: ActOp, out: Storage, x: Storage): void {
    const [o, xv] = args.act(op, out, x);
    const ov = f(o);
    const xs = f(xv);
    for (let i = 0; i < ov.length; i++) ov[i] = actValue(op, xs[i]!);
  },
  rope(style: RopeStyle, out: Storage, x: Storage, pos: Storage, cos: Storage, sin: Storage, rows: number, heads: number, headDim: number): void {
    const [o, xv, pv, cv, sv] = args.rope(style, out, x, pos, cos, sin, rows, heads, headDim);
    ropeF32(style, f(o), f(xv), pv.data as Int32Array, f(cv), f(sv), rows, heads, headDim);
  },
  attention(out: Storage, q: Storage, k: Storage, v: Storage, seqs: number, len: number, heads: number, kvHeads: number, headDim: number, scale: number): void {
    const [o, qv, kv, vv] = args.attention(out, q, k, v, seqs, len, heads, kvHeads, headDim, scale);
    attentionF32(f(o), f(qv), f(kv), f(vv), seqs, len, heads, kvHeads, headDim, scale);
  },
  logSoftmax(out: Storage, x: Storage, rows: number, cols: number): void {
    const [o, xv] = args.logSoftmax(out, x, rows, cols);
    logSoftmaxF32(f(o), f(xv), rows, cols);
  },
};
