// The tape: eager ops append a node when any input requires a gradient. Execution is eager, so creation
// order is already a topological order; backward() (in grad.ts) walks the tape in reverse.
import type { TapeNode, Tensor } from '../tensor.js';

export type { TapeNode };


let tape: TapeNode[] = [];
let gradDisabled = 0;

export function gradEnabled(): boolean {
  return gradDisabled === 0;
}

/** Run fn without recording: no op inside it gets a tape node or requiresGrad. */
export function noGrad<T>(fn: () => T): T {
  gradDisabled++;
  try {
    return fn();
  } finally {
    gradDisabled--;
  }
}

/** Record `out = op(inputs)` if gradients are on and an input requires one. Returns out. */
export function record(op: string, inputs: readonly Tensor[], out: Tensor, attrs: Record<string, unknown> = {}): Tensor {
  if (gradDisabled > 0 || !inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  const node: TapeNode = { id: tape.length, op, inputs, out, attrs };
  out.node = node;
  tape.push(node);
  return out;
}

/** Take the recorded nodes and start a fresh tape (backward consumes the tape). */
export function takeTape(): TapeNode[] {
  const t = tape;
  tape = [];
  return t;
}

/** Drop everything recorded (e.g. after a forward pass whose gradient is not wanted). */
export function clearTape(): void {
  for (const n of tape) n.out.node = null;
  tape = [];
}

export function tapeLength(): number {
  return tape.length;
}
