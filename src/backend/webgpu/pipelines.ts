// Kernel sources and compute pipelines. Each kernel is one file `kernels/<name>.wgsl` with entry point
// `main`, read once and composed with the snippets it includes (wgsl_compose.ts: `//#include "lib/x.wgsl"`).
// Pipelines are cached by name + JSON of the override constants.
// Bind group layouts are explicit, derived from the `@binding(i) var<storage, read|read_write>` /
// `var<uniform>` declarations, so a binding a kernel happens not to use statically is still accepted
// (layout 'auto' would drop it and reject the bind group).
// Compile errors are collected through an error scope plus getCompilationInfo and reported with the
// kernel's name and the file:line each message points at (in the kernel file or a snippet it includes) by
// the context at its next checkpoint.
/// <reference types="@webgpu/types" />
import { readFileSync } from 'node:fs';
import { composeWgsl, sourceOf, type ComposedWgsl } from './wgsl_compose.js';

const SHADER_STAGE_COMPUTE = 0x4;

const KERNELS = new URL('../../../kernels/', import.meta.url);
const sources = new Map<string, ComposedWgsl>();
/** Test and extension hook: kernels registered here shadow the files in kernels/. */
const registered = new Map<string, string>();

/** Register WGSL source under a kernel name (used by specs to compile a deliberately broken kernel). */
export function registerKernelSource(name: string, code: string): void {
  registered.set(name, code);
  sources.delete(name);
}

/** A file of kernels/ by its relative path, or null when there is none. */
export function readKernelFile(file: string): string | null {
  try {
    return readFileSync(new URL(file, KERNELS), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The composed source of a kernel: its file (or registered text) with includes resolved. */
export function kernelSource(name: string): ComposedWgsl {
  let src = sources.get(name);
  if (src === undefined) {
    if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`WebGPU: bad kernel name '${name}'`);
    const file = `${name}.wgsl`;
    const reg = registered.get(name);
    const read = (f: string): string | null => (f === file && reg !== undefined ? reg : readKernelFile(f));
    try {
      src = composeWgsl(file, read);
    } catch (err) {
      throw new Error(`WebGPU: kernel '${name}': ${(err as Error).message} (kernels/ is ${KERNELS.pathname})`);
    }
    sources.set(name, src);
  }
  return src;
}

/** A compilation message's place as `file:line:pos` in the kernel's own files. */
export function messagePlace(name: string, src: ComposedWgsl, lineNum: number, linePos: number): string {
  const at = sourceOf(src, lineNum);
  return at ? `${at.file}:${at.line}:${linePos}` : `${name}.wgsl:${lineNum}:${linePos}`;
}

type BindingKind = 'read-only-storage' | 'storage' | 'uniform';

/** Binding kinds in @binding order, parsed from the module's declarations. */
export function parseBindings(name: string, code: string): BindingKind[] {
  const kinds: BindingKind[] = [];
  const noComments = code.replace(/\/\/[^\n]*/g, '');
  const re = /@binding\(\s*(\d+)\s*\)[^;]*?var\s*<\s*(storage|uniform)\s*(?:,\s*(read_write|read)\s*)?>/g;
  for (const m of noComments.matchAll(re)) {
    const i = Number(m[1]);
    const kind: BindingKind = m[2] === 'uniform' ? 'uniform' : m[3] === 'read_write' ? 'storage' : 'read-only-storage';
    if (kinds[i] !== undefined) throw new Error(`WebGPU kernel '${name}': @binding(${i}) declared twice`);
    kinds[i] = kind;
  }
  for (let i = 0; i < kinds.length; i++) {
    if (kinds[i] === undefined) throw new Error(`WebGPU kernel '${name}': bindings must be 0..n-1, @binding(${i}) missing`);
  }
  return kinds;
}

export interface Pipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly kinds: readonly BindingKind[];
}

export class PipelineCache {
  private readonly cache = new Map<string, Pipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();
  /** Outstanding compile checks; each resolves to an error message or null. */
  private checks: Promise<string | null>[] = [];

  constructor(private readonly device: GPUDevice) {}

  get(name: string, constants: Record<string, number>): Pipeline {
    const key = `${name}|${JSON.stringify(constants)}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const src = kernelSource(name);
    const code = src.code;
    const kinds = parseBindings(name, code);
    const dev = this.device;
    dev.pushErrorScope('validation');
    let module = this.modules.get(name);
    let info: Promise<GPUCompilationInfo> | null = null;
    if (!module) {
      module = dev.createShaderModule({ code, label: name });
      this.modules.set(name, module);
      info = module.getCompilationInfo();
    }
    const layout = dev.createBindGroupLayout({
      label: name,
      entries: kinds.map((type, binding) => ({
        binding,
        visibility: SHADER_STAGE_COMPUTE,
        buffer: { type },
      })),
    });
    const pipeline = dev.createComputePipeline({
      label: name,
      layout: dev.createPipelineLayout({ bindGroupLayouts: [layout], label: name }),
      compute: { module, entryPoint: 'main', constants },
    });
    const scope = dev.popErrorScope();
    this.checks.push(
      Promise.all([scope, info]).then(([err, ci]) => {
        const lines = (ci?.messages ?? [])
          .filter((m) => m.type === 'error')
          .map((m) => `  ${messagePlace(name, src, m.lineNum, m.linePos)}: ${m.message}`);
        if (!err && lines.length === 0) return null;
        // Forget the failed objects, so that a later use fails again with its cause instead of a follow-on.
        this.cache.delete(key);
        if (this.modules.get(name) === module) this.modules.delete(name);
        const detail = lines.length > 0 ? lines.join('\n') : (err?.message ?? '');
        return `WebGPU kernel '${name}' (constants ${JSON.stringify(constants)}) failed to compile:\n${detail}`;
      }),
    );
    const p = { pipeline, layout, kinds };
    this.cache.set(key, p);
    return p;
  }

  /** Wait for every pending compile check; returns the first error message, or null. */
  async settle(): Promise<string | null> {
    const checks = this.checks;
    this.checks = [];
    const results = await Promise.all(checks);
    return results.find((r) => r !== null) ?? null;
  }

  /** Forget a kernel's module and pipelines (test hook, after re-registering its source). */
  evict(name: string): void {
    this.modules.delete(name);
    for (const k of [...this.cache.keys()]) if (k.startsWith(`${name}|`)) this.cache.delete(k);
  }
}
