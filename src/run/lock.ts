// One process per output folder (a run, a sweep, a harvest): two processes writing one folder interleave
// their files silently (metrics.jsonl holding both runs' steps, a summary of one of them). The folder's lock
// file names its holder (pid, host, command, start time). A second process is refused with the holder's pid;
// a lock whose holder is gone (a pid not alive on this host: a process killed with SIGKILL, a power cut) is
// taken over with a note, so a crash never blocks a folder. Released on return, error and signal (runTrain
// and runSweep release it in `finally`; the interrupt watch turns a first signal into an exception), and on
// process exit as a last resort.
//
// The lock file is created complete in one step (written to a temporary file, then hard-linked to the lock
// name, which fails if the name exists), so a reader never sees a half-written lock. A stale lock is moved
// aside by one rename (only one of two racing processes can move a given file) and checked: if what was
// moved is not the stale lock it read (another process took the folder meanwhile), it is put back.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from '../data/errors.js';

export const LOCK_FILE = 'batchtopk.lock';

export interface LockHolder {
  pid: number;
  host: string;
  /** What holds it, e.g. "batchtopk train". */
  command: string;
  /** ISO time the lock was taken. */
  since: string;
  /** Tells this holder's lock from a later one of the same pid. */
  token: string;
}

/** A held lock; `release()` removes the lock file if it is still this holder's (safe to call twice). */
export interface FolderLock {
  readonly file: string;
  readonly holder: LockHolder;
  release(): void;
}

let counter = 0;
const held = new Set<HeldLock>();
let exitHook = false;

class HeldLock implements FolderLock {
  constructor(
    readonly file: string,
    readonly holder: LockHolder,
  ) {}

  release(): void {
    if (!held.delete(this)) return;
    // Only our own lock: after a takeover by another process (ours judged stale) the file is theirs.
    if (readHolder(this.file)?.token === this.holder.token) fs.rmSync(this.file, { force: true });
  }
}

/** The holder recorded in `file`, or null when there is none or it cannot be read as one. */
export function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof h?.pid === 'number' && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** Whether process `pid` exists on this host (EPERM: it exists but belongs to another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Create `file` holding `text`, complete, or throw EEXIST when it exists. */
function createExclusive(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${counter++}`);
  fs.writeFileSync(tmp, text, { flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    // A file system without hard links: exclusive create, then the write. A reader between the two sees
    // an empty file and takes it for stale: a narrow window, accepted where links are missing.
    fs.writeFileSync(file, text, { flag: 'wx' });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export interface LockOptions {
  /** What takes the lock, for the holder record and messages, e.g. "batchtopk train". */
  command: string;
  /** What the folder is, for messages, e.g. "--out" or "the sweep folder". */
  what?: string;
  /** Where a takeover note goes. */
  note?: (msg: string) => void;
}

/**
 * Take the lock of folder `dir` (created if missing) for this process, or throw a DataError naming the
 * holder's pid and host and the ways out.
 */
export function lockFolder(dir: string, o: LockOptions): FolderLock {
  mkdirWritable(dir, o.what ?? 'the output folder');
  const file = path.join(dir, LOCK_FILE);
  const holder: LockHolder = { pid: process.pid, host: os.hostname(), command: o.command, since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const text = JSON.stringify(holder) + '\n';
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      createExclusive(file, text);
      return hold(file, holder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(err, dir);
    }
    const other = readHolder(file);
    if (other && (other.host !== holder.host || pidAlive(other.pid))) {
      const where = other.host === holder.host ? '' : ` on host ${other.host}`;
      throw new DataError(
        `${dir} is in use by process ${other.pid}${where} (${other.command}, since ${other.since}): wait for it to finish or stop it, or use another ${o.what ?? 'folder'}; ` +
          `if no such process runs any more, delete ${file}`,
      );
    }
    // Stale (its process is gone) or unreadable: move it aside, then check that what moved is what we judged.
    const aside = `${file}.stale-${process.pid}-${counter++}`;
    try {
      fs.renameSync(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else moved it: try again
      throw writeError(err, dir);
    }
    const moved = readHolder(aside);
    if (moved && other && moved.token !== other.token && pidAlive(moved.pid)) {
      // A live lock taken between our read and our rename: give it back (the link fails only if yet another
      // process took the name, which then holds the folder) and try again, to be refused with its pid.
      try {
        fs.linkSync(aside, file);
      } catch {
        // the name is taken again: the next attempt reads whoever holds it
      }
      fs.rmSync(aside, { force: true });
      continue;
    }
    fs.rmSync(aside, { force: true });
    if (other) o.note?.(`${file}: taking over the lock of process ${other.pid} (${other.command}, since ${other.since}), which no longer runs`);
    else o.note?.(`${file}: taking over an unreadable lock file`);
  }
  throw new DataError(`${dir}: could not take the lock ${file} (other processes keep taking it); try again, or use another ${o.what ?? 'folder'}`);
}

function hold(file: string, holder: LockHolder): FolderLock {
  const l = new HeldLock(file, holder);
  held.add(l);
  if (!exitHook) {
    exitHook = true;
    // Last resort (process.exit, an uncaught error): the normal paths release in `finally`.
    process.on('exit', () => {
      for (const h of [...held]) h.release();
    });
  }
  return l;
}

/** Run `fn` holding the lock of `dir`; released however `fn` ends. */
export async function withFolderLock<T>(dir: string, o: LockOptions, fn: (lock: FolderLock) => Promise<T>): Promise<T> {
  const lock = lockFolder(dir, o);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}

/**
 * For a harvest: `lockFolder(out, { command: 'batchtopk harvest', what: '--out' })` before the first write,
 * `release()` in `finally`. Exported under this name so the harvest's call reads as what it does.
 */
export function lockHarvestFolder(dir: string, note?: (msg: string) => void): FolderLock {
  return lockFolder(dir, { command: 'batchtopk harvest', what: '--out', note });
}

/** Create `dir` (and its parents), or say plainly that it cannot be written. */
export function mkdirWritable(dir: string, what: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw writeError(err, dir, what);
  }
}

/** A file-system error while writing into `dir`, as one line that names the folder and the fix. */
export function writeError(err: unknown, dir: string, what = 'the output folder'): Error {
  const e = err as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOENT: 'a parent folder is missing or cannot be created',
    ENOTDIR: 'a parent of it is a file, not a folder',
    ENOSPC: 'no space left on the device',
    EEXIST: 'a file of that name is in the way',
  };
  if (!e?.code || !(e.code in why)) return e instanceof Error ? e : new Error(String(err));
  const fix = e.code === 'ENOSPC' ? 'free some space or choose another folder' : 'choose a writable folder';
  return new DataError(`${dir} (${what}) cannot be written: ${why[e.code]} (${e.code}); ${fix}`);
}
