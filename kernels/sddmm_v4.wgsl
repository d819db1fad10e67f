// sddmm with vec4 loads, for d % 4 == 0 (d and the shifts in vec4 units): see lib/sddmm_body.wgsl.
alias V = vec4<f32>;

fn partials(ab: u32, wb: u32) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  for (var t = 0u; t < p.d; t++) { s += a[ab + t] * w[wb + t]; }
  return s;
}

//#include "lib/sddmm_body.wgsl"
