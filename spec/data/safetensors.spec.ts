import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { Rng } from '../../src/rng.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Array, f32ToF16Array } from '../../src/data/half.js';
import { readSafetensors, writeSafetensors } from '../../src/data/safetensors.js';
import { openSource, readMatrix } from '../../src/data/source.js';
import { bytes, rawSafetensors, save, tempDir, throwsWith } from './fixtures.js';

const s = suite('data/safetensors');
const tmp = tempDir('st');
s.after(() => tmp.cleanup());

function normal(seed: number, n: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(n));
}

s('a file from an independent writer: F32, F16 and BF16 tensors, unsorted offsets, selected by name', () => {
  const a = normal(1, 6 * 4);
  const b = f32ToF16Array(normal(2, 3 * 5));
  const c = f32ToBf16Array(normal(3, 2 * 7));
  const ids = new Uint8Array(8 * 3); // an I64 tensor that is never read
  const f = save(
    tmp.path('indep.safetensors'),
    rawSafetensors(
      {
        zeta: { dtype: 'F32', shape: [6, 4], data: bytes(a) },
        alpha: { dtype: 'F16', shape: [3, 5], data: bytes(b) },
        ids: { dtype: 'I64', shape: [3], data: ids },
        mid: { dtype: 'BF16', shape: [2, 7], data: bytes(c) },
      },
      { source: 'spec' },
    ),
  );
  assert.equal(readMatrix(f, { tensor: 'zeta' }).data, a);
  assert.equal(readMatrix(f, { tensor: 'alpha' }).data, Float32Array.from(b, f16BitsToF32));
  assert.equal(readMatrix(f, { tensor: 'mid' }).data, Float32Array.from(c, bf16BitsToF32));
  const src = openSource(f, { tensor: 'alpha' });
  assert.equal([src.rows, src.dIn], [3, 5]);
  assert.ok(src.describe().includes('alpha') && src.describe().includes('float16'), src.describe());
  src.close();
  const all = readSafetensors(f, ['zeta', 'mid']);
  assert.equal(all.metadata, { source: 'spec' });
  assert.equal([...all.tensors.keys()].sort(), ['mid', 'zeta']);
  assert.equal(all.tensors.get('zeta')!.shape, [6, 4]);
  assert.equal(all.entries.length, 4);
  // The only 2-D tensor is picked without --tensor.
  const single = save(
    tmp.path('single.safetensors'),
    rawSafetensors({
      acts: { dtype: 'F32', shape: [6, 4], data: bytes(a) },
      ids: { dtype: 'I64', shape: [3], data: ids },
    }),
  );
  assert.equal(readMatrix(single).data, a);
});

s('writeSafetensors -> read round trip; sorted, contiguous, 8-byte aligned, space padded', () => {
  fc.assert(
    fc.property(
      fc.nat(),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 9 }),
      fc.string({ maxLength: 7 }),
      (seed, r, c, note) => {
        const f = tmp.path('rt.safetensors');
        const t = {
          W: { shape: [r, c], data: normal(seed, r * c) },
          b: { shape: [c], data: normal(seed + 1, c) },
          A: { shape: [1], data: new Float32Array([seed]) },
        };
        writeSafetensors(f, t, { note });
        const raw = readFileSync(f);
        const n = Number(raw.readBigUInt64LE(0));
        assert.is((8 + n) % 8, 0);
        const text = raw.subarray(8, 8 + n).toString('utf8');
        assert.ok(/^\{.*\} *$/.test(text), 'JSON then spaces');
        const header = JSON.parse(text);
        assert.equal(header.__metadata__, { note });
        assert.equal(header.A.data_offsets, [0, 4]);
        assert.equal(header.W.data_offsets, [4, 4 + 4 * r * c]);
        assert.equal(header.b.data_offsets, [4 + 4 * r * c, 4 + 4 * r * c + 4 * c]);
        assert.is(raw.length, 8 + n + 4 * (1 + r * c + c));
        const back = readSafetensors(f);
        for (const [k, v] of Object.entries(t)) {
          assert.equal(back.tensors.get(k)!.data, v.data);
          assert.equal(back.tensors.get(k)!.shape, v.shape);
        }
        assert.equal(readMatrix(f, { tensor: 'W' }).data, t.W.data);
      },
    ),
    { numRuns: 20 },
  );
});

