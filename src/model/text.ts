// Text corpora for harvest and CE evaluation: a .txt file is one document per blank-line-separated block;
// a .jsonl file has one JSON object per line with a string `text` field. Errors name the file and line.
// Invalid UTF-8 is refused unless an encoding says what to do with it (TextEncoding).
import { readFileSync } from 'node:fs';
import { encodePrefix } from './tokenize_prefix.js';
import type { Tokenizer } from './tokenizer.js';

/**
 * How the text file's bytes become characters. 'utf8' (the default) refuses a file with invalid UTF-8: those
 * bytes would become U+FFFD tokens that no one asked for, silently. 'utf8-replace' replaces them with U+FFFD
 * and warns with the count; 'latin1' reads every byte as one character (ISO-8859-1).
 */
export type TextEncoding = 'utf8' | 'utf8-replace' | 'latin1';
export const TEXT_ENCODINGS: readonly TextEncoding[] = ['utf8', 'utf8-replace', 'latin1'];

export interface ReadDocumentsOptions {
  encoding?: TextEncoding;
  /** Where the utf8-replace count goes (default: stderr). */
  warn?: (line: string) => void;
}

/** Invalid UTF-8 in `raw`: how many U+FFFD the decoder put in, and the 1-based line of the first. */
function invalidUtf8(raw: Buffer, decoded: string): { count: number; line: number } {
  let inText = 0;
  for (let i = decoded.indexOf('\ufffd'); i >= 0; i = decoded.indexOf('\ufffd', i + 1)) inText++;
  let encoded = 0; // U+FFFD written in the file itself, as EF BF BD
  for (let i = raw.indexOf(REPLACEMENT); i >= 0; i = raw.indexOf(REPLACEMENT, i + 3)) encoded++;
  const strict = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  for (let at = 0; at < raw.length; line++) {
    const nl = raw.indexOf(0x0a, at);
    const end = nl < 0 ? raw.length : nl;
    try {
      strict.decode(raw.subarray(at, end));
    } catch {
      break;
    }
    at = end + 1;
  }
  return { count: inText - encoded, line };
}
const REPLACEMENT = Buffer.from([0xef, 0xbf, 0xbd]);

export function readDocuments(file: string, o: ReadDocumentsOptions = {}): string[] {
  const encoding = o.encoding ?? 'utf8';
  if (!TEXT_ENCODINGS.includes(encoding)) throw new Error(`--encoding ${String(encoding)}: expected one of ${TEXT_ENCODINGS.join(', ')}`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read text file ${file}: ${(err as Error).message}`);
  }
  let raw: string;
  if (encoding === 'latin1') raw = bytes.toString('latin1');
  else {
    raw = new TextDecoder('utf-8').decode(bytes);
    if (raw.includes('\ufffd')) {
      const bad = invalidUtf8(bytes, raw);
      if (bad.count > 0 && encoding === 'utf8') {
        throw new Error(
          `${file}: ${bad.count} invalid UTF-8 byte sequence${bad.count === 1 ? '' : 's'} (the first on line ${bad.line}), which would become U+FFFD tokens: ` +
            `convert the file to UTF-8 (iconv -f <its charset> -t utf-8), or pass --encoding utf8-replace to replace them with U+FFFD, or --encoding latin1 if it is Latin-1`,
        );
      }
      if (bad.count > 0) (o.warn ?? ((l: string) => console.error(l)))(`warning: ${file}: ${bad.count} invalid UTF-8 byte sequence${bad.count === 1 ? '' : 's'} replaced by U+FFFD (the first on line ${bad.line})`);
    }
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
