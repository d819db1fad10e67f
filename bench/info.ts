// Prints the WebGPU adapter this machine gives batchtopk: `npx tsx bench/info.ts`.
// Honours BATCHTOPK_WEBGPU_BACKEND (vulkan | metal | d3d12 | opengles).
import { describeAdapter, formatAdapter } from '../src/backend/webgpu/info.js';
import { createWebGpuBackend } from '../src/backend/webgpu/webgpu.js';

const backend = await createWebGpuBackend({});
try {
  console.log(formatAdapter(await describeAdapter(backend)));
} finally {
  backend.dispose();
}
