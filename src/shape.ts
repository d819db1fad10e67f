// The broadcast rule for binary ops, limited to what SAE training needs. Operands are viewed as 2-D:
// [] -> [1,1], [n] -> [1,n], [r,c] -> [r,c]. With the larger operand [R,C] setting the output shape, the
// other may be: the same shape (full), one element (scalar), a row vector [C] or [1,C] (row), or a
// column [R,1] (col). Anything else is an error naming the op and both shapes.
import type { Broadcast } from './backend/backend.js';
import type { Shape } from './tensor.js';
import { sameShape, sizeOf } from './tensor.js';

export interface BroadcastPlan {
  out: Shape;
  rows: number;
  cols: number;
  a: Broadcast;
  b: Broadcast;
}

function as2d(s: Shape): [number, number] {
  if (s.length === 0) return [1, 1];
  if (s.length === 1) return [1, s[0]!];
  return [s[0]!, s[1]!];
}

/** How `small` lies over `big` ([R,C] view), or null if it does not broadcast. */
function modeOver(small: Shape, big: Shape): Broadcast | null {
  const [R, C] = as2d(big);
  if (sameShape(small, big)) return 'full';
  const n = sizeOf(small);
  if (n === 1) return 'scalar';
  const [r, c] = as2d(small);
  if (r === 1 && c === C) return R === 1 ? 'full' : 'row';
  if (small.length === 2 && c === 1 && r === R) return C === 1 ? 'full' : 'col';
  return null;
}

export function broadcast(op: string, a: Shape, b: Shape): BroadcastPlan {
  const big = sizeOf(a) >= sizeOf(b) ? a : b;
  // Prefer the higher rank as the output shape when sizes tie ([1,C] op [C] -> [1,C]).
  const out = sizeOf(a) === sizeOf(b) && b.length > a.length ? b : big;
  const ma = modeOver(a, out);
  const mb = modeOver(b, out);
  if (!ma || !mb) throw new Error(`${op}: shapes [${a}] and [${b}] do not broadcast (allowed: same, scalar, row [C], column [R,1])`);
  const [rows, cols] = as2d(out);
  return { out, rows, cols, a: ma, b: mb };
}
