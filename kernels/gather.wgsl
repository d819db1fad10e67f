// gather: out[i] = x[idx[i]] for the entries i in [start, start + n) whose index falls in x's window
// [lo, hi). The host runs one dispatch per (x window, idx window) pair, so x may exceed one binding.
// Values are moved as raw 32-bit words. Out-of-range indices write nothing (the CPU reference throws).
// Bindings: 0 x (read), 1 idx (read, i32), 2 out (read_write), 3 Params. Matches CpuBackend.gather.
override WG: u32 = 128;
override PER: u32 = 4;

struct Params {
  n: u32,         // entries in this idx window
  start: u32,     // first entry
  idxOrigin: u32, // entry index of idx[0]
  oOrigin: u32,   // entry index of out[0]
  lo: u32,        // x window [lo, hi)
  hi: u32,
  xOrigin: u32,   // tensor index of x[0]
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let base = (wg.x + wg.y * nwg.x) * (WG * PER) + li;
  for (var t = 0u; t < PER; t++) {
    let i = base + t * WG;
    if (i < params.n) {
      let e = params.start + i;
      let j = u32(idx[e - params.idxOrigin]);
      if (j >= params.lo && j < params.hi) {
        out[e - params.oOrigin] = x[j - params.xOrigin];
      }
    }
  }
}
