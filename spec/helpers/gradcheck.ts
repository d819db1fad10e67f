// Central finite differences against the tape's gradients.
// L(inputs) = sum_i W_i * f(inputs)_i with fixed random weights W, so every output entry is checked.
// The forward runs in f32 on the CPU backend, so the difference quotient carries two errors:
//   rounding:   |dL| <= c * 2^-24 * S / h, where S = sum |W_i f_i| + sum |W_i| * (depth of f_i) bounds the
//               magnitude of everything summed into L (each f32 op rounds with relative error 2^-24);
//   truncation: h^2/6 * |f'''| * sum|W|, with the bound on |f'''| over the inputs' range given per op by
//               the caller (e.g. exp on [-2, 2]: e^2; recip on [0.5, 2.5]: 6/0.5^4 = 96).
// The tolerance is the sum of those two bounds (with c = 16 for the reductions inside L), computed per case.
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend/backend.js';
import { backward } from '../../src/autodiff/grad.js';
import { noGrad } from '../../src/autodiff/tape.js';
import * as o from '../../src/ops.js';
import { Rng } from '../../src/rng.js';
import { fromArray, tidy, type Tensor } from '../../src/tensor.js';

export interface GradInput {
  data: Float32Array;
  shape: number[];
  /** Skip the gradient check of this input (no gradient expected, e.g. a threshold under relu). */
  noGrad?: boolean;
}

export interface GradcheckOpts {
  h?: number;
  /** How many entries of each input to perturb (random subset); all when smaller. */
  probes?: number;
  /** Inner length of the deepest sum in f (e.g. matmul's k), for the rounding bound. */
  depth?: number;
  /** Bound on |f'''| over the input range (truncation error); 0 (default) for ops at most quadratic in each input. */
  third?: number;
  seed?: number;
}

export async function gradcheck(
  be: Backend,
  f: (xs: Tensor[]) => Tensor,
  inputs: GradInput[],
  opts: GradcheckOpts = {},
): Promise<void> {
  const h = opts.h ?? 1e-2;
  const depth = opts.depth ?? 1;
  const third = opts.third ?? 0;
  const rng = new Rng(opts.seed ?? 1);
  // Analytic gradients.
  const leaves = inputs.map((i) => {
    const t = fromArray(be, i.data, i.shape).keep();
    t.requiresGrad = !i.noGrad;
    return t;
  });
  let W: Float32Array | null = null;
  const { analytic, S, sumW } = await (async () => {
    const out = tidy(() => {
      const y = f(leaves);
      W ??= rng.fillUniform(new Float32Array(y.size), -1, 1);
      const L = o.sum(o.mul(y, fromArray(be, W, y.shape)));
      backward(L);
      return y;
    });
    const yv = (await out.read()) as Float32Array;
    out.free();
    let S = 0;
    let sumW = 0;
    yv.forEach((v, i) => {
      S += Math.abs(v * W![i]!) + Math.abs(W![i]!) * depth * 4;
      sumW += Math.abs(W![i]!);
    });
    const analytic = await Promise.all(leaves.map(async (l) => (l.grad ? ((await l.grad.read()) as Float32Array) : null)));
    return { analytic, S, sumW };
  })();
  for (const l of leaves) l.grad?.free();

  const lossAt = async (xs: Float32Array[]): Promise<number> => {
    const L = noGrad(() =>
      tidy(() => {
        const ts = xs.map((x, i) => fromArray(be, x, inputs[i]!.shape));
        const y = f(ts);
        return o.sum(o.mul(y, fromArray(be, W!, y.shape)));
      }),
    );
    const v = await L.item();
    L.free();
    return v;
  };

  const tol = (16 * 2 ** -24 * S) / h + ((h * h) / 6) * third * sumW;
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i]!.noGrad) continue;
    const a = analytic[i];
    assert.ok(a, `input ${i}: no gradient was produced`);
    const n = inputs[i]!.data.length;
    const probes = opts.probes ?? 12;
    const which = n <= probes ? [...Array(n).keys()] : Array.from({ length: probes }, () => rng.int(n));
    for (const j of which) {
      const xs = inputs.map((x) => x.data.slice());
      // The f32 inputs cannot hold x +- h exactly: divide by the step actually taken.
      const xu = Math.fround(inputs[i]!.data[j]! + h);
      const xd = Math.fround(inputs[i]!.data[j]! - h);
      xs[i]![j] = xu;
      const up = await lossAt(xs);
      xs[i]![j] = xd;
      const down = await lossAt(xs);
      const numeric = (up - down) / (xu - xd);
      const err = Math.abs(a![j]! - numeric);
      if (err > tol) {
        assert.unreachable(`input ${i} [${inputs[i]!.shape}] entry ${j}: tape ${a![j]} vs finite difference ${numeric} (|diff| ${err.toExponential(2)} > tol ${tol.toExponential(2)})`);
      }
    }
  }
  for (const l of leaves) l.free();
}
