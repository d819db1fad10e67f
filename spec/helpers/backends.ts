// The backends every contract spec runs on. One WebGPU device is shared by all spec files (Dawn gives one
// device per adapter, and Node only exits after device.destroy(), done by closeSharedBackends()).
// A missing WebGPU adapter is an error, not a skip: the WebGPU specs are half of the contract.
// Set BATCHTOPK_ALLOW_NO_WEBGPU=1 to run the CPU specs alone on a machine without Mesa or a GPU
// (never in CI).
import type { Backend } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu/reference.js';
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';
import { backendLabel } from '../../src/backend/open.js';

export const cpu: Backend = new CpuBackend();

let fast: FastCpuBackend | null = null;
/** The fast CPU backend (WASM SIMD matmul on 2 threads, so the worker path runs even on one core). */
export function cpuFast(): FastCpuBackend {
  fast ??= new FastCpuBackend(2);
  return fast;
}

let gpu: Promise<Backend | null> | null = null;

/** The shared WebGPU backend, or null only when BATCHTOPK_ALLOW_NO_WEBGPU=1 and no adapter exists. */
export function webgpu(): Promise<Backend | null> {
  gpu ??= (async () => {
    try {
      const { createWebGpuBackend } = await import('../../src/backend/webgpu/webgpu.js');
      return await createWebGpuBackend({});
    } catch (err) {
      if (process.env.BATCHTOPK_ALLOW_NO_WEBGPU === '1' && process.env.CI !== 'true') {
        console.warn(`\n  WebGPU specs SKIPPED: ${(err as Error).message}\n`);
        return null;
      }
      throw err;
    }
  })();
  return gpu;
}

let gles: Promise<Backend | null> | null = null;

/**
 * A second WebGPU device, on Dawn's OpenGL ES backend at the compatibility feature level, for the contract
 * suites: where the shared device runs on Vulkan (lavapipe with Mesa >= 24, or a GPU), users without Vulkan
 * still get this path (its own WGSL translation, its limits), so the contract is checked on both. null where
 * the shared device is itself on GL ES, or where there is none (an error in CI, which installs Mesa's GL ES).
 */
export function webgpuGles(): Promise<Backend | null> {
  gles ??= (async () => {
    const main = (await webgpu()) as { owner?: { backend: string } | null } | null;
    if (!main || main.owner?.backend === 'opengles') return null;
    try {
      const { createWebGpuBackend } = await import('../../src/backend/webgpu/webgpu.js');
      return await createWebGpuBackend({ backend: 'opengles' });
    } catch (err) {
      if (process.env.CI === 'true') throw err;
      console.warn(`\n  WebGPU contract on OpenGL ES SKIPPED: ${(err as Error).message}\n`);
      return null;
    }
  })();
  return gles;
}

/** How a spec names a backend in its messages: the GL ES device apart from the shared one. */
export async function backendName(be: Backend): Promise<string> {
  return be === (await gles) && be !== null ? 'webgpu (opengles)' : backendLabel(be);
}

/** Both backends, for contract suites (WebGPU last; absent only under BATCHTOPK_ALLOW_NO_WEBGPU=1). */
export async function allBackends(): Promise<Backend[]> {
  const g = await webgpu();
  return g ? [cpu, g] : [cpu];
}

export async function closeSharedBackends(): Promise<void> {
  fast?.dispose();
  fast = null;
  if (!gpu) return;
  const g = await gpu.catch(() => null);
  g?.dispose();
  const e = await gles?.catch(() => null);
  e?.dispose();
}
