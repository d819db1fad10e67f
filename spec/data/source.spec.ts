import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/rng.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Array, f32ToF16Bits } from '../../src/data/half.js';
import { writeNpy } from '../../src/data/npy.js';
import { FileSource, MemorySource, ShardedSource, openSource, readMatrix } from '../../src/data/source.js';
import { bytes, rawSafetensors, save, tempDir, throwsWith } from './fixtures.js';

const s = suite('data/source');
const tmp = tempDir('src');
s.after(() => tmp.cleanup());

const D = 5;

/** A directory of three shards in three encodings; returns the expected concatenation (as read). */
function mixedShards(dir: string): Float32Array {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(42);
  const a = rng.fillNormal(new Float32Array(7 * D));
  const b = rng.fillNormal(new Float32Array(4 * D));
  const c = rng.fillNormal(new Float32Array(9 * D));
  // Name order (a, b, c) differs from creation order, and from natural number order.
  writeNpy(join(dir, 'shard-10.npy'), b, 4, D, 'f16');
  writeNpy(join(dir, 'shard-02.npy'), a, 7, D);
  const cb = f32ToBf16Array(c);
  save(join(dir, 'shard-3.safetensors'), rawSafetensors({ acts: { dtype: 'BF16', shape: [9, D], data: bytes(cb) } }));
  writeFileSync(join(dir, 'notes.txt'), 'not a shard');
  writeFileSync(join(dir, '.hidden.npy'), 'not a shard either');
  const out = new Float32Array(20 * D);
  out.set(a, 0);
  out.set(
    Float32Array.from(b, (x) => f16BitsToF32(f32ToF16Bits(x))),
    7 * D,
  );
  out.set(Float32Array.from(cb, bf16BitsToF32), 11 * D);
  return out;
}

s('a directory of mixed shards reads as their concatenation, any row range', () => {
  const dir = tmp.path('mixed');
  const want = mixedShards(dir);
  const src = openSource(dir);
  assert.ok(src instanceof ShardedSource);
  assert.equal([src.rows, src.dIn], [20, D]);
  assert.ok(src.describe().includes('3 shards'), src.describe());
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }), (x, y) => {
      const [lo, hi] = x <= y ? [x, y] : [y, x];
      const out = new Float32Array((hi - lo) * D + 3).fill(-7);
      src.readRows(lo, hi - lo, out);
      assert.equal(out.subarray(0, (hi - lo) * D), want.subarray(lo * D, hi * D));
      assert.equal([...out.subarray((hi - lo) * D)], [-7, -7, -7], 'nothing written past the rows');
    }),
    { numRuns: 100 },
  );
  src.close();
  assert.equal(readMatrix(dir).data, want);
});

s('shards with a different d are refused, naming both shards and dims', () => {
  const dir = tmp.path('mismatch');
  mkdirSync(dir);
  writeNpy(join(dir, 'a.npy'), new Float32Array(8), 2, 4);
  writeNpy(join(dir, 'b.npy'), new Float32Array(9), 3, 3);
  throwsWith(() => openSource(dir), dir, 'b.npy has d=3', 'a.npy has d=4');
});

s('missing paths, empty directories, unknown extensions, bad ranges', () => {
  throwsWith(() => openSource(tmp.path('nothing-here')), 'nothing-here', 'no such file');
  const empty = tmp.path('empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'x.txt'), '');
  throwsWith(() => openSource(empty), empty, 'no .npy or .safetensors');
  const txt = tmp.path('acts.bin');
  writeFileSync(txt, 'x');
  throwsWith(() => openSource(txt), txt, 'unknown file type');
  const f = tmp.path('small.npy');
  writeNpy(f, new Float32Array(6), 3, 2);
  const src = openSource(f);
  assert.throws(() => src.readRows(2, 2, new Float32Array(4)), /outside \[0, 3\)/);
  assert.throws(() => src.readRows(0, 3, new Float32Array(5)), /needs 6/);
  src.close();
});

s('a directory of many shards keeps a bounded number of files open', () => {
  const dir = tmp.path('many');
  mkdirSync(dir);
  const n = 40;
  for (let i = 0; i < n; i++)
    writeNpy(join(dir, `s${String(i).padStart(3, '0')}.npy`), new Float32Array([i, -i]), 1, 2);
  const src = openSource(dir) as ShardedSource;
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) src.readRows(i, 1, out.subarray(2 * i));
  assert.equal(
    [...out.filter((_, j) => j % 2 === 0)],
    Array.from({ length: n }, (_, i) => i),
  );
  assert.ok(src.shards.filter((x: FileSource) => x.isOpen).length <= 32);
  src.readRows(0, n, out);
  assert.is(out[2 * (n - 1) + 1], -(n - 1));
  src.close();
  assert.ok(src.shards.every((x) => !x.isOpen));
});

