// Shared by the data and io specs: temp dirs, and minimal .npy / safetensors writers written independently of
// src/data (raw bytes straight from the format descriptions), so the readers are checked against files they did
// not produce, including layouts our writers never emit (v2/v3 npy headers, unsorted offsets, odd key order).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(tag: string): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `batchtopk-${tag}-`));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RawNpy {
  version?: 1 | 2 | 3;
  descr: string;
  fortran?: boolean;
  shape: number[];
  /** The data section exactly as stored. */
  data: Uint8Array;
  /** Header dict text override (to test malformed headers). */
  dict?: string;
}

export function rawNpy(o: RawNpy): Uint8Array {
  const version = o.version ?? 1;
  const shape = o.shape.length === 1 ? `(${o.shape[0]},)` : `(${o.shape.join(', ')})`;
  const dict =
    o.dict ?? `{'descr': '${o.descr}', 'fortran_order': ${o.fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  let text = dict + '\n';
  while ((pre + text.length) % 16 !== 0) text = text.slice(0, -1) + ' \n';
  const head = Buffer.from(text, version === 3 ? 'utf8' : 'latin1');
  const out = new Uint8Array(pre + head.length + o.data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, head.length, true);
  else dv.setUint32(8, head.length, true);
  out.set(head, pre);
  out.set(o.data, pre + head.length);
  return out;
}

export interface RawTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/**
 * A safetensors file with tensors laid out in the given (not sorted) order, metadata written last, no
 * alignment padding; `mutate` may edit the header object before serialization.
 */
export function rawSafetensors(
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
  mutate?: (header: Record<string, Record<string, unknown>>) => void,
): Uint8Array {
  const header: Record<string, Record<string, unknown>> = {};
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { shape: t.shape, dtype: t.dtype, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
    parts.push(t.data);
  }
  if (metadata) header['__metadata__'] = metadata;
  mutate?.(header);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

export function bytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function save(file: string, data: Uint8Array): string {
  writeFileSync(file, data);
  return file;
}

/** assert.throws with a check on the error class name and message fragments. */
export function throwsWith(fn: () => unknown, ...fragments: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (!(err instanceof Error)) throw new Error(`expected an error mentioning ${fragments.join(', ')}; none thrown`);
  if (err.name !== 'DataError') throw new Error(`expected a DataError, got ${err.name}: ${err.message}`);
  if (err.message.includes('\n')) throw new Error(`error message is not one line: ${err.message}`);
  for (const f of fragments) {
    if (!err.message.includes(f)) throw new Error(`error message lacks '${f}': ${err.message}`);
  }
}
