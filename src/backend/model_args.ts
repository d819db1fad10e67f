// Argument checks of the ModelOps primitives (model_ops.ts), shared by every backend so a misuse fails with
// the same message everywhere; each returns the handles in argument order.
import { dim, distinct, type ArgChecks, type Handle } from './args.js';
import { ACT_OPS, type ActOp, type NormKind, type RopeStyle } from './model_ops.js';
import type { Storage } from './types.js';

export function checkModelArgs<S extends Handle>(a: ArgChecks<S>) {
  return {
    norm(kind: NormKind, out: Storage, x: Storage, w: Storage, b: Storage | null, rows: number, cols: number, eps: number): [S, S, S, S | null] {
      const op = `norm(${String(kind)})`;
      if (kind !== 'rms' && kind !== 'layer') throw new Error(`norm: unknown kind '${String(kind)}'`);
      dim(op, 'rows', rows);
      dim(op, 'cols', cols, 1);
      if (!(eps >= 0)) throw new Error(`${op}: eps must be >= 0, got ${eps}`);
      if (kind === 'layer' && b === null) throw new Error(`${op}: a bias is required`);
      if (kind === 'rms' && b !== null) throw new Error(`${op}: takes no bias`);
      distinct(op, 'out', out, 'x', x);
      return [
        a.f32(op, 'out', out, rows * cols, 'rows*cols'),
        a.f32(op, 'x', x, rows * cols, 'rows*cols'),
        a.f32(op, 'w', w, cols, 'cols'),
        b === null ? null : a.f32(op, 'b', b, cols, 'cols'),
      ];
    },
    act(op: ActOp, out: Storage, x: Storage): [S, S] {
      if (!ACT_OPS.includes(op)) throw new Error(`act: unknown op '${String(op)}'`);
      const o = a.f32(`act(${op})`, 'out', out);
      return [o, a.f32(`act(${op})`, 'x', x, o.length, 'out.length')];
    },
    rope(style: RopeStyle, out: Storage, x: Storage, pos: Storage, cos: Storage, sin: Storage, rows: number, heads: number, headDim: number): [S, S, S, S, S] {
      const op = `rope(${String(style)})`;
      if (style !== 'interleaved' && style !== 'half') throw new Error(`rope: unknown style '${String(style)}'`);
      dim(op, 'rows', rows);
      dim(op, 'heads', heads, 1);
      dim(op, 'headDim', headDim, 2);
      if (headDim % 2 !== 0) throw new Error(`${op}: headDim must be even, got ${headDim}`);
      distinct(op, 'out', out, 'x', x);
      const c = a.f32(op, 'cos', cos);
      const s = a.f32(op, 'sin', sin, c.length, 'cos.length');
      if (c.length % (headDim / 2) !== 0) throw new Error(`${op}: cos has ${c.length} elements, not a multiple of headDim/2 = ${headDim / 2}`);
      return [
        a.f32(op, 'out', out, rows * heads * headDim, 'rows*heads*headDim'),
        a.f32(op, 'x', x, rows * heads * headDim, 'rows*heads*headDim'),
        a.i32(op, 'pos', pos, rows, 'rows'),
        c,
        s,
      ];
    },
    attention(out: Storage, q: Storage, k: Storage, v: Storage, seqs: number, len: number, heads: number, kvHeads: number, headDim: number, scale: number): [S, S, S, S] {
      const op = 'attention';
      dim(op, 'seqs', seqs);
      dim(op, 'len', len, 1);
      dim(op, 'heads', heads, 1);
      dim(op, 'kvHeads', kvHeads, 1);
      dim(op, 'headDim', headDim, 1);
      if (heads % kvHeads !== 0) throw new Error(`${op}: heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
      if (headDim > 256) throw new Error(`${op}: headDim ${headDim} > 256 is not supported`);
      if (!Number.isFinite(scale)) throw new Error(`${op}: scale must be finite, got ${scale}`);
      for (const [n, s] of [['q', q], ['k', k], ['v', v]] as const) distinct(op, 'out', out, n, s);
      const rows = seqs * len;
      return [
        a.f32(op, 'out', out, rows * heads * headDim, 'seqs*len*heads*headDim'),
        a.f32(op, 'q', q, rows * heads * headDim, 'seqs*len*heads*headDim'),
        a.f32(op, 'k', k, rows * kvHeads * headDim, 'seqs*len*kvHeads*headDim'),
        a.f32(op, 'v', v, rows * kvHeads * headDim, 'seqs*len*kvHeads*headDim'),
      ];
    },
    logSoftmax(out: Storage, x: Storage, rows: number, cols: number): [S, S] {
      dim('logSoftmax', 'rows', rows);
      dim('logSoftmax', 'cols', cols, 1);
      distinct('logSoftmax', 'out', out, 'x', x);
      return [a.f32('logSoftmax', 'out', out, rows * cols, 'rows*cols'), a.f32('logSoftmax', 'x', x, rows * cols, 'rows*cols')];
    },
  };
}

