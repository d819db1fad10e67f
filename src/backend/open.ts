// Choosing the compute backend for a command.
// - `cpu`: the pure-TypeScript reference backend (single-threaded, f64 accumulation).
// - `cpu-fast`: the reference with its dense matmul on a WebAssembly SIMD kernel over every core (cpu_fast.ts).
// - `webgpu`: insists on WebGPU (software adapters included) and fails with the adapter error when there is none.
// - `auto`: a hardware WebGPU adapter when there is one. Otherwise the fast CPU backend, or a software
//   rasteriser (Mesa llvmpipe/lavapipe, SwiftShader: it runs WGSL on the same CPU cores) when a short
//   calibration run of the SAE's shape measured it faster on this machine (calibrate.ts; cached per machine,
//   adapter and shape).
import * as os from 'node:os';
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu.js';
import { FastCpuBackend } from './cpu_fast.js';

export type BackendChoice = 'auto' | 'webgpu' | 'cpu' | 'cpu-fast';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'cpu', 'cpu-fast'];

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe/i;

/** The backend's name for users: 'cpu' (reference), 'cpu-fast' or 'webgpu'. */
export function backendLabel(be: Backend): string {
  return (be as { variant?: string }).variant ?? be.name;
}

/** What the command will compute, when known (lets `auto` calibrate between a software adapter and the CPU). */
export interface WorkloadHint {
  dIn: number;
  dSae: number;
}

export async function openBackend(choice: BackendChoice, note: (msg: string) => void = () => {}, hint?: WorkloadHint): Promise<Backend> {
  if (choice === 'cpu') return new CpuBackend();
  if (choice === 'cpu-fast') return new FastCpuBackend();
  const { createWebGpuBackend } = await import('./webgpu/webgpu.js');
  if (choice === 'webgpu') return createWebGpuBackend({});
  let gpu: Backend;
  try {
    gpu = await createWebGpuBackend({});
  } catch (err) {
    note(`backend: no WebGPU adapter (${(err as Error).message.split('\n')[0]}); using the fast CPU backend`);
    return new FastCpuBackend();
  }
  const { describeAdapter } = await import('./webgpu/info.js');
  const d = await describeAdapter(gpu).catch((err: unknown) => {
    gpu.dispose(); // without device.destroy() Node never exits
    throw err;
  });
  const adapter = `${d.vendor} ${d.architecture} ${d.device} ${d.description}`;
  if (!SOFTWARE.test(adapter)) {
    note(`backend: WebGPU on ${d.vendor} ${d.device} (${d.backend}, ${d.featureLevel})`);
    return gpu;
  }
  const cpu = new FastCpuBackend();
  if (!hint) {
    gpu.dispose();
    note(`backend: the only WebGPU adapter is a software rasteriser (${d.device}); using the fast CPU backend`);
    return cpu;
  }
  try {
    const { calibrate } = await import('./calibrate.js');
    const machine = `${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}|${adapter.trim()}`;
    const c = await calibrate([{ label: 'cpu-fast', backend: cpu }, { label: 'webgpu', backend: gpu }], hint, machine);
    const times = Object.entries(c.msPerStep).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ');
    note(
      `backend: software WebGPU adapter (${d.device}) vs the fast CPU backend, ${c.cached ? 'cached calibration' : 'calibrated'} ` +
        `(a ${c.batch}-row step at d=${hint.dIn}, m=${c.dSae}: ${times}; ${c.file}); using ${c.winner}`,
    );
    if (c.winner === 'webgpu') {
      cpu.dispose();
      return gpu;
    }
    gpu.dispose();
    return cpu;
  } catch (err) {
    gpu.dispose();
    cpu.dispose();
    throw err;
  }
}
