// JumpReLU and its step function, with the straight-through pseudo-gradient of Rajamanoharan et al.
// (2024, "Jumping Ahead"): the threshold theta gets a gradient through a rectangle kernel of
// bandwidth eps, rect(u) = 1 for |u| < 1/2:
//   jumprelu(x, theta) = x * (x > theta):  dx = g * (x > theta),  dtheta = -(theta/eps) rect((x-theta)/eps) g
//   step(x, theta)     = (x > theta):      dx = 0,                dtheta = -(1/eps)    rect((x-theta)/eps) g
// dtheta is summed over the batch rows (theta is one value per latent). Rules live in autodiff/rules.ts.
import { noGrad, record } from './autodiff/tape.js';
import { binary } from './ops.js';
import type { Tensor } from './tensor.js';

function check(op: string, x: Tensor, theta: Tensor, eps: number): void {
  if (x.rank !== 2 || theta.size !== x.cols) throw new Error(`${op}: x must be [B,M] and theta [M]; got [${x.shape}] and [${theta.shape}]`);
  if (!(eps > 0)) throw new Error(`${op}: bandwidth must be > 0, got ${eps}`);
}

/** x [B,M], theta [M] -> x * (x > theta). */
export function jumprelu(x: Tensor, theta: Tensor, eps: number): Tensor {
  check('jumprelu', x, theta, eps);
  const out = noGrad(() => {
    const mask = binary('gt', x, theta, null);
    const y = binary('mul', x, mask, null);
    mask.free();
    return y;
  });
  return record('jumprelu', [x, theta], out, { eps });
}

/** x [B,M], theta [M] -> (x > theta) as 0/1, with the STE gradient to theta only. */
export function heaviside(x: Tensor, theta: Tensor, eps: number): Tensor {
  check('heaviside', x, theta, eps);
  const out = noGrad(() => binary('gt', x, theta, null));
  return record('heaviside', [x, theta], out, { eps });
}
