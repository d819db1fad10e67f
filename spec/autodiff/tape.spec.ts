// The tape's own contract: gradients accumulate across backward calls until zeroGrad, noGrad records
// nothing, backward consumes the tape, and misuse is refused with a clear message.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backward, zeroGrad } from '../../src/autodiff/grad.js';
import { clearTape, noGrad, tapeLength } from '../../src/autodiff/tape.js';
import * as o from '../../src/ops.js';
import { fromArray, parameter, tidy } from '../../src/tensor.js';
import { cpu } from '../helpers/backends.js';

const s = suite('autodiff: tape');

s('gradients accumulate across backward calls until zeroGrad', async () => {
  const w = parameter(cpu, new Float32Array([1, 2, 3]), [3]);
  const x = fromArray(cpu, new Float32Array([4, 5, 6]), [3]).keep();
  tidy(() => backward(o.sum(o.mul(w, x)))); // d/dw = x
  tidy(() => backward(o.sum(o.square(w)))); // d/dw = 2w
  assert.equal([...((await w.grad!.read()) as Float32Array)], [4 + 2, 5 + 4, 6 + 6]);
  zeroGrad([w]);
  assert.is(w.grad, null);
  tidy(() => backward(o.sum(w)));
  assert.equal([...((await w.grad!.read()) as Float32Array)], [1, 1, 1]);
  for (const t of [w, x]) (t.grad?.free(), t.free());
});

s('one leaf used twice gets both contributions; two leaves never share a gradient tensor', async () => {
  const a = parameter(cpu, new Float32Array([3]), []);
  const b = parameter(cpu, new Float32Array([5]), []);
  tidy(() => backward(o.add(o.mul(a, a), b))); // d/da = 2a = 6, d/db = 1
  assert.is(await a.grad!.item(), 6);
  assert.is(await b.grad!.item(), 1);
  tidy(() => backward(o.add(a, b))); // both get the same upstream gradient tensor
  assert.ok(a.grad !== b.grad);
  a.grad!.free();
  assert.is(await b.grad!.item(), 2, "freeing one leaf's gradient leaves the other intact");
  for (const t of [a, b]) (t.grad?.free(), t.free());
});

s('noGrad records nothing; backward consumes the tape; misuse is refused', () => {
  const w = parameter(cpu, new Float32Array([1, 2]), [2]);
  const before = tapeLength();
  const y = noGrad(() => o.sum(o.square(w)));
  assert.is(tapeLength(), before, 'nothing recorded under noGrad');
  assert.is(y.requiresGrad, false);
  assert.throws(() => backward(y), /does not depend on any tensor that requires a gradient/);
  const z = o.sum(o.square(w));
  assert.ok(tapeLength() > before);
  backward(z);
  assert.is(tapeLength(), 0, 'backward consumed the tape');
  assert.throws(() => backward(o.square(w)), /loss must have one element/);
  clearTape(); // the refused call left its square on the tape
  for (const t of [w, y, z]) (t.grad?.free(), t.free());
});

s.run();
