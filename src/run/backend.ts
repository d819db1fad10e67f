// The backend a command runs on, and its lifetime.
// - `--backend cpu | cpu-fast | webgpu`: that backend (backend/open.ts).
// - `auto`: a hardware WebGPU adapter when there is one. Otherwise the fast CPU backend, or a software
//   rasteriser (Mesa llvmpipe/lavapipe, SwiftShader: it runs WGSL on the same CPU cores) when a short
//   calibration run of the SAE's shape measured it faster on this machine (measure_backend.ts; cached per
//   machine, adapter and shape).
// Commands open their backend only once their inputs are known to be good (an `OpenBackend` called with the
// workload's shape), and `withBackend` disposes whatever was opened, however the command ends.
import * as os from 'node:os';
import type { Backend } from '../backend/backend.js';
import { openDevice, SOFTWARE_ADAPTER } from '../backend/open.js';

export type BackendChoice = 'auto' | 'webgpu' | 'cpu' | 'cpu-fast';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'cpu', 'cpu-fast'];

/** What the command will compute, when known (lets `auto` calibrate between a software adapter and the CPU). */
export interface WorkloadHint {
  dIn: number;
  dSae: number;
}

/** Opens the command's backend once its workload is known. */
export type OpenBackend = (hint?: WorkloadHint) => Promise<Backend>;

/** A backend given as it is, or opened on demand. */
export type BackendOrOpen = Backend | OpenBackend;

export async function openBackend(choice: BackendChoice, note: (msg: string) => void = () => {}, hint?: WorkloadHint): Promise<Backend> {
  if (choice !== 'auto') return openDevice(choice);
  let gpu: Backend;
  try {
    gpu = await openDevice('webgpu');
  } catch (err) {
    note(`backend: no WebGPU adapter (${(err as Error).message.split('\n')[0]}); using the fast CPU backend`);
    return openDevice('cpu-fast');
  }
  const { describeAdapter } = await import('../backend/webgpu/info.js');
  const d = await describeAdapter(gpu).catch((err: unknown) => {
    gpu.dispose(); // without device.destroy() Node never exits
    throw err;
  });
  const adapter = `${d.vendor} ${d.architecture} ${d.device} ${d.description}`;
  if (!SOFTWARE_ADAPTER.test(adapter)) {
    note(`backend: WebGPU on ${d.vendor} ${d.device} (${d.backend}, ${d.featureLevel})`);
    return gpu;
  }
  const cpu = await openDevice('cpu-fast');
  if (!hint) {
    gpu.dispose();
    note(`backend: the only WebGPU adapter is a software rasteriser (${d.device}); using the fast CPU backend`);
    return cpu;
  }
  try {
    const { measureBackends } = await import('./measure_backend.js');
    const machine = `${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}|${adapter.trim()}`;
    const c = await measureBackends([{ label: 'cpu-fast', backend: cpu }, { label: 'webgpu', backend: gpu }], hint, machine);
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

/** The opener of a --backend choice, with its notes going to `note`. */
export function opener(choice: BackendChoice, note: (msg: string) => void = () => {}): OpenBackend {
  return (hint) => openBackend(choice, note, hint);
}

/** The backend itself, or the one `open` gives for this workload. */
export async function resolveBackend(b: BackendOrOpen, hint: WorkloadHint): Promise<Backend> {
  return typeof b === 'function' ? b(hint) : b;
}

/**
 * Run `f` with an opener whose backend (if `f` opens one) is disposed when `f` ends, however it ends. A
 * backend given as it is stays the caller's.
 */
export async function withBackend<T>(b: BackendOrOpen, f: (b: BackendOrOpen) => Promise<T>): Promise<T> {
  if (typeof b !== 'function') return f(b);
  let opened: Backend | null = null;
  try {
    return await f(async (hint) => (opened = await b(hint)));
  } finally {
    (opened as Backend | null)?.dispose();
  }
}
