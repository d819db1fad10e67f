// llama2.c's tok*.bin tokenizer: int32 max_token_length, then per piece f32 score, int32 length, bytes.
// Encoding is run.c's encode() (a sentencepiece-BPE equivalent): a dummy-prefix space, per-character lookup
// of UTF-8 code points with <0xXX> byte fallback (ids 3 + byte), then repeatedly merge the adjacent pair whose
// merged piece exists with the highest score (leftmost on ties), in O(n log n) with a heap of pairs. Decoding strips the space after BOS (and at the start) and
// turns <0xXX> pieces back into bytes.
import { readFileSync } from 'node:fs';
import { MergeQueue } from './merge_queue.js';
import type { Tokenizer } from './tokenizer.js';

export class Llama2cTokenizer implements Tokenizer {
  readonly name: string;
  readonly bosId = 1;
  readonly eosId = 2;
  private readonly pieces: Uint8Array[] = [];
  private readonly scores: Float32Array;
  private readonly lookup = new Map<string, number>();
  /** Each piece's bytes as a latin1 string (the lookup key). */
  private readonly keys: string[] = [];
  /** Key bytes that some piece has right before the first key byte of a space (see canCutBefore). */
  private readonly joinsSpace = new Set<number>();

  constructor(file: string, vocabSize: number) {
    this.name = `llama2c:${file.split('/').pop()}`;
    const buf = readFileSync(file);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.scores = new Float32Array(vocabSize);
    let at = 4;
    for (let i = 0; i < vocabSize; i++) {
      if (at + 8 > buf.length) throw new Error(`${file}: truncated at piece ${i} of ${vocabSize} (is this the model's tokenizer?)`);
      this.scores[i] = view.getFloat32(at, true);
      const len = view.getInt32(at + 4, true);
      at += 8;
      if (len < 0 || at + len > buf.length) throw new Error(`${file}: bad length ${len} of piece ${i}`);
      const piece = new Uint8Array(buf.subarray(at, at + len));
      at += len;
      this.pieces.push(piece);
      const key = Buffer.from(piece).toString('latin1');
      this.keys.push(key);
      if (!this.lookup.has(key)) this.lookup.set(key, i);
    }
    const spaceFirst = this.lookup.has(' ') ? 0x20 : 0x3c; // ' ', or '<' of the byte piece <0x20>
    for (const k of this.keys) for (let j = 1; j < k.length; j++) if (k.charCodeAt(j) === spaceFirst) this.joinsSpace.add(k.charCodeAt(j - 1));
  }

  /**
   * A cut before a space is safe when no piece could span it. A token ending at the cut has a key ending with
   * the previous character's last UTF-8 byte (or with '>' when that character falls back to <0xXX> byte
   * pieces); a token starting at the cut has a key starting with the space's first key byte. A merge across
   * the cut would be a piece holding those two bytes side by side, so when no piece does, no merge ever joins
   * the two sides (merges only join adjacent tokens into pieces of the vocabulary), and encode(text) is
   * encode(text before the cut) followed by the rest's tokens.
   */
  canCutBefore(text: string, i: number): boolean {
    if (i <= 0 || text.charCodeAt(i) !== 0x20) return false;
    const lo = text.charCodeAt(i - 1);
    const hi = i >= 2 ? text.charCodeAt(i - 2) : 0;
    const start = lo >= 0xdc00 && lo <= 0xdfff && hi >= 0xd800 && hi <= 0xdbff ? i - 2 : i - 1;
    const ch = String.fromCodePoint(text.codePointAt(start)!);
    const bytes = Buffer.from(ch, 'utf8');
    const last = this.lookup.has(bytes.toString('latin1')) ? bytes[bytes.length - 1]! : 0x3e; // '>' of <0xXX>
    return !this.joinsSpace.has(last);
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  private id(bytes: Uint8Array): number | undefined {
    return this.lookup.get(Buffer.from(bytes).toString('latin1'));
  }

  encode(text: string): number[] {
    const tokens: number[] = [];
    if (text.length === 0) return tokens;
    const space = this.id(Buffer.from(' '));
    if (space !== undefined) tokens.push(space);
    for (const ch of text) {
      const bytes = Buffer.from(ch, 'utf8');
      const id = this.id(bytes);
      if (id !== undefined) tokens.push(id);
      else for (const b of bytes) tokens.push(b + 3);
    }
    return this.merge(tokens);
  }

  /**
   * run.c's merge loop on initial symbols: merge the best adjacent pair (highest score, leftmost on ties)
   * until none merges. The symbols form a linked list and candidate pairs a heap (merge_queue.ts), so the
   * whole loop is O(n log n) where the scan for the best pair made it quadratic (100k characters took 37 s).
   * A popped entry is used only while it is still current: both symbols alive and adjacent, and the pair's id
   * still the one computed for them (pairId[left]; it is recomputed whenever either symbol changes).
   */
  private merge(tokens: number[]): number[] {
    const n = tokens.length;
    if (n < 2) return tokens;
    const tok = Int32Array.from(tokens);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    const pairId = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const q = new MergeQueue();
    const consider = (i: number) => {
      const j = next[i]!;
      if (j < 0) {
        pairId[i] = -1;
        return;
      }
      const id = this.lookup.get(this.keys[tok[i]!]! + this.keys[tok[j]!]!);
      pairId[i] = id ?? -1;
      if (id !== undefined) q.push(this.scores[id]!, i, j, id);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    for (let e = q.pop(); e; e = q.pop()) {
      const [i, j, id] = e;
      if (!alive[i] || !alive[j] || next[i] !== j || pairId[i] !== id) continue;
      tok[i] = id;
      alive[j] = 0;
      const k = next[j]!;
      next[i] = k;
      if (k >= 0) prev[k] = i;
      consider(i);
      if (prev[i]! >= 0) consider(prev[i]!);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(tok[i]!);
    return out;
  }

  decode(ids: readonly number[]): string {
    const out: number[] = [];
    let prev = this.bosId; // the dummy-prefix space of the first piece is dropped too (as sentencepiece does)
    for (const id of ids) {
      if (id === this.bosId || id === this.eosId) {
        prev = id;
        continue;
      }
      const p = this.pieces[id] ?? new Uint8Array(0);
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(Buffer.from(p).toString('latin1'));
      if (m) out.push(parseInt(m[1]!, 16));
      else out.push(...(prev === this.bosId && p[0] === 0x20 ? p.subarray(1) : p));
      prev = id;
    }
    return Buffer.from(out).toString('utf8');
  }
}
