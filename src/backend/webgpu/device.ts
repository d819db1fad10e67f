// Adapter and device acquisition for Dawn in Node (npm `webgpu`).
// Order: an explicit backend (opts or BATCHTOPK_WEBGPU_BACKEND), else the platform's default adapter at the
// core feature level, else Mesa llvmpipe through Dawn's OpenGL ES backend at the compatibility level.
// The `create()` result is kept module-local (never on globalThis): dawn.node hangs or crashes when the
// navigator/gpu globals are deleted, and a second device from one adapter is force-lost by Dawn.
/// <reference types="@webgpu/types" />
import { create } from 'webgpu';

export interface WebGpuOptions {
  /** Dawn backend to use: 'vulkan' | 'metal' | 'd3d12' | 'd3d11' | 'opengles' | 'opengl'; env BATCHTOPK_WEBGPU_BACKEND. */
  backend?: string;
  /** Feature level to request with an explicit backend (default: 'core', and 'compatibility' for GL backends). */
  featureLevel?: 'core' | 'compatibility';
  /** Extra Dawn flags passed to create(), e.g. 'enable-dawn-features=...'. */
  dawnFlags?: string[];
  /** Lower the largest storage binding below the device limit (forces windowed processing; >= 4096). */
  maxBindingBytes?: number;
}

export interface AcquiredDevice {
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  /** The Dawn backend flag used ('default' for the platform's own choice). */
  readonly backend: string;
  readonly featureLevel: 'core' | 'compatibility';
}

const INSTALL_HINT =
  'On a machine without a GPU install Mesa (llvmpipe): apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri libgles2; ' +
  'or choose a backend with BATCHTOPK_WEBGPU_BACKEND=vulkan|metal|d3d12|opengles.';

/**
 * The limits worth raising to the adapter's maximum for compute (the defaults are far lower). The offset
 * alignments are left at their default 256 bytes, the value most GPUs have, so that windowed bindings run
 * under the same alignment on llvmpipe (which offers 16) in CI as on a real GPU.
 */
const COMPUTE_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
] as const;

interface Attempt {
  flag: string;
  featureLevel: 'core' | 'compatibility';
}

function attempts(opts: WebGpuOptions): Attempt[] {
  const explicit = opts.backend ?? process.env.BATCHTOPK_WEBGPU_BACKEND;
  if (explicit) {
    const gl = explicit === 'opengles' || explicit === 'opengl';
    return [{ flag: explicit, featureLevel: opts.featureLevel ?? (gl ? 'compatibility' : 'core') }];
  }
  return [
    { flag: 'default', featureLevel: 'core' },
    { flag: 'opengles', featureLevel: 'compatibility' },
  ];
}

function requiredLimits(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  const lim = adapter.limits as unknown as Record<string, number | undefined>;
  for (const k of COMPUTE_LIMITS) {
    const v = lim[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

/**
 * Create one device. Dawn allows one `create()` result per process in practice, so callers share the
 * returned device (the spec helpers do) rather than calling this twice.
 */
export async function acquireDevice(opts: WebGpuOptions = {}): Promise<AcquiredDevice> {
  const tried: string[] = [];
  for (const a of attempts(opts)) {
    // EGL otherwise tries X11 and fails on a headless machine; harmless for other backends.
    if (a.flag === 'opengles' || a.flag === 'opengl') process.env.EGL_PLATFORM ??= 'surfaceless';
    const flags = [...(a.flag === 'default' ? [] : [`backend=${a.flag}`]), ...(opts.dawnFlags ?? [])];
    let gpu: GPU;
    let adapter: GPUAdapter | null = null;
    try {
      gpu = create(flags);
      adapter = await gpu.requestAdapter({ featureLevel: a.featureLevel, powerPreference: 'high-performance' });
    } catch (err) {
      tried.push(`${a.flag} (${a.featureLevel}): ${(err as Error).message}`);
      continue;
    }
    if (!adapter) {
      tried.push(`${a.flag} (${a.featureLevel}): no adapter`);
      continue;
    }
    const device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter), label: 'batchtopk' });
    return { gpu, adapter, device, backend: a.flag, featureLevel: a.featureLevel };
  }
  throw new Error(`No WebGPU adapter found. Tried: ${tried.join('; ')}. ${INSTALL_HINT}`);
}
