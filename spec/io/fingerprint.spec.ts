// Issue 17, item 9: an input is its content. A file rewritten at the same path (same size, even with its
// mtime put back) is told apart from the one recorded; an unchanged file is re-checked by one stat, not a
// re-read; one file under two spellings is one input; a shard added or changed is named.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalPath, checkInputs, checkNamedInputs, differs, fingerprintFile, fingerprintFiles, fingerprintNamed, RACY_MS, sha256File } from '../../src/io/fingerprint.js';
import { tempDir } from '../data/fixtures.js';

const s = suite('io/fingerprint');
const tmp = tempDir('fp');
s.after(() => tmp.cleanup());

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 255);

s('the SHA-256 of the whole content, streamed across read chunks (20 MiB > one 8 MiB read)', () => {
  const f = tmp.path('big.bin');
  const data = bytes(20 << 20, 1);
  fs.writeFileSync(f, data);
  assert.is(sha256File(f), createHash('sha256').update(data).digest('hex'));
  const fp = fingerprintFile(f);
  assert.is(fp.size, data.length);
  assert.is(fp.path, canonicalPath(f));
});

s('an unchanged file is re-checked by a stat alone (once its times are settled); a copy elsewhere is re-read and accepted', () => {
  const f = tmp.path('a.bin');
  fs.writeFileSync(f, bytes(100_000, 2));
  const fp = fingerprintFile(f);
  let read = 0;
  assert.is(differs(fp, f, (n) => (read = n)), null);
  assert.is(read, 100_000, 'a file written just before its fingerprint is re-read (its times cannot tell)');
  read = 0;
  // As if fingerprinted RACY_MS after the last write (ctime cannot be aged, so the record is).
  assert.is(differs({ ...fp, takenAtMs: fp.takenAtMs + RACY_MS + 1 }, f, (n) => (read = n)), null);
  assert.is(read, 0, 'no byte read for a settled file not written since');
  const copy = tmp.path('copy.bin');
  fs.copyFileSync(f, copy);
  assert.is(differs(fp, copy, (n) => (read = n)), null, 'same content at another path');
  assert.is(read, 100_000, 'the copy (another inode) was read whole');
});

s('a same-size rewrite in the middle is caught even with the mtime put back', () => {
  const f = tmp.path('b.bin');
  const data = bytes(3 << 20, 3);
  fs.writeFileSync(f, data);
  fs.utimesSync(f, 1e9, 1e9); // whole seconds: utimes cannot put back a sub-millisecond mtime
  const fp = { ...fingerprintFile(f), takenAtMs: Date.now() + RACY_MS + 1 }; // settled: the stat shortcut applies
    const fd = fs.openSync(f, 'r+');
  fs.writeSync(fd, Uint8Array.of(data[1_500_000]! ^ 1), 0, 1, 1_500_000); // one bit, mid-file
  fs.closeSync(fd);
  fs.utimesSync(f, 1e9, 1e9); // the mtime put back, as `cp -p` or rsync -t would leave it
  assert.is(fs.statSync(f).mtimeMs, fp.mtimeMs);
  assert.match(differs(fp, f) ?? 'same', /content changed/);
  fs.appendFileSync(f, 'x');
  assert.match(differs(fp, f) ?? 'same', /size changed \(3145728 bytes, now 3145729\)/);
  fs.rmSync(f);
  assert.match(differs(fp, f) ?? 'same', /no longer exists/);
});

s('one file under two spellings (in/../in/x, a symbolic link) is one input', () => {
  fs.mkdirSync(tmp.path('in'));
  const x = tmp.path('in/x.npy');
  fs.writeFileSync(x, bytes(1000, 4));
  fs.symlinkSync(x, tmp.path('link.npy'));
  const rel = path.relative(process.cwd(), tmp.path('in/../in/x.npy'));
  assert.is(canonicalPath(rel), canonicalPath(x));
  assert.is(canonicalPath(tmp.path('link.npy')), canonicalPath(x));
  const was = fingerprintFiles([x]);
  checkInputs({ what: '--data', was, now: [tmp.path('in/../in/x.npy')], fix: 'fix' });
  checkInputs({ what: '--data', was, now: [tmp.path('link.npy')], fix: 'fix' });
});

s('checkInputs names the shard that changed, a shard added or missing, and says the way out', () => {
  fs.mkdirSync(tmp.path('shards'));
  const shard = (i: number) => tmp.path(`shards/acts_${i}.npy`);
  for (let i = 0; i < 3; i++) fs.writeFileSync(shard(i), bytes(5000, 10 + i));
  const was = fingerprintFiles([0, 1, 2].map(shard));
  const now = () => fs.readdirSync(tmp.path('shards')).sort().map((n) => tmp.path(`shards/${n}`));
  checkInputs({ what: '--data', was, now: now(), fix: 'put it back' });
  fs.writeFileSync(shard(1), bytes(5000, 99)); // replaced: a new inode, same size
  assert.throws(() => checkInputs({ what: '--data', was, now: now(), fix: 'put it back' }), (e: Error) => e.message.includes(canonicalPath(shard(1))) && /content changed.*put it back/.test(e.message));
  fs.writeFileSync(shard(1), bytes(5000, 11));
  checkInputs({ what: '--data', was, now: now(), fix: 'put it back' });
  fs.writeFileSync(shard(3), bytes(10, 1));
  assert.throws(() => checkInputs({ what: '--data', was, now: now(), fix: 'put it back' }), (e: Error) => /3 files then, 4 now; new: .*acts_3\.npy\); put it back/.test(e.message));
});

s('named inputs (a harvest: --text, --model, --tokenizer): a changed one is refused naming its flag and file', () => {
  const [text, model, tok] = ['t.jsonl', 'm.bin', 'tok.bin'].map((n) => tmp.path(n)) as [string, string, string];
  fs.writeFileSync(text, '{"text": "a"}\n');
  fs.writeFileSync(model, bytes(4096, 5));
  fs.writeFileSync(tok, bytes(512, 6));
  const now = { '--text': [text], '--model': [model], '--tokenizer': [tok] };
  const was = fingerprintNamed(now);
  checkNamedInputs(was, now, 'use the same files');
  fs.writeFileSync(tok, bytes(512, 7));
  assert.throws(() => checkNamedInputs(was, now, 'use the same files, or another --out'), (e: Error) => e.message === `${canonicalPath(tok)} (--tokenizer) is not the file the work began with: its content changed (same size, different SHA-256); use the same files, or another --out`);
  checkNamedInputs({ '--text': was['--text']! }, now, 'x'); // a flag not recorded is not checked
});

s.run();
