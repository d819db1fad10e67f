// A binary max-heap of candidate BPE merges for the llama2c tokenizer: each entry is a pair of adjacent
// symbols (by the left symbol's index, which keeps text order as symbols merge leftwards), its merged id and
// score. The best entry is the highest score, the leftmost on ties, which is exactly the pair run.c's encode()
// picks with its scan. Entries go stale when a neighbour merges; the caller checks them when popped (lazy
// deletion), so a merge costs O(log n) instead of a scan of every pair.
export class MergeQueue {
  private score = new Float64Array(64);
  private left = new Int32Array(64);
  private right = new Int32Array(64);
  private id = new Int32Array(64);
  private size = 0;

  get length(): number {
    return this.size;
  }

  /** True when entry a goes before entry b (higher score, then the leftmost). */
  private before(a: number, b: number): boolean {
    const sa = this.score[a]!, sb = this.score[b]!;
    return sa > sb || (sa === sb && this.left[a]! < this.left[b]!);
  }

  private swap(a: number, b: number): void {
    const s = this.score[a]!; this.score[a] = this.score[b]!; this.score[b] = s;
    const l = this.left[a]!; this.left[a] = this.left[b]!; this.left[b] = l;
    const r = this.right[a]!; this.right[a] = this.right[b]!; this.right[b] = r;
    const i = this.id[a]!; this.id[a] = this.id[b]!; this.id[b] = i;
  }

  private grow(): void {
    const n = this.score.length * 2;
    const g = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.score = g(this.score, (k) => new Float64Array(k));
    this.left = g(this.left, (k) => new Int32Array(k));
    this.right = g(this.right, (k) => new Int32Array(k));
    this.id = g(this.id, (k) => new Int32Array(k));
  }

  push(score: number, left: number, right: number, id: number): void {
    if (this.size === this.score.length) this.grow();
    let i = this.size++;
    this.score[i] = score;
    this.left[i] = left;
    this.right[i] = right;
    this.id[i] = id;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Removes the best entry and returns its [left, right, id], or null when empty. */
  pop(): [number, number, number] | null {
    if (this.size === 0) return null;
    const top: [number, number, number] = [this.left[0]!, this.right[0]!, this.id[0]!];
    this.size--;
    if (this.size > 0) {
      this.swap(0, this.size);
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.size && this.before(l, m)) m = l;
        if (r < this.size && this.before(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}
