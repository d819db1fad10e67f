// spmm, scalar form for any d (spmm_v4 is the vec4 form): see lib/spmm_body.wgsl.
alias V = f32;

//#include "lib/spmm_body.wgsl"
