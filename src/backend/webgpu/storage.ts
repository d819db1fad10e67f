// GPU storage handles (argument checks are in ../args.ts, shared with the CPU backend).
/// <reference types="@webgpu/types" />
import type { DType } from '../backend.js';
import type { GpuStorage } from './context.js';

export class GpuTensor implements GpuStorage {
  freed = false;

  constructor(
    readonly length: number,
    readonly dtype: DType,
    readonly buffer: GPUBuffer,
  ) {}

  get bytes(): number {
    return this.length * 4;
  }
}
