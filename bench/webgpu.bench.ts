// WebGPU dense kernels vs the CPU backend, in one run so the comparison is a ratio on one machine:
// fill, unary, broadcast binary, reductions, matmul (both kernel families), gather, scatterAdd, Adam, and an
// elementwise op over a tensor larger than one storage binding (windowed). Each case is validated against
// the CPU result before timing; every timed GPU iteration ends with backend.sync(), which submits and awaits
// queue.onSubmittedWorkDone(), so the time is the GPU's, not the recording's.
// Run: `npx tsx bench/webgpu.bench.ts` (a few minutes on 2 cores with llvmpipe; ~4 GB of memory).
import { Bench } from 'tinybench';
import type { Backend, HostArray, Storage } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { describeAdapter, formatAdapter } from '../src/backend/webgpu/info.js';
import { createWebGpuBackend, WebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { Rng } from '../src/rng.js';

const cpu = new CpuBackend();
const gpu = (await createWebGpuBackend({})) as WebGpuBackend;
const rng = new Rng(7);
const U = 2 ** -24;

function rand(n: number, lo = -2, hi = 2): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniformIn(lo, hi);
  return a;
}

function upload(be: Backend, data: HostArray): Storage {
  const s = be.alloc(data.length, data instanceof Float32Array ? 'f32' : 'i32');
  be.write(s, data);
  return s;
}

interface Timing {
  median: number;
  min: number;
}

/** Median and min ms of fn(); sync() is inside the timed region. One warm-up run (pipelines, pool). */
async function time(be: Backend, fn: () => void, iterations: number): Promise<Timing> {
  const bench = new Bench({ iterations, time: 0, warmup: true, warmupIterations: 1, warmupTime: 0, throws: true });
  bench.add('x', async () => {
    fn();
    await be.sync();
  });
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`bench: ${r.state}`);
  return { median: r.latency.p50 ?? r.latency.mean, min: r.latency.min };
}

/** Throws unless |got - ref| <= tol(i) everywhere. */
function validate(what: string, got: HostArray, ref: HostArray, tol: (i: number) => number): void {
  for (let i = 0; i < ref.length; i++) {
    if (!(Math.abs(got[i]! - ref[i]!) <= tol(i))) throw new Error(`${what}: [${i}] webgpu ${got[i]} vs cpu ${ref[i]}`);
  }
}

const lines: string[] = [];
function row(what: string, unit: string, work: number, g: Timing, c: Timing | null): void {
  const rate = (t: number) => (work / t / 1e6).toFixed(2);
  const cells = [what, `${g.median.toFixed(1)} (${g.min.toFixed(1)})`, `${rate(g.median)} ${unit}`];
  cells.push(c ? `${c.median.toFixed(1)}` : '-', c ? `${rate(c.median)} ${unit}` : '-', c ? `${(c.median / g.median).toFixed(2)}x` : '-');
  const line = `| ${cells.join(' | ')} |`;
  lines.push(line);
  console.log(line);
}

/**
 * Validate `op` (same inputs on both backends, compare output `out`), then time both.
 * `work` is bytes (GB/s: work/ms/1e6) or flops (GFLOP/s) or entries (M/s, pass work/1e3).
 */
async function compare(
  what: string,
  unit: string,
  work: number,
  inputs: HostArray[],
  op: (be: Backend, s: Storage[]) => void,
  out: number,
  tol: (i: number, ref: HostArray) => number,
  iters: { gpu: number; cpu: number },
): Promise<void> {
  const sg = inputs.map((a) => upload(gpu, a));
  const sc = inputs.map((a) => upload(cpu, a));
  op(gpu, sg);
  op(cpu, sc);
  const ref = await cpu.read(sc[out]!);
  validate(what, await gpu.read(sg[out]!), ref, (i) => tol(i, ref));
  const g = await time(gpu, () => op(gpu, sg), iters.gpu);
  const c = iters.cpu > 0 ? await time(cpu, () => op(cpu, sc), iters.cpu) : null;
  row(what, unit, work, g, c);
  for (const s of sg) gpu.free(s);
  for (const s of sc) cpu.free(s);
}

console.log(formatAdapter(await describeAdapter(gpu)));
console.log('\n| kernel | webgpu ms median (min) | webgpu rate | cpu ms | cpu rate | speedup |');
console.log('|---|---|---|---|---|---|');

const N = 16 * 1024 * 1024;
const big = rand(N);
await compare('fill [16M]', 'GB/s', 4 * N, [new Float32Array(N)], (b, [o]) => b.fill(o!, 0.5), 0, () => 0, { gpu: 10, cpu: 5 });
await compare('unary exp [16M]', 'GB/s', 8 * N, [big, new Float32Array(N)], (b, [x, o]) => b.unary('exp', o!, x!), 1,
  (i, r) => 7 * U * Math.abs(r[i]!), { gpu: 10, cpu: 5 });
const [R, C] = [4096, 3072];
const mat = big.subarray(0, R * C);
await compare('binary add full+row [4096, 3072]', 'GB/s', 8 * R * C, [mat, rand(C), new Float32Array(R * C)],
  (b, [x, y, o]) => b.binary('add', o!, x!, 'full', y!, 'row', R, C), 2, () => 0, { gpu: 10, cpu: 5 });

