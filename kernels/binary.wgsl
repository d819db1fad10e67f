// binary: out[r,c] = op(A(r,c), B(r,c)) over an [R, C] output, for one window of n flat elements
// starting at `start`. Each operand is read by its broadcast mode: 0 full (index r*C + c), 1 row (c),
// 2 col (r), 3 scalar (0); the operand's binding holds its elements from index `origin` on.
// Bindings: 0 a (read), 1 b (read), 2 out (read_write), 3 Params. out never aliases a or b (the host copies).
// Matches CpuBackend.binary (cpu/elementwise.ts binaryF32).
// OP: 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 gt (a > b ? 1 : 0), 7 ge (a >= b ? 1 : 0).
override WG: u32 = 128;
override PER: u32 = 4;
override OP: u32 = 0;

struct Params {
  n: u32,       // elements in this window
  start: u32,   // flat output index of the window's first element
  cols: u32,    // C
  aMode: u32,
  bMode: u32,
  aOrigin: u32,
  bOrigin: u32,
  oOrigin: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

fn operand(mode: u32, flat: u32, r: u32, c: u32) -> u32 {
  switch mode {
    case 0u: { return flat; }
    case 1u: { return c; }
    case 2u: { return r; }
    default: { return 0u; }
  }
}

fn apply(x: f32, y: f32) -> f32 {
  switch OP {
    case 0u: { return x + y; }
    case 1u: { return x - y; }
    case 2u: { return x * y; }
    case 3u: { return x / y; }
    case 4u: { return select(y, x, x > y); }
    case 5u: { return select(y, x, x < y); }
    case 6u: { return select(0.0, 1.0, x > y); }
    default: { return select(0.0, 1.0, x >= y); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let base = (wg.x + wg.y * nwg.x) * (WG * PER) + li;
  for (var j = 0u; j < PER; j++) {
    let i = base + j * WG;
    if (i < params.n) {
      let flat = params.start + i;
      let r = flat / params.cols;
      let c = flat - r * params.cols;
      let x = a[operand(params.aMode, flat, r, c) - params.aOrigin];
      let y = b[operand(params.bMode, flat, r, c) - params.bOrigin];
      out[flat - params.oOrigin] = apply(x, y);
    }
  }
}
