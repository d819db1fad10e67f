// fill: out[i] = value for i < n, over one window of the output.
// Shapes: out has n elements in this window (element e of the tensor is out[e - origin]).
// Bindings: 0 out (raw 32-bit words, read_write), 1 Params.
// The value arrives as its 32-bit pattern, so one kernel fills f32 and i32. Matches CpuBackend.fill.
override WG: u32 = 128;
override PER: u32 = 4;

struct Params {
  n: u32,      // elements in this window
  start: u32,  // first element of the window (tensor index)
  origin: u32, // tensor index of out[0]
  bits: u32,   // the value's bit pattern
}

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let base = (wg.x + wg.y * nwg.x) * (WG * PER) + li;
  let off = params.start - params.origin;
  for (var j = 0u; j < PER; j++) {
    let i = base + j * WG;
    if (i < params.n) {
      out[i + off] = params.bits;
    }
  }
}
