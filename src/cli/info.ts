// `batchtopk info`: which backend a command would use, and for WebGPU the adapter, feature level and limits.
import { openBackend, type BackendChoice } from '../backend/open.js';

export async function runInfo(choice: BackendChoice): Promise<{ text: string; json: Record<string, unknown> }> {
  const notes: string[] = [];
  const backend = await openBackend(choice, (m) => notes.push(m));
  try {
    if (backend.name === 'cpu') {
      return { text: [...notes, 'backend: cpu (pure TypeScript reference)'].join('\n'), json: { backend: 'cpu', notes } };
    }
    const { describeAdapter, formatAdapter } = await import('../backend/webgpu/info.js');
    const d = await describeAdapter(backend);
    return { text: [...notes, 'backend: webgpu', formatAdapter(d)].join('\n'), json: { backend: 'webgpu', notes, adapter: d } };
  } finally {
    backend.dispose();
  }
}
