// spmm_t, scalar form for any d (spmm_t_v4 is the vec4 form): see lib/spmm_t_body.wgsl.
alias V = f32;

//#include "lib/spmm_t_body.wgsl"
