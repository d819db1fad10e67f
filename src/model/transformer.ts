// The inference-only forward pass of a decoder-only transformer (llama or gpt2 form, weights.ts) on any
// backend: the same contract and primitives as SAE training, plus the model primitives (model_ops.ts).
// A batch is `seqs` sequences padded to a common length `len` (row s*len + t); attention is causal within
// each sequence, so padding at the end of a sequence changes nothing before it.
// A residual hook sees the stream entering block n (TransformerLens blocks.n.hook_resid_pre, HF
// hidden_states[n]) and may overwrite it in place (CE splicing) or stop the pass there (harvesting).
import type { Backend, Storage } from '../backend/backend.js';
import { ropeTables } from '../backend/model_ops.js';
import type { Linear, ModelWeights, Norm } from './weights.js';
import { headDim } from './weights.js';

export interface Batch {
  /** [seqs*len] token ids (padding after each sequence's end). */
  tokens: Int32Array;
  /** [seqs*len] position of each row in its sequence. */
  positions: Int32Array;
  seqs: number;
  len: number;
}

export interface ResidHook {
  layer: number;
  /** Called with the [rows, dim] residual entering block `layer`; may overwrite it. */
  fn: (resid: Storage, rows: number) => void | Promise<void>;
  /** Stop after the hook (no logits). */
  stop?: boolean;
}

interface DevLinear {
  w: Storage;
  b: Storage | null;
  out: number;
  in: number;
}
interface DevNorm {
  w: Storage;
  b: Storage | null;
}

export class Transformer {
  readonly config: ModelWeights['config'];
  private readonly owned: Storage[] = [];
  private readonly embed: Storage;
  private readonly posEmbed: Storage | null;
  private readonly head: Storage;
  private readonly finalNorm: DevNorm;
  private readonly blocks: {
    attnNorm: DevNorm;
    q: DevLinear;
    k: DevLinear;
    v: DevLinear;
    o: DevLinear;
    mlpNorm: DevNorm;
    gate: DevLinear | null;
    up: DevLinear;
    down: DevLinear;
  }[];
  private readonly cos: Storage | null;
  private readonly sin: Storage | null;

  constructor(
    readonly be: Backend,
    w: ModelWeights,
  ) {
    this.config = w.config;
    const c = w.config;
    this.embed = this.upload(w.embed);
    this.posEmbed = w.posEmbed ? this.upload(w.posEmbed) : null;
    this.head = w.head === w.embed ? this.embed : this.upload(w.head);
    this.finalNorm = this.norm(w.finalNorm);
    this.blocks = w.blocks.map((b) => ({
      attnNorm: this.norm(b.attnNorm),
      q: this.linear(b.q),
      k: this.linear(b.k),
      v: this.linear(b.v),
      o: this.linear(b.o),
      mlpNorm: this.norm(b.mlpNorm),
      gate: b.gate ? this.linear(b.gate) : null,
      up: this.linear(b.up),
      down: this.linear(b.down),
    }));
    if (c.arch === 'llama') {
      const t = ropeTables(c.maxSeqLen, headDim(c), c.ropeTheta);
      this.cos = this.upload(t.cos);
      this.sin = this.upload(t.sin);
    } else {
      this.cos = this.sin = null;
    }
  }

  private upload(a: Float32Array): Storage {
    const s = this.be.alloc(a.length, 'f32');
    this.be.write(s, a);
    this.owned.push(s);
    return s;
  }
  private linear(l: Linear): DevLinear {
    return { w: this.upload(l.w), b: l.b ? this.upload(l.b) : null, out: l.out, in: l.in };
  }
  private norm(n: Norm): DevNorm {
    return { w: this.upload(n.w), b: n.b ? this.upload(n.b) : null };
  }

