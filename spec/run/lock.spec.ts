// Issue 17, item 7: one process per output folder. A second process on a folder is refused with the
// holder's pid; a lock left by a process that no longer runs is taken over with a note; the lock is
// released when the work ends, fails or is interrupted. Checked on the module, on runTrain, and on two
// real `train` processes aimed at one --out.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeNpy } from '../../src/data/npy.js';
import { LOCK_FILE, lockFolder, readHolder } from '../../src/run/lock.js';
import { runTrain } from '../../src/run/train.js';
import { SyntheticModel } from '../../src/synth.js';
import { cpu } from '../helpers/backends.js';
import { tempDir } from '../data/fixtures.js';

const s = suite('run/lock');
const tmp = tempDir('lock');
s.after(() => tmp.cleanup());
const bin = path.resolve(import.meta.dirname, '../../bin/batchtopk.js');
const env = { ...process.env, BATCHTOPK_DEBUG: '' };

/** A pid that existed and no longer runs. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const writeLock = (dir: string, h: object) => (fs.mkdirSync(dir, { recursive: true }), fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(h)));

s('a held folder is refused with the holder pid and the ways out; released, it can be taken again', () => {
  const dir = tmp.path('a');
  const l = lockFolder(dir, { command: 'batchtopk train', what: '--out' });
  const h = readHolder(path.join(dir, LOCK_FILE))!;
  assert.equal([h.pid, h.host, h.command], [process.pid, os.hostname(), 'batchtopk train']);
  assert.throws(() => lockFolder(dir, { command: 'batchtopk sweep', what: '--out' }), (e: Error) => e.message.includes(`${dir} is in use by process ${process.pid} (batchtopk train`) && /another --out; if no such process runs any more, delete .*batchtopk\.lock/.test(e.message));
  l.release();
  assert.not.ok(fs.existsSync(path.join(dir, LOCK_FILE)));
  l.release(); // twice is harmless
  lockFolder(dir, { command: 'x' }).release();
  assert.equal(fs.readdirSync(dir), [], 'no temporary or stale files left');
});

s('a lock whose process no longer runs is taken over with a note naming it; an unreadable one too', () => {
  const dir = tmp.path('b');
  const pid = deadPid();
  writeLock(dir, { pid, host: os.hostname(), command: 'batchtopk train', since: '2026-01-01T00:00:00Z', token: 'old' });
  const notes: string[] = [];
  const l = lockFolder(dir, { command: 'batchtopk train', note: (m) => notes.push(m) });
  assert.is(readHolder(path.join(dir, LOCK_FILE))!.pid, process.pid);
  assert.is(notes.length, 1);
  assert.match(notes[0]!, new RegExp(`taking over the lock of process ${pid} .*no longer runs`));
  l.release();
  fs.writeFileSync(path.join(dir, LOCK_FILE), '{"pid": 12'); // torn
  lockFolder(dir, { command: 'x', note: (m) => notes.push(m) }).release();
  assert.match(notes[1]!, /unreadable lock/);
  assert.equal(fs.readdirSync(dir), []);
});

s('a live lock of another host is refused naming the host; release never removes a lock that is not ours', () => {
  const dir = tmp.path('c');
  writeLock(dir, { pid: process.pid, host: 'elsewhere.example', command: 'batchtopk sweep', since: 'then', token: 't' });
  assert.throws(() => lockFolder(dir, { command: 'x' }), /in use by process \d+ on host elsewhere\.example/);
  fs.rmSync(path.join(dir, LOCK_FILE));
  const mine = lockFolder(dir, { command: 'x' });
  writeLock(dir, { pid: process.pid, host: os.hostname(), command: 'someone else', since: 'now', token: 'theirs' });
  mine.release();
  assert.is(readHolder(path.join(dir, LOCK_FILE))!.token, 'theirs', 'the other holder keeps its lock');
});

const data = tmp.path('acts.npy');
writeNpy(data, new SyntheticModel({ dIn: 8, nFeatures: 16, meanActive: 2, seed: 2 }).rows(0, 2000), 2000, 8);
const small = { data, arch: 'topk' as const, k: 2, dictSize: 16, batchSize: 64, steps: 3, quiet: true };

s('runTrain holds its --out: refused while another holds it; the lock is gone after success and after failure', async () => {
  const out = tmp.path('run');
  const other = lockFolder(out, { command: 'another batchtopk train' });
  try {
    await runTrain({ ...small, out }, cpu);
    assert.unreachable('should refuse a held folder');
  } catch (err) {
    assert.match((err as Error).message, new RegExp(`${out} is in use by process ${process.pid} \\(another batchtopk train`));
  } finally {
    other.release();
  }
  await runTrain({ ...small, out }, cpu);
  assert.not.ok(fs.existsSync(path.join(out, LOCK_FILE)), 'released after a run');
  const bad = tmp.path('bad');
  try {
    await runTrain({ ...small, out: bad, k: 100 }, cpu); // k > dict size: refused after the lock is taken
    assert.unreachable('should fail');
  } catch (err) {
    assert.match((err as Error).message, /k \(100\)/);
  }
  assert.not.ok(fs.existsSync(path.join(bad, LOCK_FILE)), 'released after an error');
});

s('two train processes on one --out: the second is refused with the first one pid and writes nothing', async () => {
  const out = tmp.path('two');
  const args = [bin, 'train', '--data', data, '--backend', 'cpu', '--batch-size', '64', '--k', '2', '--dict-size', '16', '--steps', '100000', '--log-every', '1', '--out', out];
  const first = spawn(process.execPath, args, { env });
  let err1 = '';
  first.stderr.on('data', (d) => (err1 += d));
  const exited = new Promise<number | null>((res) => first.on('close', (c) => res(c)));
  const metrics = path.join(out, 'metrics.jsonl');
  for (let i = 0; i < 6000 && (fs.statSync(metrics, { throwIfNoEntry: false })?.size ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 10));
  const before = fs.readFileSync(metrics, 'utf8').split('\n').length;
  const second = spawnSync(process.execPath, [...args, '--overwrite'], { env, encoding: 'utf8' });
  first.kill('SIGINT');
  const code = await exited;
  assert.is(second.status, 1, second.stderr);
  assert.match(second.stderr.trim(), new RegExp(`^batchtopk: ${out} is in use by process ${first.pid} \\(batchtopk train`));
  assert.is(code, 130, err1);
  const lines = fs.readFileSync(metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step as number);
  assert.ok(lines.length >= before - 1, 'the first run kept its metrics');
  assert.equal(lines, lines.map((_, i) => i + 1), 'one run only in metrics.jsonl');
  assert.not.ok(fs.existsSync(path.join(out, LOCK_FILE)), 'released after the signal');
});

s.run();
