// Atomic file writes: data goes to a temporary file in the destination's own directory (so the final
// rename never crosses a file system), is fsynced, then renamed over the destination, and the directory is
// fsynced so the rename itself survives a crash. A reader therefore sees the old file or the complete new
// one, never a torn write; a crash mid-write leaves at most a stray `.<name>.tmp-*` file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

let counter = 0;
// Temporary names must differ between writers of one shared folder: Slurm tasks on different nodes (or in
// containers on one node) can have the same pid, so the host and this process's start time name it too.
const WRITER = `${os.hostname()}-${process.pid}-${process.hrtime.bigint().toString(36)}`;

/** A file being written in place of `dest`; nothing is visible at `dest` until `commit()`. */
export class AtomicFile {
  readonly dest: string;
  readonly tmp: string;
  private fd: number | null;
  private pos = 0;
  private committed = false;

  constructor(dest: string) {
    this.dest = dest;
    this.tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.tmp-${WRITER}-${counter++}`);
    this.fd = fs.openSync(this.tmp, 'wx');
  }

  /** Append `data` (all of it; loops over short writes). */
  write(data: Uint8Array | ArrayBufferView): void {
    const fd = this.openFd();
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let done = 0;
    while (done < bytes.length) {
      // Bounded slices: one write call takes at most 2^31 - 1 bytes.
      const n = fs.writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30), this.pos);
      done += n;
      this.pos += n;
    }
  }

  /** Bytes written so far. */
  get size(): number {
    return this.pos;
  }

  /** fsync, close, rename over `dest`, fsync the directory. */
  commit(): void {
    const fd = this.openFd();
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
      this.fd = null;
    }
    fs.renameSync(this.tmp, this.dest);
    this.committed = true;
    syncDir(path.dirname(this.dest));
  }

  /** Drop the temporary file; `dest` is untouched. Safe to call after commit or twice. */
  abort(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    if (!this.committed) fs.rmSync(this.tmp, { force: true });
  }

  private openFd(): number {
    if (this.fd === null) throw new Error(`AtomicFile ${this.dest}: already committed or aborted`);
    return this.fd;
  }
}

function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic there.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Run `fill` against a fresh AtomicFile for `dest` and commit it; on any error the temporary is removed. */
export function withAtomicFile<T>(dest: string, fill: (f: AtomicFile) => T): T {
  const f = new AtomicFile(dest);
  try {
    const result = fill(f);
    f.commit();
    return result;
  } catch (err) {
    f.abort();
    throw err;
  }
}

/** Write `data` (bytes or a UTF-8 string) to `dest` atomically. */
export function writeFileAtomic(dest: string, data: Uint8Array | ArrayBufferView | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  withAtomicFile(dest, (f) => f.write(bytes));
}

/** Write `value` as pretty-printed JSON (2-space indent, trailing newline) to `dest` atomically. */
export function writeJsonAtomic(dest: string, value: unknown): void {
  writeFileAtomic(dest, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Replace the folder `dest` by the one `fill` writes: the new folder is built beside `dest` (same file
 * system), then swapped in by two renames (old out of the way, new in place) and the old one removed.
 * A reader sees the complete old folder or the complete new one; only between the two renames (no data is
 * written there) is `dest` briefly absent, and a crash there leaves both as `.<name>.old-*` / `.<name>.tmp-*`
 * beside it. On any error before the swap, `dest` is untouched and the temporary folder removed.
 */
export function replaceDirAtomic(dest: string, fill: (tmpDir: string) => void): void {
  const parent = path.dirname(dest);
  const base = path.basename(dest);
  const tmp = path.join(parent, `.${base}.tmp-${WRITER}-${counter++}`);
  const old = path.join(parent, `.${base}.old-${WRITER}-${counter++}`);
  fs.mkdirSync(tmp);
  try {
    fill(tmp);
    syncDir(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  fs.renameSync(dest, old);
  try {
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.renameSync(old, dest);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  syncDir(parent);
  fs.rmSync(old, { recursive: true, force: true });
}
