// Shared pieces of the backend contract suites (contract*.spec.ts): run one primitive on every backend with
// the same host inputs, read the results back, free everything, and f32 ulp arithmetic for tolerances.
// The CPU backend is the reference (its own oracle specs pin it to float64 to within an f32 rounding), so
// each tolerance below is the error bound of the other backend's algorithm plus one CPU rounding.
import fc from 'fast-check';
import type { Backend, HostArray, Storage } from '../../src/backend/backend.js';
import { allBackends, backendName, cpu, webgpuGles } from '../helpers/backends.js';
import { dim } from './cpu_util.js';

/** Sizes 1..67 plus the edges of 64/128-wide workgroups and tiles. */
export const size = fc.oneof(dim, fc.constantFrom(63, 64, 65, 127, 128, 129, 255, 257));

/** The size of one f32 ulp at |x| (subnormal spacing below 2^-126). */
export function ulp(x: number): number {
  const a = Math.abs(x);
  if (a < 2 ** -126) return 2 ** -149;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  return 2 ** (e - 23);
}

/**
 * Upload `inputs` to `be`, run `fn` on the storages (in the same order), read back the storages listed in
 * `read` (indices into inputs), free everything.
 */
export async function exec(
  be: Backend,
  inputs: HostArray[],
  fn: (s: Storage[]) => void,
  read: number[],
): Promise<HostArray[]> {
  const s = inputs.map((a) => {
    const t = be.alloc(a.length, a instanceof Float32Array ? 'f32' : 'i32');
    be.write(t, a);
    return t;
  });
  try {
    fn(s);
    const out: HostArray[] = [];
    for (const i of read) out.push(await be.read(s[i]!));
    return out;
  } finally {
    for (const t of s) be.free(t);
  }
}

/** The other backends (WebGPU, and WebGPU on GL ES where the shared one is not): each compared with the CPU reference. */
export async function others(): Promise<Backend[]> {
  const gles = await webgpuGles();
  return [...(await allBackends()).filter((b) => b !== cpu), ...(gles ? [gles] : [])];
}

/**
 * Run the same case on the CPU and on every other backend (or on `backends`, e.g. small-binding views);
 * `check(name, got, ref)` compares each other backend's results with the CPU's.
 */
export async function agree(
  inputs: HostArray[],
  fn: (be: Backend, s: Storage[]) => void,
  read: number[],
  check: (name: string, got: HostArray[], ref: HostArray[]) => void,
  backends?: Backend[],
): Promise<void> {
  const ref = await exec(cpu, inputs, (s) => fn(cpu, s), read);
  for (const be of backends ?? (await others())) {
    const got = await exec(be, inputs, (s) => fn(be, s), read);
    check(await backendName(be), got, ref);
  }
}
