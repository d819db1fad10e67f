// What a harvest folder keeps beside its activation rows: each row's token id and its position in its
// document (harvest.ts: tokens_NNNNN.npy / positions_NNNNN.npy, listed in manifest.json under token_files
// and position_files; a folder without a manifest, such as the shared stories260K one, holds one
// tokens*.npy and one positions*.npy). Rows are in the folder's row order across its shards, so row i's
// token is entry i of the concatenated token files. A row continues the previous row's document exactly
// when its position is the previous one's plus 1: that is how a row's context is cut at document edges.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors.js';

export interface RowTokens {
  /** Token id of every row. */
  ids: Int32Array;
  /** Position of every row within its document (0 = BOS). */
  positions: Int32Array;
  /** The files read, for logs. */
  files: string[];
}

const INT_DESCR: Record<string, { bytes: number; read: (v: DataView, at: number) => number }> = {
  '<i4': { bytes: 4, read: (v, at) => v.getInt32(at, true) },
  '<u4': { bytes: 4, read: (v, at) => v.getUint32(at, true) },
  '<i2': { bytes: 2, read: (v, at) => v.getInt16(at, true) },
  '<u2': { bytes: 2, read: (v, at) => v.getUint16(at, true) },
  '|u1': { bytes: 1, read: (v, at) => v.getUint8(at) },
  '<i8': { bytes: 8, read: (v, at) => Number(v.getBigInt64(at, true)) },
};

/** A 1-D (or [n, 1]) little-endian integer .npy file, read whole (token ids and positions are small). */
export function readIntNpy(file: string): Int32Array {
  const buf = fs.readFileSync(file);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (buf.length < 10 || magic.some((b, i) => buf[i] !== b)) throw new DataError(`${file}: not a .npy file (bad magic)`);
  const major = buf[6]!;
  const [len, start] = major === 1 ? [buf.readUInt16LE(8), 10] : [buf.readUInt32LE(8), 12];
  const header = buf.subarray(start, start + len).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const kind = descr !== undefined ? INT_DESCR[descr] : undefined;
  if (kind === undefined) throw new DataError(`${file}: dtype ${descr} is not an integer type this reader knows (${Object.keys(INT_DESCR).join(', ')})`);
  if (/'fortran_order':\s*True/.test(header)) throw new DataError(`${file}: Fortran order is not supported`);
  const dims = (shape ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (!(dims.length === 1 || (dims.length === 2 && dims[1] === 1))) throw new DataError(`${file}: shape (${shape}) is not a vector of token ids or positions`);
  const n = dims[0]!;
  const data = start + len;
  if (buf.length < data + n * kind.bytes) throw new DataError(`${file}: data section shorter than its ${n} entries`);
  const view = new DataView(buf.buffer, buf.byteOffset + data, n * kind.bytes);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = kind.read(view, i * kind.bytes);
  return out;
}

function concat(files: string[]): Int32Array {
  const parts = files.map(readIntNpy);
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The token ids and positions of the `rows` rows of the harvest folder `dir`: the manifest's token_files
 * and position_files when it lists them, else the folder's tokens*.npy and positions*.npy in name order.
 */
export function readRowTokens(dir: string, rows: number): RowTokens {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new DataError(`${dir}: features needs a harvest folder (activation shards with tokens_*.npy and positions_*.npy beside them, as 'batchtopk harvest' writes), not a single file`);
  }
  let tokenFiles: string[] | null = null;
  let positionFiles: string[] | null = null;
  const manifest = path.join(dir, 'manifest.json');
  if (fs.existsSync(manifest)) {
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { token_files?: string[]; position_files?: string[] };
    if (Array.isArray(m.token_files) && Array.isArray(m.position_files)) [tokenFiles, positionFiles] = [m.token_files, m.position_files];
  }
  if (tokenFiles === null || positionFiles === null) {
    const names = fs.readdirSync(dir).sort();
    tokenFiles = names.filter((n) => /^tokens.*\.npy$/.test(n));
    positionFiles = names.filter((n) => /^positions.*\.npy$/.test(n));
  }
  if (tokenFiles.length === 0 || positionFiles.length === 0) {
    throw new DataError(`${dir}: no token ids or positions beside the activations (expected tokens*.npy and positions*.npy, or manifest.json token_files/position_files, as 'batchtopk harvest' writes); features shows each row in its text, so it needs them`);
  }
  const full = (names: string[]) => names.map((n) => path.join(dir, n));
  const ids = concat(full(tokenFiles));
  const positions = concat(full(positionFiles));
  if (ids.length !== rows || positions.length !== rows) {
    throw new DataError(`${dir}: ${ids.length} token ids and ${positions.length} positions for ${rows} activation rows; they must be the same rows (re-run the harvest into an empty folder)`);
  }
  return { ids, positions, files: [...tokenFiles, ...positionFiles] };
}

/** Rows [start, end) of `row`'s document within `context` rows each side (and within [0, limit)). */
export function contextWindow(positions: Int32Array, row: number, context: number, limit: number): [number, number] {
  let start = row;
  while (start > 0 && row - start < context && positions[start]! === positions[start - 1]! + 1) start--;
  let end = row + 1;
  while (end < limit && end - row <= context && positions[end]! === positions[end - 1]! + 1) end++;
  return [start, end];
}
