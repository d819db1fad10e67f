// Adapter and device acquisition for Dawn in Node (npm `webgpu`).
// Order: an explicit backend (opts or BATCHTOPK_WEBGPU_BACKEND), else the platform's default adapter at the
// core feature level, else Mesa llvmpipe through Dawn's OpenGL ES backend at the compatibility level.
// The `create()` results are kept module-local (never on globalThis) and for the life of the process, one per
// flag set shared by every backend (see dawnInstance): dawn.node hangs or crashes when an instance is torn down
// (the navigator/gpu globals deleted, or the object collected), and a second device from one adapter is
// force-lost by Dawn, so each device comes from a fresh adapter.
// Dawn prints its own notices (a missing libvulkan with its build machine's source path, limits it clamps)
// from native code straight to file descriptor 2, not through any JS callback, so they are caught at the
// descriptor: acquireDevice points fd 2 at a temporary file while Dawn starts (see captureNativeStderr),
// then shows what Dawn wrote only when verbose, and puts it into the error when no adapter could be had.
/// <reference types="@webgpu/types" />
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { create } from 'webgpu';
import { installHostPolling } from './host_poll.js';
import { isCpuAdapter } from './tuning.js';

export interface WebGpuOptions {
  /** Dawn backend to use: 'vulkan' | 'metal' | 'd3d12' | 'd3d11' | 'opengles' | 'opengl'; env BATCHTOPK_WEBGPU_BACKEND. */
  backend?: string;
  /** Feature level to request with an explicit backend (default: 'core', and 'compatibility' for GL backends). */
  featureLevel?: 'core' | 'compatibility';
  /** Extra Dawn flags passed to create(), e.g. 'enable-dawn-features=...'. */
  dawnFlags?: string[];
  /** Lower the largest storage binding below the device limit (forces windowed processing; >= 4096). */
  maxBindingBytes?: number;
  /**
   * Pass Dawn's own messages through to stderr (default: setDawnVerbose or BATCHTOPK_VERBOSE=1, which the
   * CLI's --verbose sets; otherwise they are shown only inside the error when no adapter is found).
   */
  verbose?: boolean;
}

let dawnVerbose = false;

/** The CLI's --verbose: show Dawn's native messages instead of holding them back. */
export function setDawnVerbose(on: boolean): void {
  dawnVerbose = on;
}

/**
 * Run `fn` with file descriptor 2 pointed at a temporary file, and return what native code wrote there.
 * Node has no dup2, but open() returns the lowest free descriptor: keep a second descriptor on the real
 * stderr (reopened through /dev/fd/2), close 2, open the temporary file (which becomes 2), and afterwards
 * the same dance back. Only for a terminal or a pipe; elsewhere (Windows; a regular file, whose reopened
 * descriptor would not share the offset of stdout in `> log 2>&1`; a socket, which is what Node gives a child
 * whose stdio it pipes, and which cannot be reopened) nothing is captured: Dawn's notices pass through.
 */
