// The reduction operators of reduce_rows and reduce_cols, chosen by the including kernel's
// `override OP: u32`: 0 sum, 1 max, 2 min (the codes reduce.ts passes).
fn identity() -> f32 {
  switch OP {
    case 0u: { return 0.0; }
    case 1u: { return -3.4028234e38; }
    default: { return 3.4028234e38; }
  }
}

fn combine(a: f32, b: f32) -> f32 {
  switch OP {
    case 0u: { return a + b; }
    case 1u: { return select(a, b, b > a); }
    default: { return select(a, b, b < a); }
  }
}
