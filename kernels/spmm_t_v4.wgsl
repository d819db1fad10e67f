// spmm_t with vec4 loads and stores, for d % 4 == 0 (d and the shifts in vec4 units): see
// lib/spmm_t_body.wgsl.
alias V = vec4<f32>;

//#include "lib/spmm_t_body.wgsl"
