// Tokenizing long documents (issue 17 item 4): the llama2c tokenizer's old merge loop (a scan of every pair
// per merge, quadratic) against the heap loop now in tok_llama2c.ts, on real TinyStories text joined into
// documents of 20k, 100k and 400k characters, and what harvest/CE now do per document: encodePrefix to the
// 511 tokens a --seq-len 512 cut keeps. Each result is checked equal to the old loop's where the old one ran.
// Then @huggingface/tokenizers (tok_hf.ts) on the same texts with a small byte-level BPE, with GPT-2's regex
// pre-tokenizer and without it (one 'word' of the whole text: the library's merge loop alone, a heap too).
// Run: `npx tsx bench/tokenize.ts [--old-400k]` (the old loop on 400k characters takes many minutes).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHfTokenizer } from '../src/model/tok_hf.js';
import { Llama2cTokenizer } from '../src/model/tok_llama2c.js';
import { encodePrefix } from '../src/model/tokenize_prefix.js';

const DIR = new URL('../../shared/data/stories260K/', import.meta.url).pathname;
const tok = new Llama2cTokenizer(DIR + 'tok512.bin', 512);

/** The old encode(): run.c's loop, scanning every adjacent pair for the best merge. */
function oldEncoder(file: string, vocab: number): (text: string) => number[] {
  const buf = readFileSync(file);
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
    const t: number[] = [lookup.get(' ')!];
    for (const ch of text) {
      const b = Buffer.from(ch, 'utf8');
      const id = lookup.get(b.toString('latin1'));
      if (id !== undefined) t.push(id);
      else for (const x of b) t.push(x + 3);
    }
    // The old loop kept each pair's merge in arrays and recomputed the two touched pairs (as tok_llama2c.ts did).
    const pid: number[] = [];
    const psc: number[] = [];
    const pair = (i: number) => {
      const id = lookup.get(keys[t[i]!]! + keys[t[i + 1]!]!);
      pid[i] = id ?? -1;
      psc[i] = id === undefined ? -Infinity : scores[id]!;
    };
    for (let i = 0; i + 1 < t.length; i++) pair(i);
    for (;;) {
      let bestAt = -1, best = -Infinity;
      for (let i = 0; i + 1 < t.length; i++) if (psc[i]! > best) [best, bestAt] = [psc[i]!, i];
      if (bestAt < 0) return t;
      t.splice(bestAt, 2, pid[bestAt]!);
      pid.splice(bestAt, 1);
      psc.splice(bestAt, 1);
      if (bestAt + 1 < t.length) pair(bestAt);
      else pid.length = psc.length = t.length - 1;
      if (bestAt > 0) pair(bestAt - 1);
    }
  };
}
const old = oldEncoder(DIR + 'tok512.bin', 512);

const stories = readFileSync(DIR + 'stories.jsonl', 'utf8').split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as { text: string }).text);
const corpus = stories.join(' ');
const doc = (n: number) => (corpus.length >= n ? corpus : corpus.repeat(Math.ceil(n / corpus.length))).slice(0, n);

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const r = f();
  return [r, (performance.now() - t0) / 1000];
};
const sizes = [20_000, 100_000, 400_000];
console.log(`node ${process.version}; corpus ${corpus.length} characters of TinyStories text`);
console.log('| characters | old loop (s) | heap loop (s) | speed-up | encodePrefix 511 tokens (ms) | characters tokenized |');
console.log('|---|---|---|---|---|---|');
for (const n of sizes) {
  const text = doc(n);
  const [now, tNew] = time(() => tok.encode(text));
  const runOld = n <= 100_000 || process.argv.includes('--old-400k');
  let tOld = NaN;
  if (runOld) {
    const [was, t] = time(() => old(text));
    tOld = t;
    if (was.length !== now.length || was.some((v, i) => v !== now[i])) throw new Error(`${n} characters: the heap loop differs from the old loop`);
  }
  const [p, tPre] = time(() => encodePrefix(tok, text, 511));
  if (p.ids.some((v, i) => v !== now[i])) throw new Error(`${n} characters: encodePrefix differs from the whole text's first tokens`);
  const f = (x: number) => (Number.isNaN(x) ? 'not run' : x.toFixed(3));
  console.log(`| ${n} | ${f(tOld)} | ${f(tNew)} | ${Number.isNaN(tOld) ? '—' : (tOld / tNew).toFixed(0) + '×'} | ${(tPre * 1000).toFixed(1)} | ${p.chars} |`);
}

// Hugging Face: a byte-level BPE over a few letters (the vocabulary of spec/model/hf.spec.ts); characters outside
// it are dropped (no unk), so this times the pre-tokenizer and the merge loop, not a real vocabulary's lookups.
const VOCAB = ['<|endoftext|>', 'a', 'b', 'c', 'd', 'Ġ', 'ab', 'Ġa', 'e', 'f', 'g', 'h', 'Ġb', 'Ġc', 'ca'];
console.log('\n| characters | HF, GPT-2 regex (s) | HF, no pre-split (s) | HF encodePrefix 511 tokens (ms) |');
console.log('|---|---|---|---|');
const hf = [true, false].map((useRegex) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({
    version: '1.0', truncation: null, padding: null, normalizer: null, post_processor: null,
    added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])), merges: ['a b', 'Ġ a', 'Ġ b', 'Ġ c', 'c a'] },
  }));
  const t = openHfTokenizer(dir, { vocabSize: VOCAB.length, configBos: 0, modelType: 'gpt2', warn: (l) => console.error(l) });
  rmSync(dir, { recursive: true, force: true });
  return t;
});
for (const n of sizes) {
  const text = doc(n).toLowerCase();
  const [whole, tRe] = time(() => hf[0]!.encode(text));
  const [, tNo] = time(() => hf[1]!.encode(text));
  const [p, tPre] = time(() => encodePrefix(hf[0]!, text, 511));
  if (p.ids.some((v, i) => v !== whole[i])) throw new Error(`${n} characters: HF encodePrefix differs from the whole text's first tokens`);
  console.log(`| ${n} | ${tRe.toFixed(3)} | ${tNo.toFixed(3)} | ${(tPre * 1000).toFixed(1)} |`);
}
