// Tensor: a shape and a dtype over backend storage, plus the autodiff fields the tape fills in.
// Rank 0-2 only: every SAE quantity is a matrix [B,D]/[M,D], a vector [M]/[D] or a scalar, so there are
// no strides and no view engine (reshape shares storage; nothing else aliases).
//
// Memory: GPU buffers are not garbage collected, so tensors are freed explicitly. `tidy(fn)` frees every
// tensor created inside fn except those reachable from its return value (which move to the outer scope)
// and those marked with `keep()` (parameters, optimiser state).
import type { Backend, DType, HostArray, Storage } from './backend/backend.js';

export type Shape = readonly number[];

/** A recorded op (autodiff/tape.ts): defined beside Tensor, which points at the node that made it. */
export interface TapeNode {
  /** Position on the tape (creation order). */
  readonly id: number;
  /** Key into the gradient rule table (rules.ts). */
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly out: Tensor;
  /** Op attributes and values the rule needs (e.g. transposes, the selection, epsilon). */
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** Count of tensors sharing each storage (reshape views), so storage is freed by its last user. */
const refs = new WeakMap<Storage, number>();

const scopes: Set<Tensor>[] = [];

export class Tensor {
  /** True for leaves whose gradient is wanted, and for every op output computed from such a tensor. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** The tape node that produced this tensor, if it was recorded. */
  node: TapeNode | null = null;
  private freed = false;

  constructor(
    readonly backend: Backend,
    readonly storage: Storage,
    readonly shape: Shape,
  ) {
    const n = sizeOf(shape);
    if (shape.length > 2) throw new Error(`Tensor: rank ${shape.length} (shape [${shape}]) is not supported; rank <= 2`);
    if (n !== storage.length) throw new Error(`Tensor: shape [${shape}] needs ${n} elements, storage has ${storage.length}`);
    refs.set(storage, (refs.get(storage) ?? 0) + 1);
    scopes[scopes.length - 1]?.add(this);
  }

  get dtype(): DType {
    return this.storage.dtype;
  }
  get size(): number {
    return this.storage.length;
  }
  get rank(): number {
    return this.shape.length;
  }
  /** Rows of the 2-D view: [r,c] -> r, [n] -> 1, [] -> 1. */
  get rows(): number {
    return this.shape.length === 2 ? this.shape[0]! : 1;
  }
  /** Columns of the 2-D view: [r,c] -> c, [n] -> n, [] -> 1. */
  get cols(): number {
    return this.shape.length === 0 ? 1 : this.shape[this.shape.length - 1]!;
  }
  get isFreed(): boolean {
    return this.freed;
  }

  /** Copy the values to the host. */
  async read(): Promise<HostArray> {
    this.assertLive('read');
    return this.backend.read(this.storage);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor of shape [${this.shape}] has ${this.size} elements, expected 1`);
    return (await this.read())[0]!;
  }

  /** Release the storage (once no other view uses it). Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    const n = (refs.get(this.storage) ?? 1) - 1;
    if (n <= 0) {
      refs.delete(this.storage);
      this.backend.free(this.storage);
    } else refs.set(this.storage, n);
  }

  /** Exclude this tensor from the enclosing tidy() scopes: its owner frees it. */
  keep(): this {
    for (const s of scopes) s.delete(this);
    return this;
  }

  assertLive(op: string): void {
    if (this.freed) throw new Error(`${op}: tensor of shape [${this.shape}] was already freed`);
  }

  toString(): string {
    return `Tensor(${this.dtype}[${this.shape}] on ${this.backend.name})`;
  }
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`shape [${shape}] has an invalid dimension ${d}`);
    n *= d;
  }
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Run fn, then free every tensor it created that is not reachable from its result and not kept. */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    // Nothing escapes a failed scope: release its tensors (GPU buffers are not garbage collected).
    for (const t of scope) t.free();
    throw err;
  } finally {
    scopes.pop();
  }
  const survivors = new Set<Tensor>();
  collect(result, survivors, 0);
  for (const t of scope) {
    if (survivors.has(t)) scopes[scopes.length - 1]?.add(t);
    else t.free();
  }
  return result;
}

function collect(v: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 4 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) {
    out.add(v);
    if (v.grad) out.add(v.grad);
    return;
  }
  for (const x of Array.isArray(v) ? v : Object.values(v)) collect(x, out, depth + 1);
}

// ---- creation ----

export function fromArray(backend: Backend, data: HostArray | readonly number[], shape: Shape, dtype: DType = 'f32'): Tensor {
  const n = sizeOf(shape);
  if (data.length !== n) throw new Error(`fromArray: ${data.length} values for shape [${shape}] (needs ${n})`);
  const host = data instanceof Float32Array || data instanceof Int32Array ? data : dtype === 'f32' ? Float32Array.from(data) : Int32Array.from(data);
  if ((host instanceof Float32Array ? 'f32' : 'i32') !== dtype) throw new Error(`fromArray: data is ${host.constructor.name}, dtype ${dtype}`);
  const s = backend.alloc(n, dtype);
  backend.write(s, host);
  return new Tensor(backend, s, shape);
}

export function full(backend: Backend, shape: Shape, value: number): Tensor {
  const s = backend.alloc(sizeOf(shape), 'f32');
  if (value !== 0) backend.fill(s, value);
  return new Tensor(backend, s, shape);
}

export function zeros(backend: Backend, shape: Shape): Tensor {
  return full(backend, shape, 0);
}

export function scalar(backend: Backend, value: number): Tensor {
  return full(backend, [], value);
}

/** A trainable leaf: kept out of tidy scopes, with requiresGrad set. */
export function parameter(backend: Backend, data: Float32Array, shape: Shape): Tensor {
  const t = fromArray(backend, data, shape).keep();
  t.requiresGrad = true;
  return t;
}

/** [1] i32 indices 0, 1, 2, ... per backend, made once: readScalars' slots. */
const scalarSlots = new WeakMap<Backend, Tensor[]>();

/**
 * Scalar tensors (one element each, f32, one backend) read in one read: slot j of a packed buffer is parts[j],
 * placed by scatterAdd onto zeros (exact), so the host waits once, not once per scalar.
 */
export async function readScalars(parts: readonly Tensor[]): Promise<Float32Array> {
  if (parts.length === 0) return new Float32Array(0);
  const backend = parts[0]!.backend;
  let slots = scalarSlots.get(backend);
  if (!slots) scalarSlots.set(backend, (slots = []));
  while (slots.length < parts.length) slots.push(fromArray(backend, Int32Array.of(slots.length), [1], 'i32').keep());
  const packed = backend.alloc(parts.length, 'f32');
  try {
    parts.forEach((t, j) => backend.scatterAdd(packed, t.storage, slots[j]!.storage));
    return (await backend.read(packed)) as Float32Array;
  } finally {
    backend.free(packed);
  }
}
