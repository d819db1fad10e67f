// How the calibrated BatchTopK theta and the held-out L0 under it depend on the number N of calibration
// batches (the evidence for the default of --calibration-batches), and how the former estimators compare.
// Trains once (CPU backend, lr 3e-4) through the loader, then, with the final weights and no update, takes
// the cuts theta_b of NB further training batches; for each N it splits them into NB/N disjoint blocks and
// reports the spread of the block means theta_N and the held-out L0 at the extremes.
//   npx tsx bench/theta_calibration.ts [acts.npy] [batch] [m] [k] [steps] [NB]
// Defaults: the stories260K residual stream with BOS rows (position 0) dropped, 1024 512 16 600 256.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { BatchLoader } from '../src/data/loader.js';
import { MemorySource, openSource, readMatrix, type ActivationSource } from '../src/data/source.js';
import { evaluate } from '../src/eval.js';
import { calibrateThreshold, isCut } from '../src/sae/threshold.js';
import { makeTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/loop.js';

const STORIES = path.resolve(import.meta.dirname, '../../shared/data/stories260K');
const [file, B, M, k, steps, NB] = [process.argv[2] ?? '', ...[3, 4, 5, 6, 7].map((i, j) => Number(process.argv[i] ?? [1024, 512, 16, 600, 256][j]))] as [string, number, number, number, number, number];

function storiesNoBos(): ActivationSource {
  const a = readMatrix(path.join(STORIES, 'resid2_f16.npy'));
  const b = fs.readFileSync(path.join(STORIES, 'positions_u16.npy'));
  const pos = new Uint16Array(b.buffer.slice(b.byteOffset + 10 + b.readUInt16LE(8), b.byteOffset + b.length));
  const rows: number[] = [];
  for (let r = 0; r < a.rows; r++) if (pos[r] !== 0) rows.push(r);
  const out = new Float32Array(rows.length * a.cols);
  rows.forEach((r, i) => out.set(a.data.subarray(r * a.cols, (r + 1) * a.cols), i * a.cols));
  return new MemorySource(out, a.cols, 'stories260K resid2, BOS rows dropped');
}

const source = file ? openSource(file) : storiesNoBos();
const loader = new BatchLoader({ source, batchSize: B, seed: 1, evalFraction: 0.25, shuffleBufferRows: 65536 });
const backend = new CpuBackend();
const cfg = makeTrainConfig({ batchSize: B, steps, adam: { lr: 3e-4 }, seed: 1, sae: { arch: 'batchtopk', dIn: source.dIn, dSae: M, k } });
const cuts: number[] = [];
const t0 = performance.now();
const t = await train(backend, cfg, loader, { onStep: (m) => void cuts.push(m.minSelected) });
const at = (s: number) => cuts[Math.min(s, steps) - 1]!.toFixed(4);
console.log(`${source.describe()}; B=${B} m=${M} k=${k} ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(0)}s`);
console.log(`cut theta_b at step ${Math.round(steps / 10)}: ${at(Math.round(steps / 10))}, ${Math.round(steps / 2)}: ${at(Math.round(steps / 2))}, ${steps}: ${at(steps)}`);
const w = Math.floor(steps / 10);
const plainMean = cuts.slice(w).reduce((a, b) => a + b, 0) / (steps - w);
const buf = new Float32Array(B * source.dIn);
const c = await calibrateThreshold(backend, { params: t.params, k, normalize: 'none', normScale: 1, dIn: source.dIn }, (function* () {
  for (let i = 0; i < NB; i++) {
    loader.nextBatch(buf);
    yield buf;
  }
})());
const l0 = async (theta: number) => (await evaluate(backend, { params: t.params, cfg: cfg.sae, theta, normalize: 'none', normScale: 1 }, loader.evalBatches(4096))).l0;
const all = c.minima.filter(isCut);
const sd1 = Math.sqrt(all.reduce((a, v) => a + (v - c.theta) ** 2, 0) / (all.length - 1));
console.log(`calibrated on all ${NB} batches: theta ${c.theta.toFixed(5)} (cut sd ${sd1.toFixed(5)}), held-out L0 ${(await l0(c.theta)).toFixed(3)}`);
console.log(`former plain mean after 10% warm-up: theta ${plainMean.toFixed(5)}, held-out L0 ${(await l0(plainMean)).toFixed(3)}`);
console.log(`running EMA (rate 0.01): theta ${t.thetaEma.value.toFixed(5)}, held-out L0 ${(await l0(t.thetaEma.value)).toFixed(3)}`);
console.log('| N | blocks | sd of theta_N | range of theta_N | held-out L0 over that range |\n|---|---|---|---|---|');
for (const N of [1, 2, 4, 8, 16, 32, 64, 128].filter((n) => n <= NB / 2)) {
  const blocks: number[] = [];
  for (let i = 0; i + N <= all.length; i += N) blocks.push(all.slice(i, i + N).reduce((a, b) => a + b, 0) / N);
  const sd = Math.sqrt(blocks.reduce((a, v) => a + (v - c.theta) ** 2, 0) / (blocks.length - 1));
  const [lo, hi] = [Math.min(...blocks), Math.max(...blocks)];
  console.log(`| ${N} | ${blocks.length} | ${sd.toFixed(5)} (${((100 * sd) / c.theta).toFixed(2)}%) | ${lo.toFixed(4)}..${hi.toFixed(4)} | ${(await l0(hi)).toFixed(2)}..${(await l0(lo)).toFixed(2)} |`);
}
t.dispose();
