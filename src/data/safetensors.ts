// safetensors files: header parsing and validation, 2-D tensor selection for the streaming source,
// whole-tensor reads (SAELens weights) and an F32 writer.
// Layout: u64 little-endian header length N, N bytes of JSON
// {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...},
// then the data section; offsets are relative to the data section. https://github.com/huggingface/safetensors
import * as fs from 'node:fs';
import { withAtomicFile } from '../io/atomic.js';
import { DataError } from './errors.js';
import { bf16ToF32Array, f16ToF32Array } from './half.js';
import { bytesOf, openOrThrow, readFully } from './read.js';
import type { ElemType, MatrixLayout } from './layout.js';

export interface StTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}

export interface StHeader {
  file: string;
  tensors: StTensor[];
  metadata: Record<string, string>;
  /** File offset of the data section (8 + header length). */
  dataStart: number;
}

const DTYPE_SIZE: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};
const FLOAT: Record<string, ElemType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
// The reference implementation refuses headers over 100 MB; a larger one means a corrupt length field.
const MAX_HEADER = 100_000_000;

/** Parse and validate the header of the open safetensors file `fd` (size `fileSize`). */
export function safetensorsHeader(fd: number, file: string, fileSize: number): StHeader {
  if (fileSize < 8) throw new DataError(`${file}: truncated safetensors file (${fileSize} bytes, no header length)`);
  const pre = new Uint8Array(8);
  readFully(fd, pre, 0, file);
  const dv = new DataView(pre.buffer);
  const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (n > MAX_HEADER || 8 + n > fileSize) {
    throw new DataError(
      `${file}: safetensors header length ${n} does not fit the ${fileSize}-byte file (truncated or not safetensors)`,
    );
  }
  const raw = new Uint8Array(n);
  readFully(fd, raw, 8, file);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (err) {
    throw new DataError(`${file}: safetensors header is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(json)) throw new DataError(`${file}: safetensors header is not a JSON object`);
  const dataLen = fileSize - 8 - n;
  const metadata: Record<string, string> = {};
  const tensors: StTensor[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
        throw new DataError(`${file}: safetensors __metadata__ must map strings to strings`);
      }
      Object.assign(metadata, v);
      continue;
    }
    tensors.push(checkTensor(file, name, v, dataLen));
  }
  return { file, tensors, metadata, dataStart: 8 + n };
}

function checkTensor(file: string, name: string, v: unknown, dataLen: number): StTensor {
  const bad = (what: string): DataError => new DataError(`${file}: tensor '${name}': ${what}`);
  if (!isObject(v)) throw bad('entry is not an object');
  const { dtype, shape, data_offsets: offs } = v;
  if (typeof dtype !== 'string') throw bad('missing dtype');
  if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`bad shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isCount) || offs[0]! > offs[1]!) {
    throw bad(`bad data_offsets ${JSON.stringify(offs)}`);
  }
  const [begin, end] = offs as [number, number];
  const size = DTYPE_SIZE[dtype];
  if (size !== undefined) {
    const want = (shape as number[]).reduce((a, b) => a * b, 1) * size;
    if (end - begin !== want) {
      const span = `data_offsets [${begin}, ${end}] span ${end - begin} bytes`;
      throw bad(`${span}, shape [${shape.join(', ')}] of ${dtype} needs ${want}`);
    }
  }
  if (end > dataLen) {
    const where = `data_offsets [${begin}, ${end}] run past the ${dataLen}-byte data section`;
    throw bad(`${where} (file truncated or offsets out of range)`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function listing(h: StHeader): string {
  if (h.tensors.length === 0) return 'the file holds no tensors';
  return 'tensors: ' + h.tensors.map((t) => `${t.name} [${t.shape.join(', ')}] ${t.dtype}`).join(', ');
}

/** The 2-D float tensor `name`, or the file's only 2-D tensor when no name is given, as a row layout. */
export function safetensorsLayout(h: StHeader, tensorName?: string): MatrixLayout {
  let t: StTensor;
  if (tensorName !== undefined) {
    const found = h.tensors.find((x) => x.name === tensorName);
    if (found === undefined) throw new DataError(`${h.file}: no tensor '${tensorName}'; ${listing(h)}`);
    if (found.shape.length !== 2) {
      throw new DataError(
        `${h.file}: tensor '${tensorName}' has shape [${found.shape.join(', ')}]; expected a 2-D [rows, d] tensor`,
      );
    }
    t = found;
  } else {
    const twoD = h.tensors.filter((x) => x.shape.length === 2);
    if (twoD.length === 0) throw new DataError(`${h.file}: no 2-D tensor to read as activations; ${listing(h)}`);
    if (twoD.length > 1) {
      throw new DataError(`${h.file}: ${twoD.length} 2-D tensors, choose one with --tensor; ${listing(h)}`);
    }
    t = twoD[0]!;
  }
  const dtype = FLOAT[t.dtype];
  if (dtype === undefined) {
    throw new DataError(`${h.file}: tensor '${t.name}' is ${t.dtype}; expected F32, F16 or BF16`);
  }
  return {
    file: h.file,
    format: 'safetensors',
    tensor: t.name,
    dtype,
    rows: t.shape[0]!,
    cols: t.shape[1]!,
    dataOffset: h.dataStart + t.begin,
  };
}

export interface LoadedTensor {
  dtype: string;
  shape: number[];
  /** The values widened to f32. */
  data: Float32Array;
}

export interface LoadedSafetensors {
  metadata: Record<string, string>;
  /** Every tensor's header entry, loaded or not. */
  entries: StTensor[];
  tensors: Map<string, LoadedTensor>;
}

/** Read a whole safetensors file, or only the tensors in `names`, widening F16/BF16 to f32. */
export function readSafetensors(file: string, names?: readonly string[]): LoadedSafetensors {
  const fd = openOrThrow(file);
  try {
    const h = safetensorsHeader(fd, file, fs.fstatSync(fd).size);
    const tensors = new Map<string, LoadedTensor>();
    for (const t of h.tensors) {
      if (names !== undefined && !names.includes(t.name)) continue;
      const dtype = FLOAT[t.dtype];
      if (dtype === undefined) {
        throw new DataError(`${file}: tensor '${t.name}' is ${t.dtype}; expected F32, F16 or BF16`);
      }
      const numel = t.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(numel);
      if (dtype === 'f32') {
        readFully(fd, bytesOf(data), h.dataStart + t.begin, file);
      } else {
        const half = new Uint16Array(numel);
        readFully(fd, bytesOf(half), h.dataStart + t.begin, file);
        (dtype === 'f16' ? f16ToF32Array : bf16ToF32Array)(half, data);
      }
      tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data });
    }
    return { metadata: h.metadata, entries: h.tensors, tensors };
  } finally {
    fs.closeSync(fd);
  }
}

export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Write F32 tensors atomically. Names are sorted and the data laid out contiguously in that order (no holes,
 * as the format requires); the JSON header is padded with spaces to a multiple of 8 bytes so every tensor
 * starts 8-byte aligned.
 */
export function writeSafetensors(
  file: string,
  tensors: Record<string, F32Tensor>,
  metadata?: Record<string, string>,
): void {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new DataError(`${file}: '__metadata__' is not a tensor name`);
    const { shape, data } = tensors[name]!;
    const numel = shape.reduce((a, b) => a * b, 1);
    if (!shape.every(isCount) || numel !== data.length) {
      throw new DataError(`${file}: tensor '${name}' has ${data.length} values for shape [${shape.join(', ')}]`);
    }
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * numel] };
    offset += 4 * numel;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json, 'utf8') % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const pre = new Uint8Array(8);
  new DataView(pre.buffer).setBigUint64(0, BigInt(body.length), true);
  withAtomicFile(file, (f) => {
    f.write(pre);
    f.write(body);
    for (const name of names) f.write(tensors[name]!.data);
  });
}
