// `batchtopk info`: the WebGPU adapter (vendor, architecture, Dawn backend, feature level, limits in use)
// when there is one, and which backend a command with the same --backend choice would run on.
import { backendLabel } from '../backend/open.js';
import { openBackend, type BackendChoice } from './backend.js';

export async function runInfo(choice: BackendChoice): Promise<{ text: string; json: Record<string, unknown> }> {
  const lines: string[] = [];
  const json: Record<string, unknown> = {};
  if (choice !== 'cpu') {
    const { createWebGpuBackend } = await import('../backend/webgpu/webgpu.js');
    const { describeAdapter, formatAdapter } = await import('../backend/webgpu/info.js');
    try {
      const gpu = await createWebGpuBackend({});
      try {
        const d = await describeAdapter(gpu);
        json['adapter'] = d;
        lines.push('WebGPU adapter:', formatAdapter(d), '');
      } finally {
        gpu.dispose();
      }
    } catch (err) {
      if (choice === 'webgpu') throw err;
      json['adapterError'] = (err as Error).message;
      lines.push(`WebGPU: no adapter (${(err as Error).message})`, '');
    }
  }
  const notes: string[] = [];
  const backend = await openBackend(choice, (m) => notes.push(m));
  backend.dispose();
  json['backend'] = backendLabel(backend);
  json['notes'] = notes;
  lines.push(...notes, `--backend ${choice} runs on: ${backendLabel(backend)}${backendLabel(backend) === 'cpu' ? ' (pure TypeScript reference)' : backendLabel(backend) === 'cpu-fast' ? ' (WebAssembly SIMD matmul on every core)' : ''}`);
  return { text: lines.join('\n'), json };
}
