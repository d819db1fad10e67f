// Opening one compute backend by name.
// - `cpu`: the pure-TypeScript reference backend (single-threaded, f64 accumulation).
// - `cpu-fast`: the reference with threads and WebAssembly SIMD kernels over a shared heap (cpu_fast.ts).
// - `webgpu`: WebGPU (software adapters included); fails with the adapter error when there is none.
// Choosing among them for a command (`--backend auto`, by measurement) is the run layer's (run/backend.ts).
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/reference.js';
import { FastCpuBackend } from './cpu_fast.js';

export type DeviceKind = 'cpu' | 'cpu-fast' | 'webgpu';

/** Software rasterisers: WebGPU that runs WGSL on the CPU cores. */
export const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe/i;

/** The backend's name for users: 'cpu' (reference), 'cpu-fast' or 'webgpu'. */
export function backendLabel(be: Backend): string {
  return be.variant ?? be.name;
}

export async function openDevice(kind: DeviceKind): Promise<Backend> {
  if (kind === 'cpu') return new CpuBackend();
  if (kind === 'cpu-fast') return new FastCpuBackend();
  const { createWebGpuBackend } = await import('./webgpu/webgpu.js');
  return createWebGpuBackend({});
}
