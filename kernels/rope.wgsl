// rope: rotary position embedding of the rows of one window, one invocation per (row, head, pair).
// STYLE 0: llama2.c's interleaved pairs (2i, 2i+1); STYLE 1: Hugging Face rotate_half pairs (i, i + half).
// Angles come from host tables cos/sin [P, half] (model_ops.ts ropeTables). Positions outside the tables
// are clamped (the CPU reference throws). Bindings: 0 x, 1 pos (i32 [rows]), 2 cos, 3 sin, 4 out, 5 Params.
// Matches ModelOps.rope (cpu/model.ts ropeF32).
override WG: u32 = 128;
override STYLE: u32 = 0;

struct Params {
  n: u32,       // pairs in this window = rows * heads * half
  heads: u32,
  half: u32,
  r0: u32,      // first row of the window
  xOrigin: u32,
  oOrigin: u32,
  positions: u32, // P, rows of the tables
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> pos: array<i32>;
@group(0) @binding(2) var<storage, read> ctab: array<f32>;
@group(0) @binding(3) var<storage, read> stab: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let t = (wg.x + wg.y * nwg.x) * WG + li;
  if (t >= params.n) { return; }
  let half = params.half;
  let i = t % half;
  let rh = t / half;                  // row-in-window * heads + head
  let r = params.r0 + rh / params.heads;
  let p = u32(clamp(pos[r], 0, i32(params.positions) - 1));
  let c = ctab[p * half + i];
  let s = stab[p * half + i];
  let base = (params.r0 * params.heads + rh) * 2u * half;
  var a = base + 2u * i;
  var b = a + 1u;
  if (STYLE == 1u) {
    a = base + i;
    b = a + half;
  }
  let x0 = x[a - params.xOrigin];
  let x1 = x[b - params.xOrigin];
  out[a - params.oOrigin] = x0 * c - x1 * s;
  out[b - params.oOrigin] = x0 * s + x1 * c;
}
