// Choosing the compute backend for a command. `auto` takes a hardware WebGPU adapter when there is one.
// A software rasteriser (Mesa llvmpipe/lavapipe, SwiftShader) runs WGSL on the CPU cores: measured on the
// 2-core dev machine (bench/RESULTS.md, training step), it beats the single-threaded CPU backend once the
// matmuls dominate (d 768 x m 3072: 1.2-2.5x faster) and loses on small SAEs (d 64 x m 512: up to 3.5x
// slower), so `auto` uses it only for SAEs of at least SOFTWARE_MIN_WEIGHTS encoder weights.
// `webgpu` insists on WebGPU (software included) and fails with the adapter error when there is none;
// `cpu` never touches WebGPU.
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu.js';

export type BackendChoice = 'auto' | 'webgpu' | 'cpu';

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe/i;

/** d_in x d_sae from which a software WebGPU adapter is preferred to the CPU backend (between the two benches). */
export const SOFTWARE_MIN_WEIGHTS = 1 << 20;

/** What the command will compute, when known (helps `auto` choose between a software adapter and the CPU). */
export interface WorkloadHint {
  dIn: number;
  dSae: number;
}

export async function openBackend(choice: BackendChoice, note: (msg: string) => void = () => {}, hint?: WorkloadHint): Promise<Backend> {
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
  const big = hint !== undefined && hint.dIn * hint.dSae >= SOFTWARE_MIN_WEIGHTS;
  if (SOFTWARE.test(`${d.vendor} ${d.architecture} ${d.device} ${d.description}`) && !big) {
    gpu.dispose();
    note(
      `backend: the only WebGPU adapter is a software rasteriser (${d.device}); for an SAE under ${SOFTWARE_MIN_WEIGHTS} ` +
        'encoder weights the CPU backend is faster, using it (--backend webgpu forces WebGPU)',
    );
    return new CpuBackend();
  }
  note(`backend: WebGPU on ${d.vendor} ${d.device} (${d.backend}, ${d.featureLevel})`);
  return gpu;
}
