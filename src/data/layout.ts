// Where a matrix lives in a file: the element type and byte layout the readers (npy.ts, safetensors.ts)
// report and the sources (source.ts) read by. Its own module so the readers and the sources need not import
// each other.

export type ElemType = 'f32' | 'f16' | 'bf16';

/** Where a row-major [rows, cols] matrix lives inside a file. */
export interface MatrixLayout {
  file: string;
  format: 'npy' | 'safetensors';
  /** The tensor's name, for safetensors. */
  tensor?: string;
  dtype: ElemType;
  rows: number;
  cols: number;
  /** Byte offset of row 0. */
  dataOffset: number;
}
