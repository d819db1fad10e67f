// Text corpora for harvest and CE evaluation: a .txt file is one document per blank-line-separated block;
// a .jsonl file has one JSON object per line with a string `text` field. Errors name the file and line.
import { readFileSync } from 'node:fs';
import { encodePrefix } from './tokenize_prefix.js';
import type { Tokenizer } from './tokenizer.js';

export function readDocuments(file: string): string[] {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read text file ${file}: ${(err as Error).message}`);
  }
  if (file.endsWith('.jsonl')) {
    const docs: string[] = [];
    raw.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (err) {
        throw new Error(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
      }
      const t = (obj as { text?: unknown } | null)?.text;
      if (typeof t !== 'string') throw new Error(`${file}:${i + 1}: expected an object with a string "text" field`);
      if (t.length > 0) docs.push(t);
    });
    return docs;
  }
  if (!file.endsWith('.txt')) throw new Error(`${file}: unknown text format (expected .txt, one document per blank-line-separated block, or .jsonl with a "text" field)`);
  return raw
    .split(/\r?\n\s*\r?\n/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

export interface TokenizeProgress {
  /** Documents tokenized so far, of `of`. */
  documents: number;
  of: number;
  /** Tokens kept so far (BOS included). */
  tokens: number;
  /** Characters tokenized so far (the prefixes, not the whole documents). */
  chars: number;
}

export interface TokenizeOptions {
  /** Called about every `everyMs` (default 2000) and once at the end. */
  progress?: ((p: TokenizeProgress) => void) | null;
  everyMs?: number;
}

/** The progress line the CLI prints. */
export const formatTokenizeProgress = (p: TokenizeProgress): string => `tokenize: ${p.documents}/${p.of} documents, ${p.tokens} tokens`;

/**
 * Token ids of each document: BOS first, cut at seqLen tokens. Only the prefix of each document that the cut
 * needs is tokenized (tokenize_prefix.ts), so a 400k-character document costs what its first few thousand
 * characters cost.
 */
export function tokenizeDocuments(docs: readonly string[], tok: Tokenizer, seqLen: number, o: TokenizeOptions = {}): { ids: Int32Array[]; truncated: number } {
  if (!(Number.isInteger(seqLen) && seqLen >= 1)) throw new Error(`--seq-len must be a positive integer, got ${seqLen}`);
  let truncated = 0;
  let tokens = 0;
  let chars = 0;
  let last = performance.now();
  const every = o.everyMs ?? 2000;
  const ids = docs.map((d, i) => {
    const p = encodePrefix(tok, d, seqLen - 1);
    if (p.truncated) truncated++;
    tokens += p.ids.length + 1;
    chars += p.chars;
    if (o.progress && performance.now() - last >= every) {
      last = performance.now();
      o.progress({ documents: i + 1, of: docs.length, tokens, chars });
    }
    return Int32Array.from([tok.bosId, ...p.ids]);
  });
  o.progress?.({ documents: docs.length, of: docs.length, tokens, chars });
  return { ids, truncated };
}
