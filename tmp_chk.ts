import { createWebGpuBackend } from './src/backend/webgpu/webgpu.js';
import { hostPolls } from './src/backend/webgpu/host_poll.js';
const be = await createWebGpuBackend({});
const n = 1 << 24; const x = be.alloc(n, 'f32'); const s = be.alloc(1, 'f32');
for (let i = 0; i < 3; i++) { const t = performance.now(); for (let j = 0; j < 20; j++) be.reduce('sum', s, x, 1, n, 1); await be.sync(); console.log((performance.now() - t).toFixed(0), JSON.stringify(hostPolls)); }
be.dispose();
