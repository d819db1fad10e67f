// Indirect dispatch arguments for work that a device-side flag may cancel (gate.ts): args[base + i] gets the
// planned workgroup counts grids[i] when flag[flagIndex] == 0 (runWhenSet = 0; with runWhenSet = 1, when it
// is not 0), and (0, 0, 0) otherwise, so the gated
// dispatches then launch no workgroup at all (on llvmpipe a workgroup that returns at once still costs tens
// of microseconds; on a GPU a whole no-op grid still occupies the queue).
// Bindings: 0 flag (u32, read), 1 args (u32, 3 per dispatch), 2 Params.
override WG: u32 = 64;

struct Params {
  count: u32,
  base: u32,
  flagIndex: u32,
  runWhenSet: u32,
  grids: array<vec4<u32>, 256>,
}

@group(0) @binding(0) var<storage, read> flag: array<u32>;
@group(0) @binding(1) var<storage, read_write> args: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.count) { return; }
  let run = (flag[p.flagIndex] != 0u) == (p.runWhenSet == 1u);
  let g = select(vec3<u32>(0u), p.grids[i].xyz, run);
  let at = 3u * (p.base + i);
  args[at] = g.x;
  args[at + 1u] = g.y;
  args[at + 2u] = g.z;
}