const sumTol = (abs: number) => (i: number, r: HostArray) => 128 * U * abs + U * Math.abs(r[i]!);
await compare('reduce sum [1, 16M]', 'GB/s', 4 * N, [big, new Float32Array(1)], (b, [x, o]) => b.reduce('sum', o!, x!, 1, N, 1), 1,
  sumTol(2 * N), { gpu: 10, cpu: 5 });
await compare('reduce sum axis 0 [4096, 3072]', 'GB/s', 4 * R * C, [mat, new Float32Array(C)], (b, [x, o]) => b.reduce('sum', o!, x!, R, C, 0), 1,
  sumTol(2 * R), { gpu: 10, cpu: 5 });
await compare('reduce max axis 1 [4096, 3072]', 'GB/s', 4 * R * C, [mat, new Float32Array(R)], (b, [x, o]) => b.reduce('max', o!, x!, R, C, 1), 1,
  () => 0, { gpu: 10, cpu: 5 });

const mmTol = (k: number) => (i: number, r: HostArray) => (k + 4) * U * 4 * k + U * Math.abs(r[i]!);
for (const [m, k, n, iters] of [[1024, 128, 2048, 5], [1024, 768, 3072, 3]] as const) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true]] as const) {
    const a = rand(m * k), b = rand(k * n);
    const name = `${ta ? 'A^T' : 'A'}.${tb ? 'B^T' : 'B'}`;
    for (const variant of ['register', 'tiled'] as const) {
      gpu.tuning.matmul = variant;
      await compare(`matmul ${variant} ${name} ${m}x${k}x${n}`, 'GFLOP/s', 2 * m * k * n, [a, b, new Float32Array(m * n)],
        (be, [as, bs, o]) => be.matmul(o!, as!, bs!, m, k, n, ta, tb), 2, mmTol(k), { gpu: iters, cpu: variant === 'register' ? 2 : 0 });
    }
  }
}
gpu.tuning.matmul = 'register';
{
  // The encoder's output shape: [4096, 24576] (402 MB) exceeds one binding, so matmul runs in M blocks.
  const [m, k, n] = [4096, 64, 24576];
  await compare(`matmul register A.B ${m}x${k}x${n} (out 402 MB, windowed)`, 'GFLOP/s', 2 * m * k * n,
    [rand(m * k), rand(k * n), new Float32Array(m * n)], (be, [as, bs, o]) => be.matmul(o!, as!, bs!, m, k, n, false, false), 2,
    mmTol(k), { gpu: 2, cpu: 1 });
}

const entries = 4096 * 64;
const sel = new Int32Array(entries);
for (let i = 0; i < entries; i++) sel[i] = Math.floor(i / 64) * C + rng.int(C);
await compare('gather 262144 of [4096, 3072]', 'M entries/s', entries * 1e3, [mat, sel, new Float32Array(entries)],
  (b, [x, ix, o]) => b.gather(o!, x!, ix!), 2, () => 0, { gpu: 10, cpu: 5 });
// Unordered indices need the whole sort; a top-k selection (strictly ascending) lets the sort's kernels return.
await compare('scatterAdd 262144 unordered into [4096, 3072]', 'M entries/s', entries * 1e3, [new Float32Array(R * C), rand(entries), sel],
  (b, [o, s, ix]) => b.scatterAdd(o!, s!, ix!), 0, () => 0, { gpu: 5, cpu: 5 });
const asc = sel.map((_, i) => i * 48);
await compare('scatterAdd 262144 ascending into [4096, 3072]', 'M entries/s', entries * 1e3, [new Float32Array(R * C), rand(entries), asc],
  (b, [o, s, ix]) => b.scatterAdd(o!, s!, ix!), 0, () => 0, { gpu: 5, cpu: 5 });

const P = 4 * 1024 * 1024;
const h = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, bc1: 0.1, bc2: 0.001 };
await compare('adam [4M params]', 'GB/s', 28 * P, [rand(P), new Float32Array(P), new Float32Array(P), rand(P)],
  (b, [p, m, v, g]) => b.adam(p!, m!, v!, g!, h), 0, (i, r) => 2 * U * Math.abs(r[i]!) + 12 * U * 1e-3, { gpu: 10, cpu: 5 });

// A tensor larger than llvmpipe's 128 MiB binding: processed in windows.
const W = 4096 * 24576;
const huge = rand(W);
await compare('unary square [4096, 24576] (402 MB, windowed)', 'GB/s', 8 * W, [huge, new Float32Array(W)],
  (b, [x, o]) => b.unary('square', o!, x!), 1, () => 0, { gpu: 3, cpu: 2 });
await compare('reduce sum [1, 4096*24576] (windowed)', 'GB/s', 4 * W, [huge, new Float32Array(1)],
  (b, [x, o]) => b.reduce('sum', o!, x!, 1, W, 1), 1, sumTol(2 * W), { gpu: 3, cpu: 2 });

console.log(`\nsubmits ${gpu.ctx.recorder.stats.submits}, dispatches ${gpu.ctx.recorder.stats.dispatches}`);
gpu.dispose();
