import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { AtomicFile, withAtomicFile, writeFileAtomic, writeJsonAtomic } from '../../src/io/atomic.js';
import { tempDir } from '../data/fixtures.js';

const s = suite('io/atomic');
const tmp = tempDir('atomic');
s.after(() => tmp.cleanup());

const leftovers = (): string[] => readdirSync(tmp.dir).filter((n) => n.includes('.tmp-'));

s('writes, overwrites, leaves no temporary files', () => {
  const f = tmp.path('a.bin');
  writeFileAtomic(f, new Uint8Array([1, 2, 3]));
  assert.equal([...readFileSync(f)], [1, 2, 3]);
  writeFileAtomic(f, new Float32Array([1.5]));
  assert.equal([...readFileSync(f)], [...new Uint8Array(new Float32Array([1.5]).buffer)]);
  writeFileAtomic(f, 'héllo');
  assert.is(readFileSync(f, 'utf8'), 'héllo');
  const j = tmp.path('b.json');
  writeJsonAtomic(j, { a: [1, 2], b: 'x' });
  assert.is(readFileSync(j, 'utf8'), '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "x"\n}\n');
  assert.equal(leftovers(), []);
});

s('the destination is untouched until commit, and after a failed write', () => {
  const f = tmp.path('c.txt');
  writeFileSync(f, 'old');
  const a = new AtomicFile(f);
  a.write(Buffer.from('new contents'));
  assert.is(readFileSync(f, 'utf8'), 'old', 'not visible before commit');
  assert.is(leftovers().length, 1);
  a.commit();
  assert.is(readFileSync(f, 'utf8'), 'new contents');
  assert.throws(() => a.write(new Uint8Array(1)), /already committed/);

  assert.throws(
    () =>
      withAtomicFile(f, (w) => {
        w.write(Buffer.from('partial'));
        throw new Error('disk full');
      }),
    /disk full/,
  );
  assert.is(readFileSync(f, 'utf8'), 'new contents');
  const b = new AtomicFile(f);
  b.write(Buffer.from('x'));
  b.abort();
  b.abort();
  assert.is(readFileSync(f, 'utf8'), 'new contents');
  assert.equal(leftovers(), []);
});

s('a missing directory is an error, not a silent success', () => {
  const f = tmp.path('no/such/dir/x.bin');
  assert.throws(() => writeFileAtomic(f, 'x'), /ENOENT/);
  assert.not.ok(existsSync(f));
});

s.run();
