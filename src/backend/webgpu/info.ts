// A printable description of the WebGPU adapter and device in use: what ran a benchmark or a training run
// (vendor, architecture, device, driver description, Dawn backend, feature level, and the limits granted).
/// <reference types="@webgpu/types" />
import { COMPUTE_LIMITS } from './device.js';
import type { Backend } from '../backend.js';
import { WebGpuBackend } from './webgpu.js';
import type { GpuTuning } from './tuning.js';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The Dawn backend flag used to create the adapter ('default' = the platform's own choice). */
  backend: string;
  featureLevel: string;
  /** Kernel choices for this adapter (matmul family, reduction shape). */
  tuning: GpuTuning;
  features: string[];
  /** Limits granted to the device that matter for compute. */
  limits: Record<string, number>;
  /** The storage-binding limit the backend windows against (may be lowered below the device's). */
  maxBindingBytes: number;
  webgpuPackage: string;
}

/** The limits `info` shows: those the device is asked for (device.ts), and the alignments left at their defaults. */
const SHOWN_LIMITS = [...COMPUTE_LIMITS, 'minStorageBufferOffsetAlignment', 'minUniformBufferOffsetAlignment'] as const;

/** Describe the adapter behind a WebGPU backend (throws for another backend). */
export async function describeAdapter(backend: Backend): Promise<AdapterDescription> {
  if (!(backend instanceof WebGpuBackend)) throw new Error(`describeAdapter: backend '${backend.name}' is not WebGPU`);
  const owner = backend.owner;
  const info = owner?.adapter.info;
  const lim = backend.ctx.limits as unknown as Record<string, number>;
  const limits: Record<string, number> = {};
  for (const k of SHOWN_LIMITS) if (typeof lim[k] === 'number') limits[k] = lim[k];
  let webgpuPackage = 'unknown';
  try {
    const { createRequire } = await import('node:module');
    webgpuPackage = (createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version;
  } catch {
    // The version is informative only.
  }
  return {
    vendor: info?.vendor || '(not reported)',
    architecture: info?.architecture || '(not reported)',
    device: info?.device || '(not reported)',
    description: info?.description || '(not reported)',
    backend: owner?.backend ?? '(view)',
    featureLevel: owner?.featureLevel ?? '(view)',
    tuning: { ...backend.tuning },
    features: owner ? [...owner.device.features].sort() : [],
    limits,
    maxBindingBytes: backend.ctx.maxBindingBytes,
    webgpuPackage,
  };
}

/** The description as aligned `key: value` lines. */
export function formatAdapter(d: AdapterDescription): string {
  const rows: [string, string][] = [
    ['vendor', d.vendor],
    ['architecture', d.architecture],
    ['device', d.device],
    ['description', d.description],
    ['dawn backend', d.backend],
    ['feature level', d.featureLevel],
    ['matmul kernel', d.tuning.matmul],
    ['reduce shape', `${d.tuning.reduceWG} invocations x ${d.tuning.reducePer} elements`],
    ['webgpu (npm)', d.webgpuPackage],
    ['device features', d.features.join(', ') || '(none)'],
    ['binding limit used', String(d.maxBindingBytes)],
    ...Object.entries(d.limits).map(([k, v]): [string, string] => [k, String(v)]),
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
