// Adam against a two-step example worked by hand, clipping against its definition, and the trivial
// invariant (zero gradient leaves parameters unchanged).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Adam } from '../../src/optim/adam.js';
import { clipGradNorm } from '../../src/optim/clip.js';
import { fromArray, parameter } from '../../src/tensor.js';
import { allBackends } from '../helpers/backends.js';

const s = suite('optim: Adam and clipping');
// f32 storage of p, m and v: values agree with the float64 hand computation to a few f32 ulps.
const close = (a: number, b: number, msg: string) => assert.ok(Math.abs(a - b) <= 4 * 2 ** -24 * Math.max(1, Math.abs(b)), `${msg}: ${a} vs ${b}`);

s('two steps worked by hand (lr 0.1, betas 0.9/0.99, eps 1e-8)', async () => {
  for (const be of await allBackends()) {
    // p0 = 1, g1 = 0.5, g2 = -0.25.
    // t=1: m = 0.1*0.5 = 0.05; v = 0.01*0.25 = 0.0025; m^ = 0.05/0.1 = 0.5; v^ = 0.0025/0.01 = 0.25;
    //      p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002
    // t=2: m = 0.9*0.05 + 0.1*(-0.25) = 0.02; v = 0.99*0.0025 + 0.01*0.0625 = 0.0031;
    //      m^ = 0.02/0.19; v^ = 0.0031/0.0199; p = 0.9 - 0.1 * m^ / (sqrt(v^) + 1e-8) = 0.87333006
    const p = parameter(be, new Float32Array([1, -3]), [2]);
    const opt = new Adam([p], { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8 });
    p.grad = fromArray(be, new Float32Array([0.5, 0]), [2]).keep();
    opt.step();
    const after1 = (await p.read()) as Float32Array;
    close(after1[0]!, 0.900000002, `${be.name} step 1`);
    assert.is(after1[1], -3, `${be.name}: zero gradient leaves the parameter unchanged`);
    p.grad.free();
    p.grad = fromArray(be, new Float32Array([-0.25, 0]), [2]).keep();
    opt.step();
    const after2 = (await p.read()) as Float32Array;
    close(after2[0]!, 0.8733300597679334, `${be.name} step 2`);
    const st = await opt.getState();
    close(st.m[0]![0]!, 0.02, `${be.name} m`);
    close(st.v[0]![0]!, 0.0031, `${be.name} v`);
    assert.is(st.step, 2);
    p.grad.free();
    p.free();
    opt.dispose();
  }
});

s('global-norm clipping scales every gradient by min(1, max / norm)', async () => {
  for (const be of await allBackends()) {
    const a = parameter(be, new Float32Array(2), [2]);
    const b = parameter(be, new Float32Array(1), [1]);
    a.grad = fromArray(be, new Float32Array([3, 0]), [2]).keep();
    b.grad = fromArray(be, new Float32Array([4]), [1]).keep(); // global norm 5
    const norm = clipGradNorm([a, b], 1);
    close(await norm.item(), 5, 'norm');
    const ga = (await a.grad!.read()) as Float32Array;
    const gb = (await b.grad!.read()) as Float32Array;
    close(ga[0]!, 3 / (5 + 1e-6), 'a');
    close(gb[0]!, 4 / (5 + 1e-6), 'b');
    clipGradNorm([a, b], 100); // below the limit: unchanged
    close(((await b.grad!.read()) as Float32Array)[0]!, 4 / (5 + 1e-6), 'unclipped');
    for (const t of [a, b]) {
      t.grad?.free();
      t.free();
    }
    norm.free();
  }
});

s('bad hyper-parameters are refused with the values named', () => {
  assert.throws(() => new Adam([], { beta1: 1 }), /beta1=1/);
  assert.throws(() => new Adam([], { eps: 0 }), /eps=0/);
});

s.run();
