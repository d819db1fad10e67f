// The sort-based BatchTopK baseline shared by the benches: sort a copy of the values (V8's native numeric
// TypedArray sort), read the cut at rank k, then one pass emits the flat indices with the contract's tie rule
// (every value above the cut, then the lowest-index ties) in ascending order.
export function sortSelect(x: Float32Array, k: number, out: Int32Array): void {
  const n = x.length;
  const sorted = x.slice().sort();
  const cut = sorted[n - k]!;
  let ties = k;
  for (let i = n - 1; i >= 0 && sorted[i]! > cut; i--) ties--;
  let w = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (v > cut || (v === cut && ties-- > 0)) out[w++] = i;
  }
}