s('bad safetensors files are refused with a one-line message naming the file', () => {
  const a = new Float32Array(12);
  const good = rawSafetensors({ x: { dtype: 'F32', shape: [4, 3], data: bytes(a) } });
  const withHeader = (json: string): Uint8Array => {
    const body = Buffer.from(json);
    const out = new Uint8Array(8 + body.length + 48);
    new DataView(out.buffer).setUint32(0, body.length, true);
    out.set(body, 8);
    return out;
  };
  const two = rawSafetensors({
    x: { dtype: 'F32', shape: [4, 3], data: bytes(a) },
    y: { dtype: 'F32', shape: [3, 4], data: bytes(a) },
  });
  const cases: [string, Uint8Array, string[], string?][] = [
    ['tiny.safetensors', new Uint8Array(5), ['truncated']],
    ['trunc.safetensors', good.subarray(0, good.length - 4), ['x', 'truncated']],
    [
      'hlen.safetensors',
      (() => {
        const b = good.slice();
        new DataView(b.buffer).setUint32(0, 1e6, true);
        return b;
      })(),
      ['header length 1000000'],
    ],
    ['json.safetensors', withHeader('{"x": {"dtype": "F32", '), ['not valid JSON']],
    ['array.safetensors', withHeader('[1, 2]'), ['not a JSON object']],
    [
      'range.safetensors',
      rawSafetensors({ x: { dtype: 'F32', shape: [4, 3], data: bytes(a) } }, undefined, (h) => {
        h['x']!['data_offsets'] = [48, 96];
        h['x']!['shape'] = [4, 3];
      }),
      ['[48, 96]', 'out of range'],
    ],
    [
      'size.safetensors',
      rawSafetensors({ x: { dtype: 'F32', shape: [4, 3], data: bytes(a) } }, undefined, (h) => {
        h['x']!['shape'] = [4, 4];
      }),
      ['[4, 4]', 'needs 64'],
    ],
    [
      'offs.safetensors',
      rawSafetensors({ x: { dtype: 'F32', shape: [4, 3], data: bytes(a) } }, undefined, (h) => {
        h['x']!['data_offsets'] = [8, 4];
      }),
      ['bad data_offsets'],
    ],
    [
      'meta.safetensors',
      rawSafetensors({ x: { dtype: 'F32', shape: [4, 3], data: bytes(a) } }, undefined, (h) => {
        h['__metadata__'] = { n: 1 } as never;
      }),
      ['__metadata__'],
    ],
    ['ambig.safetensors', two, ['2 2-D tensors', '--tensor', 'x [4, 3] F32', 'y [3, 4] F32']],
    [
      'none2d.safetensors',
      rawSafetensors({ v: { dtype: 'F32', shape: [12], data: bytes(a) } }),
      ['no 2-D tensor', 'v [12] F32'],
    ],
    [
      'i32.safetensors',
      rawSafetensors({ v: { dtype: 'I32', shape: [4, 3], data: bytes(a) } }),
      ["'v' is I32", 'F32, F16 or BF16'],
    ],
    ['three.safetensors', rawSafetensors({ v: { dtype: 'F32', shape: [2, 2, 3], data: bytes(a) } }), ['no 2-D tensor']],
  ];
  for (const [name, content, frags] of cases) {
    const f = save(tmp.path(name), content);
    throwsWith(() => readMatrix(f), f, ...frags);
  }
  const f = save(tmp.path('two.safetensors'), two);
  throwsWith(() => readMatrix(f, { tensor: 'nope' }), f, "no tensor 'nope'", 'x [4, 3] F32');
  const v = save(tmp.path('vec.safetensors'), rawSafetensors({ v: { dtype: 'F32', shape: [12], data: bytes(a) } }));
  throwsWith(() => readMatrix(v, { tensor: 'v' }), v, 'shape [12]', '2-D');
  throwsWith(() => readSafetensors(tmp.path('i32.safetensors')), "'v' is I32");
  throwsWith(() => readSafetensors(tmp.path('missing.safetensors')), 'missing.safetensors', 'no such file');
});

s.run();
