import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { Rng } from '../../src/rng.js';
import { f16BitsToF32, f32ToF16Array, f32ToF16Bits } from '../../src/data/half.js';
import { fileLayout, openSource, readMatrix } from '../../src/data/source.js';
import { NpyWriter, writeNpy } from '../../src/data/npy.js';
import { bytes, rawNpy, save, tempDir, throwsWith } from './fixtures.js';

const s = suite('data/npy');
const tmp = tempDir('npy');
s.after(() => tmp.cleanup());

function randomRows(seed: number, rows: number, cols: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(rows * cols), 0, 3);
}

s('float32 write -> read round trip, data 64-byte aligned', () => {
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 33 }), (seed, rows, cols) => {
      const data = randomRows(seed, rows, cols);
      const f = tmp.path(`rt-${rows}x${cols}.npy`);
      writeNpy(f, data, rows, cols);
      const layout = fileLayout(f);
      assert.is(layout.dataOffset % 64, 0);
      assert.is(layout.dtype, 'f32');
      const back = readMatrix(f);
      assert.equal([back.rows, back.cols], [rows, cols]);
      assert.equal(back.data, data);
    }),
    { numRuns: 20 },
  );
});

s('float16 .npy reads as the f16-rounded values', () => {
  const data = randomRows(7, 5, 6);
  data[0] = 65520; // rounds to inf
  data[1] = 2 ** -25; // rounds to 0
  const f = writeF16(tmp.path('h.npy'), data, 5, 6);
  const back = readMatrix(f);
  assert.is(fileLayout(f).dtype, 'f16');
  assert.equal(
    back.data,
    Float32Array.from(data, (x) => f16BitsToF32(f32ToF16Bits(x))),
  );
  assert.is(back.data[0], Infinity);
});

function writeF16(f: string, data: Float32Array, rows: number, cols: number): string {
  writeNpy(f, data, rows, cols, 'f16');
  return f;
}

s('v2.0 and v3.0 headers and a header from an independent writer', () => {
  const data = randomRows(3, 4, 3);
  for (const version of [1, 2, 3] as const) {
    const f = save(tmp.path(`v${version}.npy`), rawNpy({ version, descr: '<f4', shape: [4, 3], data: bytes(data) }));
    assert.equal(readMatrix(f).data, data, `v${version}`);
  }
  const half = f32ToF16Array(data);
  const f = save(tmp.path('v3h.npy'), rawNpy({ version: 3, descr: '<f2', shape: [4, 3], data: bytes(half) }));
  assert.equal(readMatrix(f).data, Float32Array.from(half, f16BitsToF32));
  // numpy writes double-quoted keys in no version, but a hand-written header may.
  const dq = rawNpy({
    descr: '',
    shape: [],
    data: bytes(data),
    dict: `{"descr": "<f4", "fortran_order": False, "shape": (4, 3)}`,
  });
  assert.equal(readMatrix(save(tmp.path('dq.npy'), dq)).data, data);
});

s('bad .npy files are refused with a one-line message naming the file', () => {
  const data = new Float32Array(12);
  const ok = rawNpy({ descr: '<f4', shape: [4, 3], data: bytes(data) });
  const cases: [string, Uint8Array, string[]][] = [
    ['trunc.npy', ok.subarray(0, ok.length - 5), ['truncated', '(4, 3)']],
    ['extra.npy', new Uint8Array([...ok, 0, 0, 0, 0]), ['size mismatch']],
    ['f8.npy', rawNpy({ descr: '<f8', shape: [4, 3], data: new Uint8Array(96) }), ["'<f8'", 'float32']],
    ['be.npy', rawNpy({ descr: '>f4', shape: [4, 3], data: bytes(data) }), ['big-endian']],
    ['u1.npy', rawNpy({ descr: '|u1', shape: [4, 3], data: new Uint8Array(12) }), ["'|u1'"]],
    ['3d.npy', rawNpy({ descr: '<f4', shape: [2, 2, 3], data: bytes(data) }), ['(2, 2, 3)', '3-D', '2-D']],
    ['1d.npy', rawNpy({ descr: '<f4', shape: [12], data: bytes(data) }), ['1-D']],
    ['fortran.npy', rawNpy({ descr: '<f4', fortran: true, shape: [4, 3], data: bytes(data) }), ['fortran_order']],
    ['magic.npy', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), ['bad magic']],
    [
      'v4.npy',
      (() => {
        const b = ok.slice();
        b[6] = 4;
        return b;
      })(),
      ['version 4.0'],
    ],
    [
      'struct.npy',
      rawNpy({
        descr: '',
        shape: [],
        data: bytes(data),
        dict: `{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }`,
      }),
      ['structured'],
    ],
    ['hdr.npy', ok.subarray(0, 40), ['truncated .npy header']],
  ];
  for (const [name, content, frags] of cases) {
    const f = save(tmp.path(name), content);
    throwsWith(() => readMatrix(f), f, ...frags);
  }
});

s('NpyWriter streams rows and publishes the file only when complete', () => {
  const rows = 10;
  const cols = 4;
  const data = randomRows(11, rows, cols);
  const f = tmp.path('stream.npy');
  const w = new NpyWriter(f, rows, cols);
  w.writeRows(data.subarray(0, 3 * cols));
  assert.not.ok(existsSync(f), 'not visible before close');
  w.writeRows(data.subarray(3 * cols));
  w.close();
  assert.equal(readMatrix(f).data, data);
  // Matches numpy's own v1.0 header layout byte for byte.
  const head = readFileSync(f).subarray(0, 128).toString('latin1');
  assert.ok(head.startsWith("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4), }"));

  const g = tmp.path('short.npy');
  const w2 = new NpyWriter(g, rows, cols);
  w2.writeRows(data.subarray(0, cols));
  throwsWith(() => w2.close(), g, '1 rows written, 10 declared');
  assert.not.ok(existsSync(g));
  assert.not.ok(
    readdirSync(tmp.dir).some((n) => n.includes('.tmp-')),
    'no temp files left',
  );
});

s('a file truncated after it was opened fails on read, not filled with zeros', () => {
  const f = tmp.path('shrink.npy');
  writeNpy(f, randomRows(5, 8, 2), 8, 2);
  const src = openSource(f);
  const out = new Float32Array(16);
  src.readRows(0, 8, out);
  truncateSync(f, readFileSync(f).length - 8);
  src.readRows(0, 7, out);
  throwsWith(() => src.readRows(0, 8, out), f, 'truncated');
  src.close();
  throwsWith(() => readMatrix(f), f, 'truncated');
});

s.run();
