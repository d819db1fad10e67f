// llama2.c's tok*.bin tokenizer: int32 max_token_length, then per piece f32 score, int32 length, bytes.
// Encoding is run.c's encode() (a sentencepiece-BPE equivalent): a dummy-prefix space, per-character lookup
// of UTF-8 code points with <0xXX> byte fallback (ids 3 + byte), then repeatedly merge the adjacent pair whose
// merged piece exists with the highest score (leftmost on ties). Decoding strips the space after BOS (and at the start) and
// turns <0xXX> pieces back into bytes.
import { readFileSync } from 'node:fs';
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
    // Merge the best adjacent pair (highest score, leftmost on ties) until none merges. Each pair's merge
    // (id and score) is kept in arrays and only the two pairs touching a merge are recomputed, so a merge
    // costs one numeric scan instead of a lookup per pair.
    const key = tokens.map((t) => this.keys[t]!);
    const pairId: number[] = [];
    const pairScore: number[] = [];
    const pair = (i: number) => {
      const id = this.lookup.get(key[i]! + key[i + 1]!);
      pairId[i] = id ?? -1;
      pairScore[i] = id === undefined ? -Infinity : this.scores[id]!;
    };
    for (let i = 0; i + 1 < tokens.length; i++) pair(i);
    for (;;) {
      let bestAt = -1;
      let best = -Infinity;
      for (let i = 0; i + 1 < tokens.length; i++) if (pairScore[i]! > best) {
        best = pairScore[i]!;
        bestAt = i;
      }
      if (bestAt < 0) break;
      const id = pairId[bestAt]!;
      tokens.splice(bestAt, 2, id);
      key.splice(bestAt, 2, this.keys[id]!);
      pairId.splice(bestAt, 1);
      pairScore.splice(bestAt, 1);
      if (bestAt + 1 < tokens.length) pair(bestAt);
      else {
        pairId.length = tokens.length - 1;
        pairScore.length = tokens.length - 1;
      }
      if (bestAt > 0) pair(bestAt - 1);
    }
    return tokens;
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
