// Selection and sparse kernels on WebGPU vs the CPU backend, in one run so the comparisons are ratios on one
// machine: BatchTopK over [1, 4096*24576] with k = 4096*32 (plus a sort-based baseline: a full CPU sort of
// the values, V8's native Float32Array sort, then one emit pass; a GPU sort is out of scope), per-row TopK
// over [4096, 24576] with k = 32, and the sparse decoder products at B = 4096, m = 24576, d = 768, k = 32.
// Every GPU result is validated against the CPU's before timing (topk: identical indices), and every timed
// GPU iteration ends with backend.sync() (submit + queue.onSubmittedWorkDone()), so the time is the GPU's.
// Run: `npx tsx bench/select.bench.ts` (about 3 minutes on 2 cores with llvmpipe; ~3 GB of memory).
import { Bench } from 'tinybench';
import type { Backend, HostArray, Storage } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { describeAdapter, formatAdapter } from '../src/backend/webgpu/info.js';
import { createWebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { Rng } from '../src/rng.js';
import { sortSelect } from './sort_baseline.js';

const cpu = new CpuBackend();
const gpu = await createWebGpuBackend({});
const rng = new Rng(7);
const U = 2 ** -24;

function upload(be: Backend, data: HostArray): Storage {
  const s = be.alloc(data.length, data instanceof Float32Array ? 'f32' : 'i32');
  be.write(s, data);
  return s;
}

/** Median and min ms over `iterations` runs after one warm-up; sync() is inside the timed region. */
async function time(be: Backend | null, fn: () => void | Promise<void>, iterations: number) {
  const bench = new Bench({ iterations, time: 0, warmup: true, warmupIterations: 1, warmupTime: 0, throws: true });
  bench.add('x', async () => {
    await fn();
    await be?.sync();
  });
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`bench: ${r.state}`);
  return { median: r.latency.p50 ?? r.latency.mean, min: r.latency.min };
}

const lines: string[] = [];
function report(what: string, t: { median: number; min: number }, rate: string, vsCpu?: number): void {
  const ratio = vsCpu === undefined ? '-' : `${(vsCpu / t.median).toFixed(2)}x`;
  const line = `| ${what} | ${t.median.toFixed(1)} (${t.min.toFixed(1)}) | ${rate} | ${ratio} |`;
  lines.push(line);
  console.log(line);
}

function sameIndices(what: string, got: HostArray, ref: HostArray): void {
  if (got.length !== ref.length) throw new Error(`${what}: ${got.length} indices, cpu ${ref.length}`);
  const bad = ref.findIndex((f, i) => got[i] !== f);
  if (bad >= 0) throw new Error(`${what}: index ${bad}: webgpu ${got[bad]}, cpu ${ref[bad]}`);
}

console.log(formatAdapter(await describeAdapter(gpu)));
console.log('\n| case | ms median (min) | rate | vs cpu backend |\n|---|---|---|---|');

const [B, M, kS, D] = [4096, 24576, 32, 768];
const n = B * M;
const x = rng.fillNormal(new Float32Array(n));
for (let i = 0; i < n; i++) if (!(x[i]! > 0)) x[i] = 0; // post-ReLU activations, as BatchTopK selects
const meps = (ms: number, elems: number) => `${(elems / ms / 1e3).toFixed(0)} M elements/s`;

// ---- BatchTopK: one row of n, k = B * kS ----
let batchIdx: Int32Array;
{
  const k = B * kS;
  const [xg, og] = [upload(gpu, x), gpu.alloc(k, 'i32')];
  const [xc, oc] = [upload(cpu, x), cpu.alloc(k, 'i32')];
  gpu.topk(og, xg, 1, n, k);
  cpu.topk(oc, xc, 1, n, k);
  batchIdx = (await cpu.read(oc)) as Int32Array;
  sameIndices('batch topk', await gpu.read(og), batchIdx);
  const c = await time(cpu, () => cpu.topk(oc, xc, 1, n, k), 3);
  report(`cpu backend: topk batch [1, ${B}*${M}] k=${B}*${kS}`, c, meps(c.median, n));
  const g = await time(gpu, () => gpu.topk(og, xg, 1, n, k), 5);
  report(`webgpu: topk batch [1, ${B}*${M}] k=${B}*${kS}`, g, meps(g.median, n), c.median);

  // Baseline (sort_baseline.ts): sort a copy of the values, read the cut at rank k, one emit pass with the same tie rule.
  const out = new Int32Array(k);
  const sortSelectRun = () => sortSelect(x, k, out);
  sortSelectRun();
  sameIndices('sort baseline', out, batchIdx);
  const s = await time(null, sortSelectRun, 1);
  report('baseline: cpu full sort (Float32Array sort) + emit, same input', s, meps(s.median, n), c.median);
  for (const t of [xg, og]) gpu.free(t);
  for (const t of [xc, oc]) cpu.free(t);
}

