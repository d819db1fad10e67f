// NumPy .npy files: the header parser (v1.0, v2.0 and v3.0) behind the streaming source, and a writer.
// Accepted for reading: 2-D, C order, little-endian float32 ('<f4') or float16 ('<f2'); everything else
// (big-endian, Fortran order, other dtypes, other ranks, a data section of the wrong size) is refused with
// a DataError rather than guessed at. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import { AtomicFile, withAtomicFile } from '../io/atomic.js';
import { DataError } from './errors.js';
import { f32ToF16Array } from './half.js';
import { readUpTo } from './read.js';
import type { ElemType, MatrixLayout } from './layout.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
// numpy pads the header so the data starts on a 64-byte boundary.
const ALIGN = 64;

const DESCR: Record<string, ElemType> = { '<f4': 'f32', '<f2': 'f16' };

function readAt(fd: number, length: number, position: number): Uint8Array {
  const buf = new Uint8Array(length);
  return buf.subarray(0, readUpTo(fd, buf, position));
}

/** Parse and validate the header of the open .npy file `fd` (size `fileSize`). */
export function npyLayout(fd: number, file: string, fileSize: number): MatrixLayout {
  const pre = readAt(fd, 12, 0);
  if (pre.length < 10 || MAGIC.some((b, i) => pre[i] !== b)) {
    throw new DataError(`${file}: not a .npy file (bad magic)`);
  }
  const major = pre[6]!;
  const minor = pre[7]!;
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = pre[8]! | (pre[9]! << 8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (pre.length < 12) throw new DataError(`${file}: truncated .npy header`);
    headerLen = (pre[8]! | (pre[9]! << 8) | (pre[10]! << 16)) + pre[11]! * 2 ** 24;
    headerStart = 12;
  } else {
    throw new DataError(`${file}: unsupported .npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  }
  if (headerStart + headerLen > fileSize) {
    throw new DataError(`${file}: truncated .npy header (header length ${headerLen}, file is ${fileSize} bytes)`);
  }
  const raw = readAt(fd, headerLen, headerStart);
  const header = Buffer.from(raw).toString(major === 3 ? 'utf8' : 'latin1');
  const { dtype, rows, cols } = parseHeaderDict(header, file);
  const dataOffset = headerStart + headerLen;
  const want = rows * cols * elemSize(dtype);
  const have = fileSize - dataOffset;
  if (have !== want) {
    const what = have < want ? 'truncated' : 'size mismatch';
    throw new DataError(
      `${file}: ${what}: shape (${rows}, ${cols}) needs ${want} bytes of data, the file holds ${have} after its header`,
    );
  }
  return { file, format: 'npy', dtype, rows, cols, dataOffset };
}

function parseHeaderDict(header: string, file: string): { dtype: ElemType; rows: number; cols: number } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  if (descr === undefined) throw new DataError(`${file}: unsupported .npy dtype (structured or missing 'descr')`);
  const dtype = DESCR[descr];
  if (dtype === undefined) {
    const hint = descr.startsWith('>') ? 'big-endian data is not supported; ' : '';
    throw new DataError(`${file}: unsupported .npy dtype '${descr}' (${hint}expected '<f4' float32 or '<f2' float16)`);
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortran === undefined) throw new DataError(`${file}: malformed .npy header (no fortran_order)`);
  if (fortran === 'True') {
    throw new DataError(`${file}: fortran_order is True; save the array in C order (np.ascontiguousarray) first`);
  }
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new DataError(`${file}: malformed .npy header (no shape)`);
  const parts = shapeText
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (!parts.every((p) => /^\d+$/.test(p))) throw new DataError(`${file}: malformed .npy shape (${shapeText})`);
  const shape = parts.map(Number);
  if (shape.length !== 2) {
    throw new DataError(
      `${file}: array has shape (${shape.join(', ')}), ${shape.length}-D; expected a 2-D [rows, d] array`,
    );
  }
  return { dtype, rows: shape[0]!, cols: shape[1]! };
}

export function elemSize(dtype: ElemType): number {
  return dtype === 'f32' ? 4 : 2;
}

/** The bytes of a v1.0 .npy header for a C-order little-endian [rows, cols] array. */
export function npyHeader(dtype: 'f32' | 'f16', rows: number, cols: number): Uint8Array {
  const descr = dtype === 'f32' ? '<f4' : '<f2';
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const pad = (ALIGN - ((10 + dict.length + 1) % ALIGN)) % ALIGN;
  const text = dict + ' '.repeat(pad) + '\n';
  const out = new Uint8Array(10 + text.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = text.length & 0xff;
  out[9] = text.length >>> 8;
  out.set(Buffer.from(text, 'latin1'), 10);
  return out;
}

/**
 * Streams a float32 [rows, cols] .npy file to disk without holding it in memory; the file appears at
 * `path` atomically on `close()`, and only if exactly `rows` rows were written.
 */
export class NpyWriter {
  private readonly f: AtomicFile;
  private written = 0;

  constructor(
    readonly path: string,
    readonly rows: number,
    readonly cols: number,
  ) {
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 1) {
      throw new DataError(`${path}: bad .npy shape (${rows}, ${cols})`);
    }
    this.f = new AtomicFile(path);
    this.f.write(npyHeader('f32', rows, cols));
  }

  /** Append whole rows (data.length must be a multiple of cols). */
  writeRows(data: Float32Array): void {
    const n = data.length / this.cols;
    if (!Number.isInteger(n)) {
      throw new DataError(`${this.path}: ${data.length} values is not whole rows of ${this.cols}`);
    }
    if (this.written + n > this.rows) {
      throw new DataError(`${this.path}: more than the declared ${this.rows} rows written`);
    }
    this.f.write(data);
    this.written += n;
  }

  close(): void {
    if (this.written !== this.rows) {
      this.f.abort();
      throw new DataError(`${this.path}: ${this.written} rows written, ${this.rows} declared`);
    }
    this.f.commit();
  }

  abort(): void {
    this.f.abort();
  }
}

/** Write a [rows, cols] array as .npy (float32, or float16 rounded to nearest even) atomically. */
export function writeNpy(
  path: string,
  data: Float32Array,
  rows: number,
  cols: number,
  dtype: 'f32' | 'f16' = 'f32',
): void {
  if (data.length !== rows * cols) throw new DataError(`${path}: ${data.length} values for shape (${rows}, ${cols})`);
  withAtomicFile(path, (f) => {
    f.write(npyHeader(dtype, rows, cols));
    f.write(dtype === 'f32' ? data : f32ToF16Array(data));
  });
}
