// Activation sources: a [rows, dIn] matrix of f32 rows, read a row range at a time. Backed by one .npy or
// .safetensors file, by a directory of shards (concatenated), or by memory. Files are never loaded whole:
// `readRows` does a positioned read of exactly the requested byte range (mmap-like, the OS page cache does the
// caching) and widens f16/bf16 to f32 on the fly, so a data set far larger than RAM can be streamed.
// Rows are returned as stored, NaN and Inf included; the loader decides what to do with them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from './errors.js';
import { bf16ToF32Array, f16ToF32Array } from './half.js';
import { elemSize, npyLayout } from './npy.js';
import { bytesOf, openOrThrow, readFully } from './read.js';
import { safetensorsHeader, safetensorsLayout } from './safetensors.js';
import type { ElemType, MatrixLayout } from './layout.js';
import { DEFAULT_SHARDS, selectShards } from './shards.js';

export type { ElemType, MatrixLayout };

export interface ActivationSource {
  readonly dIn: number;
  readonly rows: number;
  /** Copy rows [start, start + count) into out[0 .. count * dIn). */
  readRows(start: number, count: number, out: Float32Array): void;
  /** One line for logs: what is read, its shape and dtype. */
  describe(): string;
  close(): void;
}

export interface OpenOptions {
  /** The safetensors tensor to read (needed when a file holds more than one 2-D tensor). */
  tensor?: string;
  /** For a directory: a glob over file names choosing the shards (see SHARD_RULE). */
  shards?: string;
}

// Half-precision rows are read through a scratch buffer of this many elements (2 MiB).
const SCRATCH = 1 << 20;
// A directory of shards keeps at most this many files open at once.
const MAX_OPEN = 32;

function checkRange(src: ActivationSource, start: number, count: number, out: Float32Array): void {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > src.rows) {
    throw new RangeError(`readRows(${start}, ${count}) outside [0, ${src.rows}) of ${src.describe()}`);
  }
  if (out.length < count * src.dIn) {
    throw new RangeError(`readRows: out holds ${out.length} values, needs ${count * src.dIn}`);
  }
}

/** The layout of one .npy or .safetensors file, read from its header. */
export function fileLayout(file: string, opts: OpenOptions = {}): MatrixLayout {
  const fd = openOrThrow(file);
  try {
    return layoutOf(fd, file, opts);
  } finally {
    fs.closeSync(fd);
  }
}

function layoutOf(fd: number, file: string, opts: OpenOptions): MatrixLayout {
  const size = fs.fstatSync(fd).size;
  let layout: MatrixLayout;
  if (file.endsWith('.npy')) layout = npyLayout(fd, file, size);
  else if (file.endsWith('.safetensors')) layout = safetensorsLayout(safetensorsHeader(fd, file, size), opts.tensor);
  else throw new DataError(`${file}: unknown file type (expected .npy or .safetensors)`);
  if (layout.cols === 0) throw new DataError(`${file}: rows have 0 columns`);
  return layout;
}

/** One file's matrix. The descriptor is opened lazily and may be released and reopened (shard fd limit). */
export class FileSource implements ActivationSource {
  readonly dIn: number;
  readonly rows: number;
  private fd: number | null;
  private scratch: Uint16Array | null = null;

  constructor(
    readonly layout: MatrixLayout,
    fd: number | null = null,
  ) {
    this.dIn = layout.cols;
    this.rows = layout.rows;
    this.fd = fd;
  }

