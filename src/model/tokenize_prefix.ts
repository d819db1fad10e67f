// The first tokens of a long document without tokenizing all of it: harvest and CE keep at most --seq-len
// tokens per document, and real corpora have documents of 100k+ characters. The text is cut at a safe
// boundary (Tokenizer.canCutBefore: a point no merge can cross, so the tokens of the text before it are
// exactly the first tokens of the whole text), and the cut moves twice as far each time the prefix gives too
// few tokens, so the characters tokenized are at most about twice what the cut needs, whatever the
// document's length. spec/model/tokenize.spec.ts checks the equality against whole-text tokenization.
import type { Tokenizer } from './tokenizer.js';

export interface PrefixTokens {
  ids: number[];
  /** The whole text has more than maxTokens tokens. */
  truncated: boolean;
  /** Characters of the text that were tokenized (the last cut). */
  chars: number;
}

/** Tokens beyond maxTokens the prefix must give before the cut is trusted, for a tokenizer without its own
 * canCutBefore: the default boundary is a heuristic there (exact for GPT-2's byte-level pre-tokenizer, but a
 * normalizer or a merge across spaces could change the last few tokens of a prefix). A tokenizer with
 * canCutBefore proves its cuts exact and needs none. */
const MARGIN = 8;

/** The default boundary: a space after a non-space, where byte-level BPE pre-tokenizers (GPT-2's) always split. */
export function cutBeforeSpace(text: string, i: number): boolean {
  return i > 0 && text.charCodeAt(i) === 0x20 && !/\s/.test(text[i - 1]!);
}

/** The first safe cut at or after `from`, or text.length when there is none. */
function nextCut(tok: Tokenizer, text: string, from: number): number {
  const safe = tok.canCutBefore?.bind(tok) ?? cutBeforeSpace;
  for (let i = Math.max(1, from); i < text.length; i++) if (safe(text, i)) return i;
  return text.length;
}

/** The first `maxTokens` tokens of tok.encode(text) (no BOS), tokenizing only a prefix of the text. */
export function encodePrefix(tok: Tokenizer, text: string, maxTokens: number, firstChars = Math.max(256, 6 * maxTokens)): PrefixTokens {
  if (!(Number.isInteger(maxTokens) && maxTokens >= 0)) throw new Error(`encodePrefix: maxTokens must be a non-negative integer, got ${maxTokens}`);
  const margin = tok.canCutBefore ? 0 : MARGIN;
  let want = Math.max(1, firstChars);
  for (;;) {
    const cut = want >= text.length ? text.length : nextCut(tok, text, want);
    const ids = tok.encode(text.slice(0, cut));
    if (cut === text.length) return { ids: ids.slice(0, maxTokens), truncated: ids.length > maxTokens, chars: cut };
    if (ids.length >= maxTokens + margin && ids.length > 0) return { ids: ids.slice(0, maxTokens), truncated: true, chars: cut };
    want = 2 * cut;
  }
}
