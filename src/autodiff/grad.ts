// Reverse-mode differentiation over the tape: walk the nodes in reverse creation order, apply each op's
// rule from the table, and accumulate gradients; leaves (tensors with requiresGrad and no node) receive
// theirs in `.grad`, added to any gradient already there (gradients accumulate until zeroGrad).
import { add } from '../ops.js';
import { Tensor, full } from '../tensor.js';
import { rules } from './rules.js';
import { noGrad, takeTape } from './tape.js';

/** Backpropagate from a scalar `loss` (seed gradient 1). Consumes the tape. */
export function backward(loss: Tensor): void {
  if (loss.size !== 1) throw new Error(`backward: loss must have one element, got shape [${loss.shape}]`);
  if (!loss.requiresGrad) throw new Error('backward: loss does not depend on any tensor that requires a gradient');
  const tape = takeTape();
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(loss, full(loss.backend, loss.shape, 1));
    const accumulate = (t: Tensor, g: Tensor): void => {
      if (!t.requiresGrad) return;
      if (!t.node) {
        // A leaf: the .grad field is the accumulator, kept across tidy scopes with its owner.
        // A fresh view, so two leaves never share one Tensor object (freeing one grad must not free the other).
        const old = t.grad;
        t.grad = (old ? add(old, g) : new Tensor(g.backend, g.storage, g.shape)).keep();
        old?.free();
        return;
      }
      const prev = grads.get(t);
      grads.set(t, prev ? add(prev, g) : g);
    };
    if (!loss.node) {
      accumulate(loss, grads.get(loss)!);
      return;
    }
    for (let i = loss.node.id; i >= 0; i--) {
      const node = tape[i]!;
      const g = grads.get(node.out);
      if (!g) continue;
      const rule = rules[node.op];
      if (!rule) throw new Error(`backward: no gradient rule for op '${node.op}'`);
      const gs = rule(g, node);
      node.inputs.forEach((inp, j) => {
        const gi = gs[j];
        if (gi) accumulate(inp, gi);
      });
    }
  });
  for (const n of tape) n.out.node = null;
}

/** Free and clear the gradients of the given leaves. */
export function zeroGrad(params: readonly Tensor[]): void {
  for (const p of params) {
    p.grad?.free();
    p.grad = null;
  }
}
