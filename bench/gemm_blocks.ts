// The fast CPU matmul in column blocks (issue 17, item 16) against the unblocked product, side by side in one
// run (alternating, median of the repetitions): what blocking costs when a product must be split to fit the
// kernel memory. The limit is lowered (GemmThreads' maxBytes) so the blocks appear at a size that runs here.
//   npx tsx bench/gemm_blocks.ts [m k n] [blocks...]
import { GemmThreads } from '../src/backend/cpu/gemm_threads.js';
import { Rng } from '../src/rng.js';

const [m, k, n] = (process.argv.slice(2, 5).map(Number).filter((x) => x > 0) as number[]).concat([256, 512, 16384]).slice(0, 3) as [number, number, number];
const blockCounts = process.argv.slice(5).map(Number).filter((x) => x > 0);
const counts = blockCounts.length > 0 ? blockCounts : [1, 2, 4, 16];
const rng = new Rng(1);
const a = rng.fillNormal(new Float32Array(m * k)),
  b = rng.fillNormal(new Float32Array(n * k));
const o = new Float32Array(new SharedArrayBuffer(m * n * 4));
const bytesFor = (panels: number) => 64 * k * 4 + panels * (8 * k * 4 + 64 * 8 * 4);
const runners = counts.map((c) => ({ blocks: c, g: new GemmThreads(2, c === 1 ? undefined : bytesFor(Math.ceil(n / 8 / c))), ms: [] as number[] }));
for (const r of runners) r.g.matmul(o, a, b, m, k, n, false, true); // warm-up (and memory growth)
for (let rep = 0; rep < 7; rep++) {
  for (const r of runners) {
    const t = performance.now();
    r.g.matmul(o, a, b, m, k, n, false, true);
    r.ms.push(performance.now() - t);
  }
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!;
const base = med(runners[0]!.ms);
console.log(`matmul ${m}x${k}x${n} (transB, an LM-head shape), 2 threads, median of 7 alternating runs`);
for (const r of runners) {
  const t = med(r.ms);
  console.log(`  ${String(r.blocks).padStart(2)} column block(s) (${r.g.blockColumns(k, n)} columns each): ${t.toFixed(1)} ms, ${((2 * m * k * n) / t / 1e6).toFixed(2)} GFLOP/s, ${(t / base).toFixed(2)}x the unblocked`);
  r.g.dispose();
}
