// A tiny WebAssembly encoder: just what the SIMD matmul micro-kernel (wasm_gemm.ts) needs, so the module's
// bytes are generated from TypeScript at load time (no committed binary, no toolchain).
// Reference: the WebAssembly core spec, binary format (sections 5.x) and the fixed-width SIMD proposal.

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));

export const T = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;

/** Instruction helpers (opcodes from the spec). */
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32Ne: [0x47],
  loop: [0x03, 0x40],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  end: [0x0b],
  /** v128.load with alignment 2^align and a byte offset. */
  v128Load: (offset: number, align = 2) => [0xfd, 0x00, align, ...uleb(offset)],
  v128Store: (offset: number, align = 2) => [0xfd, 0x0b, align, ...uleb(offset)],
  load32Splat: (offset: number) => [0xfd, 0x09, 2, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f32x4Add: [0xfd, ...uleb(228)],
  f32x4Mul: [0xfd, ...uleb(230)],
  /** Relaxed SIMD: a*b + c (stack: a b c), fused or not as the hardware does it (the relaxed-simd proposal). */
  f32x4RelaxedMadd: [0xfd, ...uleb(0x105)],
  // Used by the heap kernels (wasm_kernels.ts).
  tee: (i: number) => [0x22, ...uleb(i)],
  i32Sub: [0x6b],
  i32DivU: [0x6e],
  i32LtS: [0x48],
  i32GeS: [0x4e],
  i32Eqz: [0x45],
  i32GtS: [0x4a],
  /** select(a, b, cond): a when cond != 0, else b. */
  select: [0x1b],
  block: [0x02, 0x40],
  br: (d: number) => [0x0c, ...uleb(d)],
  i32Load: (offset = 0) => [0x28, 2, ...uleb(offset)],
  f32Load: (offset = 0) => [0x2a, 2, ...uleb(offset)],
  f32Store: (offset = 0) => [0x38, 2, ...uleb(offset)],
  f64PromoteF32: [0xbb],
  f32DemoteF64: [0xb6],
  f64Add: [0xa0],
  /** 8 bytes into the low half of a v128, the high half zero. */
  v128Load64Zero: (offset: number) => [0xfd, 0x5d, 3, ...uleb(offset)],
  /** Lane `lane` (64-bit) of a v128 stored at an address. */
  v128Store64Lane: (offset: number, lane: number) => [0xfd, 0x5b, 3, ...uleb(offset), lane],
  f64x2Splat: [0xfd, 0x14],
  f64x2ExtractLane: (lane: number) => [0xfd, 0x21, lane],
  f64x2PromoteLow: [0xfd, 0x5f],
  f32x4DemoteF64x2Zero: [0xfd, 0x5e],
  f64x2Add: [0xfd, ...uleb(240)],
  f64x2Mul: [0xfd, ...uleb(242)],
  f64x2Sub: [0xfd, ...uleb(241)],
  f64x2Div: [0xfd, ...uleb(243)],
  f64x2Sqrt: [0xfd, ...uleb(239)],
};

export interface WasmFunc {
  name: string;
  params: number[];
  locals: number[];
  body: number[];
}

/** A module importing one memory (env.mem; shared when `shared`) and exporting the given functions. */
export function wasmModule(funcs: WasmFunc[], mem: { min: number; max: number; shared: boolean }): Uint8Array {
  const types = section(1, vec(funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0])));
  const limits = mem.shared ? [0x03, ...uleb(mem.min), ...uleb(mem.max)] : [0x01, ...uleb(mem.min), ...uleb(mem.max)];
  const imports = section(2, vec([[...name('env'), ...name('mem'), 0x02, ...limits]]));
  const fns = section(3, vec(funcs.map((_, i) => uleb(i))));
  const exports = section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])));
  const code = section(
    10,
    vec(
      funcs.map((f) => {
        const body = [...vec(f.locals.map((t) => [1, t])), ...f.body, 0x0b];
        return [...uleb(body.length), ...body];
      }),
    ),
  );
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...types, ...imports, ...fns, ...exports, ...code]);
}
