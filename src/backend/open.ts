// Choosing the compute backend for a command. `auto` takes a hardware WebGPU adapter when there is one;
// a software rasteriser (Mesa llvmpipe/lavapipe, SwiftShader) runs WGSL on the CPU slower than the CPU
// backend's own loops, so `auto` then uses the CPU backend. `webgpu` insists on WebGPU (software included)
// and fails with the adapter error when there is none; `cpu` never touches WebGPU.
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu.js';

export type BackendChoice = 'auto' | 'webgpu' | 'cpu';

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe/i;

export async function openBackend(choice: BackendChoice, note: (msg: string) => void = () => {}): Promise<Backend> {
  if (choice === 'cpu') return new CpuBackend();
  const { createWebGpuBackend } = await import('./webgpu/webgpu.js');
  if (choice === 'webgpu') return createWebGpuBackend({});
  let gpu: Backend;
  try {
    gpu = await createWebGpuBackend({});
  } catch (err) {
    note(`backend: no WebGPU adapter (${(err as Error).message.split('\n')[0]}); using the CPU backend`);
    return new CpuBackend();
  }
  const { describeAdapter } = await import('./webgpu/info.js');
  const d = await describeAdapter(gpu).catch((err: unknown) => {
    gpu.dispose(); // without device.destroy() Node never exits
    throw err;
  });
  if (SOFTWARE.test(`${d.vendor} ${d.architecture} ${d.device} ${d.description}`)) {
    gpu.dispose();
    note(`backend: the only WebGPU adapter is a software rasteriser (${d.device}); using the CPU backend (--backend webgpu forces it)`);
    return new CpuBackend();
  }
  note(`backend: WebGPU on ${d.vendor} ${d.device} (${d.backend}, ${d.featureLevel})`);
  return gpu;
}
