// Token streams stored as a 1-D uint16 .npy of documents back to back, each starting with BOS (id 1), as in
// shared/data/stories260K/tokens_u16.npy: split into documents.
import { readFileSync } from 'node:fs';

/** The raw elements of a 1-D '<u2' .npy file. */
export function readU16Npy(file: string): Uint16Array {
  const buf = readFileSync(file);
  const hlen = buf[8]! | (buf[9]! << 8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  if (!header.includes("'<u2'")) throw new Error(`${file}: expected a '<u2' .npy file`);
  const data = buf.subarray(10 + hlen);
  return new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

/** Split a BOS-delimited token stream into documents (each keeps its BOS). */
export function readStoriesDocs(file: string, bos = 1): Int32Array[] {
  const toks = readU16Npy(file);
  const docs: Int32Array[] = [];
  let start = 0;
  for (let i = 1; i <= toks.length; i++) {
    if (i === toks.length || toks[i] === bos) {
      docs.push(Int32Array.from(toks.subarray(start, i)));
      start = i;
    }
  }
  return docs;
}
