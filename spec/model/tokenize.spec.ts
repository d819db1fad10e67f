// Issue 17 item 4: the llama2c tokenizer's heap merge loop gives exactly what run.c's quadratic scan gives, and
// the prefix tokenization that harvest and CE use (tokenize_prefix.ts) gives exactly the first tokens of the
// whole text, while tokenizing only a bounded prefix of a long document.
// The reference below is the old encode() written again from run.c's description, with its own reader of the
// tok*.bin format: per character lookup with <0xXX> byte fallback after a dummy-prefix space, then repeatedly
// the adjacent pair with the highest score, leftmost on ties, scanning every pair.
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openHfTokenizer } from '../../src/model/tok_hf.js';
import { Llama2cTokenizer } from '../../src/model/tok_llama2c.js';
import { encodePrefix } from '../../src/model/tokenize_prefix.js';
import { tokenizeDocuments, type TokenizeProgress } from '../../src/model/text.js';
import type { Tokenizer } from '../../src/model/tokenizer.js';

const STORIES = new URL('../../../shared/data/stories260K/', import.meta.url).pathname;
const s = suite('model: tokenizers, linear merges and prefix tokenization');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-tok-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const RUNS = {
  numRuns: 200,
  reporter: (r: { failed: boolean; counterexample: unknown; errorInstance?: unknown }) => {
    if (r.failed) throw new Error(`${String((r.errorInstance as Error)?.message ?? r.errorInstance)}\n  counterexample ${JSON.stringify(r.counterexample)}`);
  },
};

/** run.c's encode() with the O(n^2) scan: the reference. */
function referenceEncoder(file: string, vocab: number): (text: string) => number[] {
  const buf = fs.readFileSync(file);
  const keys: string[] = [];
  const scores: number[] = [];
  let at = 4;
  for (let i = 0; i < vocab; i++) {
    scores.push(buf.readFloatLE(at));
    const len = buf.readInt32LE(at + 4);
    keys.push(buf.subarray(at + 8, at + 8 + len).toString('latin1'));
    at += 8 + len;
  }
  const lookup = new Map<string, number>();
  keys.forEach((k, i) => lookup.has(k) || lookup.set(k, i));
  return (text) => {
    if (text.length === 0) return [];
    const t: number[] = [];
    if (lookup.has(' ')) t.push(lookup.get(' ')!);
    for (const ch of text) {
      const b = Buffer.from(ch, 'utf8');
      const id = lookup.get(b.toString('latin1'));
      if (id !== undefined) t.push(id);
      else for (const x of b) t.push(x + 3);
    }
    for (;;) {
      let best = -Infinity, at = -1, bestId = -1;
      for (let i = 0; i + 1 < t.length; i++) {
        const id = lookup.get(keys[t[i]!]! + keys[t[i + 1]!]!);
        if (id !== undefined && scores[id]! > best) [best, at, bestId] = [scores[id]!, i, id];
      }
      if (at < 0) return t;
      t.splice(at, 2, bestId);
    }
  };
}

