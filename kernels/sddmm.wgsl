// sddmm, scalar form for any d (sddmm_v4 is the vec4 form): see lib/sddmm_body.wgsl.
alias V = f32;

// Four interleaved partial sums, as in the vec4 form, then the d % 4 tail into the first.
fn partials(ab: u32, wb: u32) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  let d4 = p.d & ~3u;
  for (var t = 0u; t < d4; t += 4u) {
    s += vec4<f32>(a[ab + t], a[ab + t + 1u], a[ab + t + 2u], a[ab + t + 3u]) *
         vec4<f32>(w[wb + t], w[wb + t + 1u], w[wb + t + 2u], w[wb + t + 3u]);
  }
  for (var t = d4; t < p.d; t++) { s.x += a[ab + t] * w[wb + t]; }
  return s;
}

//#include "lib/sddmm_body.wgsl"