  static open(file: string, opts: OpenOptions = {}): FileSource {
    if (os.endianness() !== 'LE') throw new DataError(`${file}: big-endian hosts are not supported`);
    const fd = openOrThrow(file);
    try {
      return new FileSource(layoutOf(fd, file, opts), fd);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  readRows(start: number, count: number, out: Float32Array): void {
    checkRange(this, start, count, out);
    if (this.fd === null) this.fd = openOrThrow(this.layout.file);
    const { dtype, dataOffset, file } = this.layout;
    const n = count * this.dIn;
    const pos = dataOffset + start * this.dIn * elemSize(dtype);
    if (dtype === 'f32') {
      readFully(this.fd, bytesOf(out.subarray(0, n)), pos, file);
      return;
    }
    if (this.scratch === null || this.scratch.length < Math.min(SCRATCH, n)) {
      this.scratch = new Uint16Array(Math.min(SCRATCH, n));
    }
    const widen = dtype === 'f16' ? f16ToF32Array : bf16ToF32Array;
    for (let done = 0; done < n;) {
      const m = Math.min(this.scratch.length, n - done);
      const part = this.scratch.subarray(0, m);
      readFully(this.fd, bytesOf(part), pos + 2 * done, file);
      widen(part, out.subarray(done, done + m));
      done += m;
    }
  }

  describe(): string {
    const { file, tensor, dtype, rows, cols, format } = this.layout;
    return `${file}${tensor !== undefined ? `:${tensor}` : ''} (${rows} x ${cols} ${dtypeName(dtype)}, ${format})`;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function dtypeName(t: ElemType): string {
  return t === 'f32' ? 'float32' : t === 'f16' ? 'float16' : 'bfloat16';
}

/** The concatenation of shards along rows. */
export class ShardedSource implements ActivationSource {
  readonly dIn: number;
  readonly rows: number;
  /** starts[i] is the global index of shard i's first row; starts[n] = rows. */
  private readonly starts: number[];
  private readonly openOrder: FileSource[] = [];

  constructor(
    readonly dir: string,
    readonly shards: FileSource[],
    /** How the shards were chosen (a glob, or manifest.json), and the folder's files passed over, with why. */
    readonly rule = DEFAULT_SHARDS,
    readonly skipped: readonly string[] = [],
  ) {
    const first = shards[0];
    if (first === undefined) throw new DataError(`${dir}: no shards`);
    this.dIn = first.dIn;
    this.starts = [0];
    for (const s of shards) {
      if (s.dIn !== this.dIn) {
        const [bad, ref] = [path.basename(s.layout.file), path.basename(first.layout.file)];
        throw new DataError(`${dir}: shard ${bad} has d=${s.dIn}, but ${ref} has d=${this.dIn}`);
      }
      this.starts.push(this.starts[this.starts.length - 1]! + s.rows);
    }
    this.rows = this.starts[shards.length]!;
  }

  readRows(start: number, count: number, out: Float32Array): void {
    checkRange(this, start, count, out);
    let i = this.shardOf(start);
    let done = 0;
    while (done < count) {
      const shard = this.shards[i]!;
      const local = start + done - this.starts[i]!;
      const m = Math.min(count - done, shard.rows - local);
      if (m > 0) {
        this.touch(shard);
        shard.readRows(local, m, out.subarray(done * this.dIn));
        done += m;
      }
      i++;
    }
  }

  /** The last shard whose first row is <= row. */
  private shardOf(row: number): number {
    let lo = 0;
    let hi = this.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= row) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private touch(s: FileSource): void {
    if (s.isOpen) return;
    this.openOrder.push(s);
    if (this.openOrder.length > MAX_OPEN) this.openOrder.shift()!.close();
  }

  describe(): string {
    const types = [...new Set(this.shards.map((s) => dtypeName(s.layout.dtype)))].join('/');
    return `${this.dir} (${this.shards.length} shards by ${this.rule}, ${this.rows} x ${this.dIn} ${types})`;
  }

  /** For the run log: every shard read (name and rows) and every file passed over. */
  listing(): string {
    const read = this.shards.map((s) => `${path.basename(s.layout.file)} (${s.rows})`).join(', ');
    return `shards read: ${read}` + (this.skipped.length ? `; passed over: ${this.skipped.join(', ')}` : '');
  }

  close(): void {
    for (const s of this.shards) s.close();
    this.openOrder.length = 0;
  }
}

/** Rows held in memory (synthetic data, tests). */
export class MemorySource implements ActivationSource {
  readonly rows: number;

  constructor(
    readonly data: Float32Array,
    readonly dIn: number,
    readonly name = 'memory',
  ) {
    if (!Number.isInteger(dIn) || dIn < 1 || data.length % dIn !== 0) {
      throw new DataError(`${name}: ${data.length} values are not whole rows of d=${dIn}`);
    }
    this.rows = data.length / dIn;
  }

  readRows(start: number, count: number, out: Float32Array): void {
    checkRange(this, start, count, out);
    out.set(this.data.subarray(start * this.dIn, (start + count) * this.dIn));
  }

  describe(): string {
    return `${this.name} (${this.rows} x ${this.dIn} float32, in memory)`;
  }

  close(): void {}
}

/**
 * Open a file, or a directory of shards chosen by SHARD_RULE and taken in name order (plain code-unit
 * order: zero-pad shard numbers). Every shard must have the same d.
 */
export function openSource(p: string, opts: OpenOptions = {}): ActivationSource {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    throw new DataError(`${p}: no such file or directory`);
  }
  if (!stat.isDirectory()) {
    if (opts.shards !== undefined) throw new DataError(`--shards '${opts.shards}' needs --data to be a directory; ${p} is a file`);
    return FileSource.open(p, opts);
  }
  const { names, skipped, rule } = selectShards(p, opts.shards);
  if (names.length === 0) {
    const why = skipped.length ? ` (passed over: ${skipped.join(', ')})` : '';
    throw new DataError(`${p}: directory holds no .npy or .safetensors shards matching ${rule}${why}`);
  }
  if (os.endianness() !== 'LE') throw new DataError(`${p}: big-endian hosts are not supported`);
  const shards = names.map((n) => new FileSource(fileLayout(path.join(p, n), opts)));
  return new ShardedSource(p, shards, rule, skipped);
}

/** Read a whole source into memory (small data only: tests, tools). */
export function readMatrix(p: string, opts: OpenOptions = {}): { rows: number; cols: number; data: Float32Array } {
  const src = openSource(p, opts);
  try {
    const data = new Float32Array(src.rows * src.dIn);
    src.readRows(0, src.rows, data);
    return { rows: src.rows, cols: src.dIn, data };
  } finally {
    src.close();
  }
}

export { DEFAULT_SHARDS, SHARD_RULE, SIDE_FILES, globToRegExp, selectShards } from './shards.js';
