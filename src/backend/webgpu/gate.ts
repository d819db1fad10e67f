// Work that a flag on the device may cancel, with no readback: a GpuContext view that records the calls of
// a piece of work (dispatches, clears, copies, scratch releases) instead of running them, then commit()
// records them for real, each dispatch made indirect, behind `gate` kernels that write every dispatch's
// planned workgroup counts, or zeros when the flag is set. The select's exact fallback runs this way behind
// the sampled path (sampled_select.ts): when the sample brackets the cut, as it nearly always does, the
// fallback launches no workgroup. Scratch buffers are taken at once (their contents are only used in
// order), so what the piece of work holds stays out of the pool until its recorded release.
/// <reference types="@webgpu/types" />
import { copyParams, type KernelCall, type Workgroups } from './recorder.js';
import type { GpuBinding, GpuContext } from './context.js';
import { Params } from './chunk.js';

const GRIDS_PER_GATE = 256;

type Op =
  | { kind: 'dispatch'; kernel: string; constants: Record<string, number>; bindings: GpuBinding[]; params: ArrayBuffer | null; grid: [number, number, number] }
  | { kind: 'other'; run: () => void };

export class GatedContext implements GpuContext {
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  readonly maxBindingBytes: number;
  private readonly ops: Op[] = [];

  constructor(private readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.limits = ctx.limits;
    this.maxBindingBytes = ctx.maxBindingBytes;
  }

  dispatch(...[kernel, constants, bindings, params, workgroups]: [...KernelCall, Workgroups]): void {
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const copy = copyParams(params);
    this.ops.push({ kind: 'dispatch', kernel, constants, bindings, params: copy, grid: [x, y, z] });
  }

  dispatchIndirect(): void {
    throw new Error('WebGPU: an indirect dispatch cannot be gated again');
  }

  indirectScratch(bytes: number): GPUBuffer {
    return this.ctx.indirectScratch(bytes);
  }

  grid(n: number): [number, number] {
    return this.ctx.grid(n);
  }

  scratch(bytes: number): GPUBuffer {
    return this.ctx.scratch(bytes);
  }

  release(buf: GPUBuffer): void {
    this.ops.push({ kind: 'other', run: () => this.ctx.release(buf) });
  }

  clear(buf: GPUBuffer, offset?: number, size?: number): void {
    this.ops.push({ kind: 'other', run: () => this.ctx.clear(buf, offset, size) });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.ops.push({ kind: 'other', run: () => this.ctx.copy(src, srcOffset, dst, dstOffset, size) });
  }

  flush(): void {
    throw new Error('WebGPU: gated work cannot submit');
  }

  readBytes(): Promise<ArrayBuffer> {
    throw new Error('WebGPU: gated work cannot read back');
  }

  /**
   * Record the work on the real context: with runWhen 'zero' it runs when flag[index] == 0 (a u32 that
   * earlier recorded work sets) and launches nothing otherwise; with 'nonzero' the other way round. Clears
   * and copies always run (they are cheap).
   */
  commit(flag: GPUBuffer, index: number, runWhen: 'zero' | 'nonzero' = 'zero'): void {
    const grids = this.ops.flatMap((o) => (o.kind === 'dispatch' ? [o.grid] : []));
    const args = grids.length > 0 ? this.ctx.indirectScratch(Math.ceil((grids.length * 12) / 16) * 16) : null;
    for (let base = 0; base < grids.length; base += GRIDS_PER_GATE) {
      const part = grids.slice(base, base + GRIDS_PER_GATE);
      const p = new Params().u32(part.length, base, index, runWhen === 'zero' ? 0 : 1);
      // The uniform struct holds GRIDS_PER_GATE entries: pad the unused ones.
      for (let j = 0; j < GRIDS_PER_GATE; j++) p.u32(...(part[j] ?? [0, 0, 0]), 0);
      this.ctx.dispatch('gate', { WG: 64 }, [flag, args!], p.bytes, [Math.ceil(part.length / 64)]);
    }
    let i = 0;
    for (const o of this.ops) {
      if (o.kind === 'other') o.run();
      else this.ctx.dispatchIndirect(o.kernel, o.constants, o.bindings, o.params, args!, 12 * i++);
    }
    this.ops.length = 0;
    if (args) this.ctx.release(args);
  }
}
