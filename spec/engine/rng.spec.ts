// The seeded RNG: same seed, same bits; state save/restore continues the same stream; distributions sane.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/rng.js';

const s = suite('rng');

s('same seed gives the same stream, different seeds differ', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
      const a = new Rng(seed);
      const b = new Rng(seed);
      const xa = Array.from({ length: 64 }, () => a.nextU32());
      assert.equal(xa, Array.from({ length: 64 }, () => b.nextU32()));
      const c = new Rng((seed + 1) >>> 0);
      assert.not.equal(xa, Array.from({ length: 64 }, () => c.nextU32()));
    }),
  );
});

s('restoring a saved state continues the identical stream (including the cached normal)', () => {
  const r = new Rng(7);
  r.normal(); // leaves a cached second normal
  const st = r.getState();
  const want = [r.normal(), r.uniform(), r.int(1000)];
  const q = Rng.fromState(st);
  assert.equal([q.normal(), q.uniform(), q.int(1000)], want);
});

s('uniform mean, normal moments, int range and kaiming bound', () => {
  const r = new Rng(3);
  const n = 200_000;
  let su = 0, sn = 0, sn2 = 0;
  for (let i = 0; i < n; i++) {
    su += r.uniform();
    const z = r.normal();
    sn += z;
    sn2 += z * z;
  }
  // 5 standard errors: a wrong generator fails, a right one essentially never does.
  assert.ok(Math.abs(su / n - 0.5) < 5 * Math.sqrt(1 / 12 / n), `uniform mean ${su / n}`);
  assert.ok(Math.abs(sn / n) < 5 / Math.sqrt(n), `normal mean ${sn / n}`);
  assert.ok(Math.abs(sn2 / n - 1) < 5 * Math.sqrt(2 / n), `normal variance ${sn2 / n}`);
  const w = r.kaimingUniform(new Float32Array(10_000), 100);
  assert.ok(w.every((v) => Math.abs(v) <= 0.1), 'kaiming bound 1/sqrt(fanIn)');
  for (let i = 0; i < 1000; i++) {
    const k = r.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
  }
  assert.throws(() => new Rng(-1), /seed/);
  assert.throws(() => r.int(0), /Rng.int/);
});

s.run();
