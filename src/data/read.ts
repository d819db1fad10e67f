// Positioned reads that either fill the whole target or fail with a DataError naming the file:
// a short read of a regular file means it shrank or was truncated under us.
import * as fs from 'node:fs';
import { DataError } from './errors.js';

// One readSync call takes at most 2^31 - 1 bytes; stay well under.
const MAX_READ = 1 << 30;

/** Read up to `target.length` bytes at `position`; returns how many were read (less only at end of file). */
export function readUpTo(fd: number, target: Uint8Array, position: number): number {
  let done = 0;
  while (done < target.length) {
    const n = fs.readSync(fd, target, done, Math.min(target.length - done, MAX_READ), position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Fill `target` from `position` or throw. */
export function readFully(fd: number, target: Uint8Array, position: number, file: string): void {
  const n = readUpTo(fd, target, position);
  if (n !== target.length) {
    throw new DataError(`${file}: truncated: wanted ${target.length} bytes at offset ${position}, got ${n}`);
  }
}

/** The bytes of a typed array, for reading straight into it. */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** fs.openSync for reading, with a one-line DataError on failure. */
export function openOrThrow(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(
      `${file}: cannot open (${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)})`,
    );
  }
}
