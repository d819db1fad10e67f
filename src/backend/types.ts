// The handles every backend primitive takes: what a Storage is, and the element types it may hold. Kept
// apart from the contract (backend.ts) so the contract's parts (model_ops.ts) can name them without a circle.

/** Element types. f32 for values, i32 for indices (flat indices fit: 4096 x 24576 < 2^31). */
export type DType = 'f32' | 'i32';

/** An opaque handle to device memory holding `length` elements of `dtype`. */
export interface Storage {
  readonly length: number;
  readonly dtype: DType;
}

export type HostArray = Float32Array | Int32Array;
