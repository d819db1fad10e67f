// What an input file IS, so that continuing earlier work (a resumed run, a continued harvest) can tell the
// file it started from from another one at the same path: a data file rewritten by a new harvest, a text
// file replaced, a tokenizer swapped.
//
// Identity: the size and a SHA-256 of the whole content, streamed in 8 MiB reads. A sampled hash (first,
// last and evenly spaced blocks) plus mtime is not enough: a re-harvest into the same file with the same
// shape can leave the sampled blocks' bytes alike only by chance, but an in-place edit of a few rows, or a
// copy that keeps mtime (`cp -p`, rsync -t), escapes it. The whole content is read once when the work
// starts (about a minute per 100 GB at disk speed, while the run itself reads it all at least once).
//
// Cheap re-checks: with the hash, the file's inode, mtime and ctime are recorded. ctime is set by the kernel
// on every write, rename or chmod and cannot be set by touch, cp -p or rsync, so a file whose size, inode,
// mtime and ctime all equal the recorded ones has not been written since: its recorded hash holds, at the
// cost of one stat. Any difference in them (a copy, a move to another disk, an edit) re-reads the file and
// compares the content hash; only a different hash or size refuses. A different size refuses at once.
// File times tick coarsely (a few ms), so a file written just before or after its fingerprint was taken can
// keep all four; as git does for its index ("racy" entries), the stat shortcut is trusted only for a file
// whose times are older than the fingerprint by RACY_MS; a younger one is re-read every time.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors.js';

export interface Fingerprint {
  /** Absolute path with symbolic links resolved (what the work read). */
  path: string;
  size: number;
  /** SHA-256 of the whole content, hex. */
  sha256: string;
  /** Change detectors: equal => not written since (see above). */
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
  /** When the hash was taken (ms since the epoch, the clock file times use). */
  takenAtMs: number;
}

/** A file's times must be this much older than its fingerprint for the stat shortcut (see above). */
export const RACY_MS = 3000;

const CHUNK = 8 << 20;

/** `p` absolute, with symbolic links resolved where it exists: `in/../in/x` and `./in/x` are one file. */
export function canonicalPath(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

/** SHA-256 of a file, streamed; `onBytes` is told the bytes read so far (progress of big inputs). */
export function sha256File(file: string, onBytes?: (done: number) => void): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
      onBytes?.(pos);
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function statOrThrow(file: string, what: string): fs.Stats {
  try {
    return fs.statSync(file);
  } catch {
    throw new DataError(`${file}: no such file (${what})`);
  }
}

/** The fingerprint of one file (reads it whole). */
export function fingerprintFile(file: string, onBytes?: (done: number) => void): Fingerprint {
  const real = canonicalPath(file);
  const takenAtMs = Date.now();
  const st = statOrThrow(real, 'an input to fingerprint');
  return { path: real, size: st.size, sha256: sha256File(real, onBytes), ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, takenAtMs };
}

/** The fingerprints of `files`, in order, with one progress callback over their total size. */
export function fingerprintFiles(files: readonly string[], onProgress?: (done: number, total: number) => void): Fingerprint[] {
  const total = files.reduce((a, f) => a + (fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
  let before = 0;
  return files.map((f) => {
    const fp = fingerprintFile(f, (n) => onProgress?.(before + n, total));
    before += fp.size;
    return fp;
  });
}

/**
 * Why `file` is not the input `was` recorded, or null when it is the same content. Re-reads the file only
 * when its size, inode, mtime or ctime differ from the record, or its times were too close to the
 * fingerprint to tell (`racyMs`).
 */
export function differs(was: Fingerprint, file: string, onBytes?: (done: number) => void, racyMs = RACY_MS): string | null {
  const real = canonicalPath(file);
  const st = fs.statSync(real, { throwIfNoEntry: false });
  if (!st) return 'it no longer exists';
  if (st.size !== was.size) return `its size changed (${was.size} bytes, now ${st.size})`;
  const settled = Math.max(was.mtimeMs, was.ctimeMs) < was.takenAtMs - racyMs;
  if (settled && st.ino === was.ino && st.mtimeMs === was.mtimeMs && st.ctimeMs === was.ctimeMs) return null;
  return sha256File(real, onBytes) === was.sha256 ? null : 'its content changed (same size, different SHA-256)';
}

export interface InputCheck {
  /** What the inputs are, for the message, e.g. "--data". */
  what: string;
  /** The recorded fingerprints, in order. */
  was: readonly Fingerprint[];
  /** The files now, in the same order. */
  now: readonly string[];
  /** How to get past a refusal. */
  fix: string;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Throw a DataError naming the first input that is not the one recorded (changed content, size, or a shard
 * added or missing); return normally when every input is the same content.
 */
export function checkInputs(c: InputCheck): void {
  const nowReal = c.now.map(canonicalPath);
  const wasSet = new Set(c.was.map((f) => f.path));
  const nowSet = new Set(nowReal);
  const missing = c.was.filter((f) => !nowSet.has(f.path));
  const added = nowReal.filter((f) => !wasSet.has(f));
  if (c.was.length !== nowReal.length) {
    const parts = [
      `${c.was.length} file${c.was.length === 1 ? '' : 's'} then, ${nowReal.length} now`,
      ...(missing.length ? [`not there now: ${missing.map((f) => f.path).join(', ')}`] : []),
      ...(added.length ? [`new: ${added.join(', ')}`] : []),
    ];
    throw new DataError(`${c.what} changed since the work began (${parts.join('; ')}); ${c.fix}`);
  }
  // Same count: compare in order (a folder moved elsewhere keeps its files' content, so content decides).
  const total = c.was.reduce((a, f) => a + f.size, 0);
  let before = 0;
  c.was.forEach((was, i) => {
    const file = nowReal[i]!;
    const why = differs(was, file, (n) => c.onProgress?.(before + n, total));
    if (why) throw new DataError(`${file} (${c.what}) is not the file the work began with: ${why}; ${c.fix}`);
    before += was.size;
  });
}

/** Fingerprints of a command's inputs by the flag that named them, e.g. { '--text': [...], '--model': [...] }. */
export type NamedInputs = Record<string, Fingerprint[]>;

/** The fingerprints of each flag's files (a harvest: --text, the model's files, --tokenizer). */
export function fingerprintNamed(files: Record<string, readonly string[]>, onProgress?: (done: number, total: number) => void): NamedInputs {
  return Object.fromEntries(Object.entries(files).map(([flag, list]) => [flag, fingerprintFiles(list, onProgress)]));
}

/**
 * Refuse continuing work whose inputs changed: each flag's files now against those recorded (a flag absent
 * from the record is not checked: work recorded before fingerprints). The message names the flag and file.
 */
export function checkNamedInputs(was: NamedInputs, now: Record<string, readonly string[]>, fix: string): void {
  for (const [flag, files] of Object.entries(now)) {
    const rec = was[flag];
    if (rec) checkInputs({ what: flag, was: rec, now: files, fix });
  }
}