s('a shard folder takes shards by its rule: never side files, --shards globs, manifest.json, logged', () => {
  const dir = tmp.path('rule');
  mkdirSync(dir);
  const rows = (v: number, n = 2) => new Float32Array(n * D).fill(v);
  // Everything here has the same width, so only the rule can keep the side files out.
  writeNpy(join(dir, 'acts.npy'), rows(1), 2, D);
  writeNpy(join(dir, 'acts.dictionary.npy'), rows(9, 3), 3, D); // written by `batchtopk synth`
  writeNpy(join(dir, 'tokens.npy'), rows(7), 2, D);
  writeNpy(join(dir, 'positions_000.npy'), rows(7), 2, D);
  writeNpy(join(dir, 'held_out.npy'), rows(8), 2, D);
  writeFileSync(join(dir, 'README.md'), 'notes');
  const src = openSource(dir) as ShardedSource;
  assert.equal(src.shards.map((x) => x.layout.file), [join(dir, 'acts.npy')]);
  assert.is(src.rows, 2);
  const log = src.listing();
  for (const n of ['acts.npy (2)', 'acts.dictionary.npy', 'tokens.npy', 'positions_000.npy', 'held_out.npy']) assert.ok(log.includes(n), `${n} in: ${log}`);
  assert.ok(src.describe().includes('1 shards by *.{npy,safetensors}'), src.describe());
  src.close();
  // An explicit glob chooses among the rest; side files stay out even when it matches them.
  writeNpy(join(dir, 'part-01.npy'), rows(2), 2, D);
  writeNpy(join(dir, 'part-02.npy'), rows(3), 2, D);
  const parts = openSource(dir, { shards: 'part-0[12].npy' }) as ShardedSource;
  assert.equal(parts.shards.map((x) => x.layout.file), [join(dir, 'part-01.npy'), join(dir, 'part-02.npy')]);
  assert.ok(parts.listing().includes('acts.npy (does not match part-0[12].npy)'), parts.listing());
  parts.close();
  const star = openSource(dir, { shards: '*' }) as ShardedSource;
  assert.equal(star.shards.length, 3);
  assert.ok(star.listing().includes('README.md (not .npy or .safetensors)'));
  star.close();
  const alt = openSource(dir, { shards: '{acts,part-02}.npy' }) as ShardedSource;
  assert.equal(alt.rows, 4);
  alt.close();
  throwsWith(() => openSource(dir, { shards: 'nope*.npy' }), 'no .npy or .safetensors shards matching nope*.npy');
  throwsWith(() => openSource(join(dir, 'acts.npy'), { shards: '*' }), 'needs --data to be a directory');
  throwsWith(() => openSource(dir, { shards: 'sub/*.npy' }), "without '/'");
  // A manifest's list wins over the default glob (a harvest folder names its shards).
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ shards: ['part-02.npy', 'part-01.npy', 'tokens.npy'] }));
  const man = openSource(dir) as ShardedSource;
  assert.equal(man.shards.map((x) => x.layout.file), [join(dir, 'part-02.npy'), join(dir, 'part-01.npy')]);
  assert.ok(man.describe().includes('by manifest.json'));
  man.close();
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ shards: ['gone.npy'] }));
  throwsWith(() => openSource(dir), 'not there: gone.npy');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ model: 'x' })); // no list: the default glob
  assert.equal(openSource(dir).rows, 6);
});

s('MemorySource', () => {
  const m = new MemorySource(new Float32Array([1, 2, 3, 4, 5, 6]), 3);
  const out = new Float32Array(3);
  m.readRows(1, 1, out);
  assert.equal([...out], [4, 5, 6]);
  throwsWith(() => new MemorySource(new Float32Array(5), 3), 'not whole rows');
});

s.run();