// ---- per-row TopK: [B, M], k = kS ----
{
  const [xg, og] = [upload(gpu, x), gpu.alloc(B * kS, 'i32')];
  const [xc, oc] = [upload(cpu, x), cpu.alloc(B * kS, 'i32')];
  gpu.topk(og, xg, B, M, kS);
  cpu.topk(oc, xc, B, M, kS);
  sameIndices('per-row topk', await gpu.read(og), await cpu.read(oc));
  const c = await time(cpu, () => cpu.topk(oc, xc, B, M, kS), 3);
  report(`cpu backend: topk per-row [${B}, ${M}] k=${kS}`, c, meps(c.median, n));
  const g = await time(gpu, () => gpu.topk(og, xg, B, M, kS), 3);
  report(`webgpu: topk per-row [${B}, ${M}] k=${kS}`, g, meps(g.median, n), c.median);
  for (const t of [xg, og]) gpu.free(t);
  for (const t of [xc, oc]) cpu.free(t);
}

// ---- sparse decoder products over the batch selection (nnz = B*kS, rows uneven as in BatchTopK) ----
{
  const idx = batchIdx;
  const nnz = idx.length;
  const vals = rng.fillNormal(new Float32Array(nnz));
  const a = rng.fillNormal(new Float32Array(B * D));
  const w = rng.fillNormal(new Float32Array(M * D), 0, 0.05);
  const gflops = (ms: number) => `${((2 * nnz * D) / ms / 1e6).toFixed(2)} GFLOP/s`;
  // |gpu - cpu| <= (terms + 2) u sum|terms|; the sums of |terms| are bounded by the inputs' max magnitudes.
  const maxAbs = (v: Float32Array) => v.reduce((m, e) => Math.max(m, Math.abs(e)), 0);
  const [mv, ma, mw] = [maxAbs(vals), maxAbs(a), maxAbs(w)];
  const perRow = new Int32Array(B);
  const perCol = new Int32Array(M);
  for (const f of idx) (perRow[Math.floor(f / M)]!++, perCol[f % M]!++);
  const cases: [string, (be: Backend, s: Storage[]) => void, HostArray[], number, (i: number) => number][] = [
    ['sddmm', (be, [as, ws, is, o]) => be.sddmm(o!, as!, ws!, is!, M, D), [a, w, idx, new Float32Array(nnz)], 3,
      () => (D + 2) * U * D * ma * mw],
    ['spmm', (be, [vs, is, ws, o]) => be.spmm(o!, vs!, is!, M, ws!, B, D), [vals, idx, w, new Float32Array(B * D)], 3,
      (i) => (perRow[Math.floor(i / D)]! + 2) ** 2 * U * mv * mw],
    ['spmmT', (be, [vs, is, gs, o]) => be.spmmT(o!, vs!, is!, M, gs!, D), [vals, idx, a, new Float32Array(M * D)], 3,
      (i) => (perCol[Math.floor(i / D)]! + 2) ** 2 * U * mv * ma],
  ];
  for (const [name, op, inputs, out, tol] of cases) {
    const sg = inputs.map((t) => upload(gpu, t));
    const sc = inputs.map((t) => upload(cpu, t));
    op(gpu, sg);
    op(cpu, sc);
    const [got, ref] = [await gpu.read(sg[out]!), await cpu.read(sc[out]!)];
    for (let i = 0; i < ref.length; i++) {
      if (!(Math.abs(got[i]! - ref[i]!) <= tol(i))) throw new Error(`${name}: [${i}] webgpu ${got[i]}, cpu ${ref[i]}`);
    }
    const c = await time(cpu, () => op(cpu, sc), 3);
    report(`cpu backend: ${name} B=${B} m=${M} d=${D} nnz=${nnz}`, c, gflops(c.median));
    const g = await time(gpu, () => op(gpu, sg), 3);
    report(`webgpu: ${name} B=${B} m=${M} d=${D} nnz=${nnz}`, g, gflops(g.median), c.median);
    for (const t of sg) gpu.free(t);
    for (const t of sc) cpu.free(t);
  }
}

console.log('\n| case | ms median (min) | rate | vs cpu backend |\n|---|---|---|---|');
for (const l of lines) console.log(l);
gpu.dispose();
cpu.dispose();