  /**
   * Run the model over a batch. Returns the logits [seqs*len, vocab] (the caller frees them), or null when
   * a hook with `stop` ended the pass.
   */
  async forward(batch: Batch, hook?: ResidHook): Promise<Storage | null> {
    const be = this.be;
    const c = this.config;
    const { seqs, len } = batch;
    const rows = seqs * len;
    if (batch.tokens.length !== rows || batch.positions.length !== rows) throw new Error(`forward: batch arrays must hold seqs*len = ${rows} entries`);
    if (len > c.maxSeqLen) throw new Error(`forward: sequence length ${len} exceeds the model's context ${c.maxSeqLen}`);
    if (hook && !(Number.isInteger(hook.layer) && hook.layer >= 0 && hook.layer < c.nLayers)) {
      throw new Error(`forward: layer ${hook.layer} out of range: the model has ${c.nLayers} blocks (layers 0..${c.nLayers - 1})`);
    }
    const d = c.dim;
    const hd = headDim(c);
    const tmp: Storage[] = [];
    const alloc = (n: number, dt: 'f32' | 'i32' = 'f32') => {
      const s = be.alloc(n, dt);
      tmp.push(s);
      return s;
    };
    const drop = (s: Storage) => {
      const i = tmp.indexOf(s);
      if (i >= 0) tmp.splice(i, 1);
      be.free(s);
    };
    try {
      // Embeddings: gather rows tok*dim + j (and position rows for gpt2).
      const idx = new Int32Array(rows * d);
      for (let r = 0; r < rows; r++) {
        const t = batch.tokens[r]!;
        if (!(t >= 0 && t < c.vocabSize)) throw new Error(`forward: token id ${t} outside the vocabulary (${c.vocabSize})`);
        for (let j = 0; j < d; j++) idx[r * d + j] = t * d + j;
      }
      const idxS = alloc(rows * d, 'i32');
      be.write(idxS, idx);
      let x = alloc(rows * d);
      be.gather(x, this.embed, idxS);
      const pos = alloc(rows, 'i32');
      be.write(pos, batch.positions);
      if (this.posEmbed) {
        for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) idx[r * d + j] = batch.positions[r]! * d + j;
        be.write(idxS, idx);
        const pe = alloc(rows * d);
        be.gather(pe, this.posEmbed, idxS);
        const x2 = alloc(rows * d);
        be.binary('add', x2, x, 'full', pe, 'full', rows, d);
        drop(x);
        drop(pe);
        x = x2;
      }
      drop(idxS);
      const normKind = c.arch === 'llama' ? 'rms' : 'layer';
      const applyNorm = (n: DevNorm, src: Storage) => {
        const o = alloc(rows * d);
        be.norm(normKind, o, src, n.w, n.b, rows, d, c.normEps);
        return o;
      };
      const lin = (l: DevLinear, src: Storage) => {
        const y = alloc(rows * l.out);
        be.matmul(y, src, l.w, rows, l.in, l.out, false, true);
        if (!l.b) return y;
        const yb = alloc(rows * l.out);
        be.binary('add', yb, y, 'full', l.b, 'row', rows, l.out);
        drop(y);
        return yb;
      };
      const addInto = (a: Storage, b: Storage) => {
        const s = alloc(rows * d);
        be.binary('add', s, a, 'full', b, 'full', rows, d);
        drop(a);
        drop(b);
        return s;
      };
      for (let l = 0; l < c.nLayers; l++) {
        if (hook && hook.layer === l) {
          await hook.fn(x, rows);
          if (hook.stop) return null;
        }
        const B = this.blocks[l]!;
        const h = applyNorm(B.attnNorm, x);
        let q = lin(B.q, h);
        let k = lin(B.k, h);
        const v = lin(B.v, h);
        drop(h);
        if (this.cos && this.sin) {
          const q2 = alloc(rows * d);
          be.rope(c.ropeStyle, q2, q, pos, this.cos, this.sin, rows, c.nHeads, hd);
          const k2 = alloc(rows * c.nKvHeads * hd);
          be.rope(c.ropeStyle, k2, k, pos, this.cos, this.sin, rows, c.nKvHeads, hd);
          drop(q);
          drop(k);
          q = q2;
          k = k2;
        }
        const att = alloc(rows * d);
        be.attention(att, q, k, v, seqs, len, c.nHeads, c.nKvHeads, hd, 1 / Math.sqrt(hd));
        drop(q);
        drop(k);
        drop(v);
        const o = lin(B.o, att);
        drop(att);
        x = addInto(x, o);
        const h2 = applyNorm(B.mlpNorm, x);
        let mid: Storage;
        if (B.gate) {
          const g = lin(B.gate, h2);
          const up = lin(B.up, h2);
          const sg = alloc(rows * B.gate.out);
          be.act('silu', sg, g);
          drop(g);
          mid = alloc(rows * B.up.out);
          be.binary('mul', mid, sg, 'full', up, 'full', rows, B.up.out);
          drop(sg);
          drop(up);
        } else {
          const up = lin(B.up, h2);
          mid = alloc(rows * B.up.out);
          be.act('gelu_tanh', mid, up);
          drop(up);
        }
        drop(h2);
        const down = lin(B.down, mid);
        drop(mid);
        x = addInto(x, down);
      }
      const xf = applyNorm(this.finalNorm, x);
      drop(x);
      const logits = be.alloc(rows * c.vocabSize, 'f32');
      be.matmul(logits, xf, this.head, rows, d, c.vocabSize, false, true);
      drop(xf);
      return logits;
    } finally {
      for (const s of tmp) be.free(s);
    }
  }

  dispose(): void {
    for (const s of this.owned) this.be.free(s);
    this.owned.length = 0;
  }
}