/** A llama2c tokenizer file: <unk>, <s>, </s>, the 256 byte pieces, then `pieces` with their scores. */
function writeTok(file: string, pieces: [string, number][]): number {
  const all: [string, number][] = [['<unk>', 0], ['\n<s>\n', 0], ['\n</s>\n', 0]];
  for (let b = 0; b < 256; b++) all.push([`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0]);
  all.push(...pieces);
  const parts: Buffer[] = [Buffer.from(new Int32Array([16]).buffer)];
  for (const [p, sc] of all) {
    const h = Buffer.alloc(8);
    h.writeFloatLE(sc, 0);
    const bytes = Buffer.from(p, 'latin1');
    h.writeInt32LE(bytes.length, 4);
    parts.push(h, bytes);
  }
  fs.writeFileSync(file, Buffer.concat(parts));
  return all.length;
}

const stories = new Llama2cTokenizer(STORIES + 'tok512.bin', 512);
const storiesRef = referenceEncoder(STORIES + 'tok512.bin', 512);
// Pieces that span spaces ("a b", "b  ", " ab a"), ties ("aa" everywhere in "aaaa") and a multi-byte é
// ("\xc3\xa9" in latin1): a cut before a space that follows "a" or "b" would be unsafe here.
const TRICKY: [string, number][] = [[' ', -1], ['a', -1], ['b', -1], ['\xc3\xa9', -1], ['aa', 5], ['ab', 4], [' a', 3], ['a b', 6], ['b  ', 2], [' ab a', 7], ['  ', 1], ['\xc3\xa9 ', 2]];
const trickyFile = path.join(tmp, 'tricky.bin');
const tricky = new Llama2cTokenizer(trickyFile, writeTok(trickyFile, TRICKY));
const trickyRef = referenceEncoder(trickyFile, TRICKY.length + 259);

/** Texts from a few characters that the vocabularies merge, with spaces, newlines and characters outside them. */
const text = (chars: string[], max = 300) => fc.array(fc.constantFrom(...chars), { maxLength: max }).map((a) => a.join(''));
const STORY_CHARS = ['a', 'b', 'e', 't', 'h', 'o', 'n', 's', ' ', ' ', ' ', '\n', '.', ',', 'The', ' was', 'é', '€', '😀', 'Ω', '\t'];
const TRICKY_CHARS = ['a', 'b', ' ', ' ', 'é', 'c', '😀', 'aa', ' ab a'];

s('llama2c heap merges equal the quadratic scan (stories tok512 and a vocabulary with ties and pieces across spaces)', () => {
  fc.assert(fc.property(text(STORY_CHARS), (t) => assert.equal(stories.encode(t), storiesRef(t), JSON.stringify(t))), RUNS);
  fc.assert(fc.property(text(TRICKY_CHARS), (t) => assert.equal(tricky.encode(t), trickyRef(t), JSON.stringify(t))), RUNS);
  // Leftmost on ties: "aaa" is [aa, a], not [a, aa] (plus the dummy-prefix space, which " a" takes first).
  assert.equal(tricky.encode('baaa').map((i) => TRICKY[i - 259]?.[0]), [' ', 'b', 'aa', 'a']);
  // The real stories text, one document.
  const doc = fs.readFileSync(STORIES + 'stories.jsonl', 'utf8').split('\n')[0]!;
  const story = (JSON.parse(doc) as { text: string }).text;
  assert.equal(stories.encode(story), storiesRef(story));
});

/** Every cut point the tokenizer calls safe really splits its tokenization. */
function cutsAreSafe(tok: Tokenizer, ref: (t: string) => number[], t: string): void {
  const whole = ref(t);
  for (let i = 1; i < t.length; i++) {
    if (!tok.canCutBefore!(t, i)) continue;
    const head = ref(t.slice(0, i));
    assert.equal(whole.slice(0, head.length), head, `cut at ${i} of ${JSON.stringify(t)}`);
  }
}

s('canCutBefore: the tokens before a safe cut are the first tokens of the whole text', () => {
  fc.assert(fc.property(text(TRICKY_CHARS, 60), (t) => cutsAreSafe(tricky, trickyRef, t)), RUNS);
  fc.assert(fc.property(text(STORY_CHARS, 60), (t) => cutsAreSafe(stories, storiesRef, t)), RUNS);
  // The tricky vocabulary has "a b": a cut between "a" and " b" is refused; after c it is safe.
  assert.not.ok(tricky.canCutBefore('a b', 1));
  assert.ok(tricky.canCutBefore('c b', 1));
});

s('encodePrefix: exactly the first N tokens of the whole text, and whether there were more', () => {
  const check = (tok: Tokenizer, ref: (t: string) => number[]) =>
    fc.property(text(STORY_CHARS.concat(TRICKY_CHARS), 400), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 1, max: 64 }), (t, n, first) => {
      const whole = ref(t);
      const p = encodePrefix(tok, t, n, first);
      assert.equal(p.ids, whole.slice(0, n), `${JSON.stringify(t)} n ${n} first ${first}`);
      assert.is(p.truncated, whole.length > n);
      assert.ok(p.chars <= t.length);
    });
  fc.assert(check(stories, storiesRef), RUNS);
  fc.assert(check(tricky, trickyRef), RUNS);
});

s('encodePrefix without canCutBefore keeps a margin: a tokenizer whose last token depends on the end of the text', () => {
  // One token per character, but the text's last character becomes 99 (like a normalizer stripping the end):
  // a prefix's last token is then not the whole text's, and only the margin keeps it out of the result.
  const endy: Tokenizer = {
    name: 'endy', vocabSize: 100, bosId: 0, decode: () => '',
    encode: (t) => Array.from(t, (c, i) => (i === t.length - 1 ? 99 : c.charCodeAt(0) % 90)),
  };
  // The first cut (after "aaaa") gives exactly 4 tokens, the last of them the end-of-text 99.
  assert.equal(encodePrefix(endy, 'aaaa bbbb', 4, 1).ids, endy.encode('aaaa bbbb').slice(0, 4));
  fc.assert(
    fc.property(text(['a', 'b', ' ', 'c'], 200), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 30 }), (t, n, first) => {
      const whole = endy.encode(t);
      const p = encodePrefix(endy, t, n, first);
      assert.equal(p.ids, whole.slice(0, n), `${JSON.stringify(t)} n ${n} first ${first}`);
      assert.is(p.truncated, whole.length > n);
    }),
    RUNS,
  );
});

// The byte-level BPE of spec/model/hf.spec.ts ("ab" and " a" merge), through @huggingface/tokenizers.
const VOCAB = ['<|endoftext|>', 'a', 'b', 'c', 'd', 'Ġ', 'ab', 'Ġa', 'e', 'f', 'g', 'h'];
const HF_TOKENIZER = {
  version: '1.0', truncation: null, padding: null,
  added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])), merges: ['a b', 'Ġ a'] },
};

s('encodePrefix on a Hugging Face byte-level BPE: the first N tokens of the whole text', () => {
  const dir = path.join(tmp, 'hf');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(HF_TOKENIZER));
  const hf = openHfTokenizer(dir, { vocabSize: VOCAB.length, configBos: 0, modelType: 'gpt2', warn: (l) => assert.unreachable(l) });
  fc.assert(
    fc.property(text(['a', 'b', 'c', ' ', ' ', 'ab', ' a', '\n', 'd'], 300), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 40 }), (t, n, first) => {
      const whole = hf.encode(t);
      const p = encodePrefix(hf, t, n, first);
      assert.equal(p.ids, whole.slice(0, n), `${JSON.stringify(t)} n ${n}`);
      assert.is(p.truncated, whole.length > n);
    }),
    RUNS,
  );
});

s('tokenizeDocuments: BOS + the cut of each document, only a bounded prefix of a long one, progress by documents and tokens', () => {
  const long = 'Once upon a time, there was a little girl named Lily. '.repeat(8000); // 432k characters
  const docs = ['Tom ran.', long, 'A cat sat on the mat and looked at the dog for a long time.'];
  const seen: TokenizeProgress[] = [];
  const r = tokenizeDocuments(docs, stories, 16, { progress: (p) => seen.push(p), everyMs: 0 });
  docs.forEach((d, i) => {
    const want = [1, ...storiesRef(d.length > 2000 ? d.slice(0, 2000) : d)].slice(0, 16);
    assert.equal(Array.from(r.ids[i]!), want);
  });
  assert.is(r.truncated, 2);
  // The long document was tokenized only as far as its first 16 tokens needed (the first cut: 256 characters).
  assert.ok(seen.at(-1)!.chars < 600, `tokenized ${seen.at(-1)!.chars} characters`);
  assert.equal(seen.map((p) => p.documents), [1, 2, 3, 3]);
  assert.is(seen.at(-1)!.tokens, r.ids.reduce((a, x) => a + x.length, 0));
  assert.is(seen.at(-1)!.of, 3);
});

s.run();
