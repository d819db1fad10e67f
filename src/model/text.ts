// Text corpora for harvest and CE evaluation: a .txt file is one document per blank-line-separated block;
// a .jsonl file has one JSON object per line with a string `text` field. Errors name the file and line.
import { readFileSync } from 'node:fs';

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

/** Token ids of each document: BOS first, cut at seqLen tokens. */
export function tokenizeDocuments(docs: readonly string[], tok: { bosId: number; encode(t: string): number[] }, seqLen: number): { ids: Int32Array[]; truncated: number } {
  let truncated = 0;
  const ids = docs.map((d) => {
    const t = [tok.bosId, ...tok.encode(d)];
    if (t.length > seqLen) truncated++;
    return Int32Array.from(t.slice(0, seqLen));
  });
  return { ids, truncated };
}
