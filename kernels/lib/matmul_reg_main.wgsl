// The register-tiled matmuls' work split and entry point: each invocation owns a 4x4 block of C, a
// workgroup of WGX x WGY invocations covers 4*WGY rows x 4*WGX columns (tileM and tileN of REG and REG4 in
// matmul.ts). Needs matmul_io.wgsl, and from the including kernel
// `fn block(row0: u32, col0: u32) -> array<vec4f, 4>`: rows row0 .. row0 + 3 of opA . opB over columns
// col0 .. col0 + 3, called only when row0 < M and col0 < N.
override WGX: u32 = 16;
override WGY: u32 = 8;

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let tile = wg.x + wg.y * nwg.x;
  let tx = tile % params.tilesX;
  let ty = tile / params.tilesX;
  let row0 = (ty * WGY + lid.y) * 4u;
  let col0 = (tx * WGX + lid.x) * 4u;
  if (row0 >= params.M || col0 >= params.N) {
    return;
  }
  let acc = block(row0, col0);
  storeRow(row0, col0, acc[0]);
  storeRow(row0 + 1u, col0, acc[1]);
  storeRow(row0 + 2u, col0, acc[2]);
  storeRow(row0 + 3u, col0, acc[3]);
}