export async function captureNativeStderr<T>(fn: () => Promise<T>): Promise<{ value: T; text: string }> {
  let saved: number;
  try {
    if (process.platform === 'win32') throw new Error('no /dev/fd');
    // Only where a reopened stderr is the same stream: a terminal or a pipe. A regular file would come back
    // as a second description with its own offset, and `cmd > log 2>&1` would then overwrite lines.
    const st = fs.fstatSync(2);
    if (!st.isFIFO() && !st.isCharacterDevice()) throw new Error('not a terminal or pipe');
    saved = fs.openSync('/dev/fd/2', 'a');
  } catch {
    return { value: await fn(), text: '' };
  }
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-dawn-')), 'stderr.txt');
  const restore = () => {
    fs.closeSync(2);
    const back = fs.openSync(`/dev/fd/${saved}`, 'a');
    if (back !== 2) throw new Error(`internal: could not restore stderr (got fd ${back})`);
    fs.closeSync(saved);
  };
  fs.closeSync(2);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w+');
  } catch (err) {
    restore();
    throw err;
  }
  if (fd !== 2) {
    // Descriptor 2 was taken by another thread between close and open: give everything back.
    fs.closeSync(fd);
    restore();
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
    return { value: await fn(), text: '' };
  }
  try {
    const value = await fn();
    return { value, text: fs.readFileSync(tmp, 'utf8') };
  } catch (err) {
    (err as { nativeStderr?: string }).nativeStderr = fs.readFileSync(tmp, 'utf8');
    throw err;
  } finally {
    restore();
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
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
  'On a machine without a GPU install Mesa (lavapipe and llvmpipe; lavapipe needs Mesa >= 24, on Debian 12 from ' +
  'bookworm-backports, see the README): apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 libegl-dev libvulkan1 mesa-vulkan-drivers; ' +
  'or choose a backend with BATCHTOPK_WEBGPU_BACKEND=vulkan|metal|d3d12|opengles.';

/**
 * The limits worth raising to the adapter's maximum for compute (the defaults are far lower). The offset
 * alignments are left at their default 256 bytes, the value most GPUs have, so that windowed bindings run
 * under the same alignment on llvmpipe (which offers 16) in CI as on a real GPU.
 */
export const COMPUTE_LIMITS = [
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

/**
 * Features used where the adapter has them, never required: timestamp-query times each kernel on the device
 * in `train --profile` (otherwise synced wall time). A device has only the features asked for here.
 */
export const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query'];

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
 * The Dawn instances (`create()` results) of this process, one per flag set, created on first use and
 * never released. A dropped instance is torn down when V8 collects it, at a moment no code chooses, and
 * dawn.node's instance teardown is where it crashes (the `delete navigator.gpu` segfault, webgpu-anchors.md;
 * a sweep that opened a backend per trial died with `Segmentation fault` in its 10th run: issue 17, item 2).
 * So every backend opened in the process gets
 * its device from the same instance (through a fresh adapter: a device consumes its adapter), and disposing
 * a backend destroys only its device, which is what lets Node exit.
 */
const instances = new Map<string, GPU>();

/** How many Dawn instances this process has created (for specs: one per flag set, however many opens). */
export function dawnInstanceCount(): number {
  return instances.size;
}

function dawnInstance(flags: string[]): GPU {
  const key = flags.join('\n');
  let gpu = instances.get(key);
  if (!gpu) {
    gpu = create(flags);
    instances.set(key, gpu);
  }
  return gpu;
}

/**
 * Acquire a device for one backend: from the process's shared Dawn instance, through a fresh adapter. The
 * caller owns the device (destroy it when done); the instance stays for the next caller.
 */
export async function acquireDevice(opts: WebGpuOptions = {}): Promise<AcquiredDevice> {
  const verbose = opts.verbose ?? (dawnVerbose || process.env.BATCHTOPK_VERBOSE === '1');
  if (verbose) return acquire(opts);
  let got: { value: AcquiredDevice; text: string };
  try {
    got = await captureNativeStderr(() => acquire(opts));
  } catch (err) {
    // No adapter: what Dawn said may be the reason, so it goes into the error.
    const said = ((err as { nativeStderr?: string }).nativeStderr ?? '').trim();
    if (said) (err as Error).message += ` Dawn said: ${said.replace(/\s*\n\s*/g, ' | ')}`;
    throw err;
  }
  return got.value;
}

async function acquire(opts: WebGpuOptions): Promise<AcquiredDevice> {
  const tried: string[] = [];
  for (const a of attempts(opts)) {
    // EGL otherwise tries X11 and fails on a headless machine; harmless for other backends.
    if (a.flag === 'opengles' || a.flag === 'opengl') process.env.EGL_PLATFORM ??= 'surfaceless';
    const flags = [...(a.flag === 'default' ? [] : [`backend=${a.flag}`]), ...(opts.dawnFlags ?? [])];
    let gpu: GPU;
    let adapter: GPUAdapter | null = null;
    try {
      gpu = dawnInstance(flags);
      adapter = await gpu.requestAdapter({ featureLevel: a.featureLevel, powerPreference: 'high-performance' });
    } catch (err) {
      tried.push(`${a.flag} (${a.featureLevel}): ${(err as Error).message}`);
      continue;
    }
    if (!adapter) {
      tried.push(`${a.flag} (${a.featureLevel}): no adapter`);
      continue;
    }
    // A CPU adapter's threads share the host's cores: the host's wait must not spin one (host_poll.ts).
    if (isCpuAdapter(adapter.info)) installHostPolling();
    const device = await adapter.requestDevice({
      requiredLimits: requiredLimits(adapter),
      requiredFeatures: OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)),
      label: 'batchtopk',
    });
    return { gpu, adapter, device, backend: a.flag, featureLevel: a.featureLevel };
  }
  throw new Error(`No WebGPU adapter found. Tried: ${tried.join('; ')}. ${INSTALL_HINT}`);
}
