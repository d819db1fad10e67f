// Harvest throughput (the forward pass up to the hooked block, the residual read back), tokens/s, CPU backend
// vs WebGPU: stories260K (real weights, the first stories, layer 2 of 5) and a GPT-2-small-shaped model with
// random weights (d 768, 12 heads, 12 blocks, vocab 50257, layer 6, sequences of 256 tokens). Each
// configuration is validated first: the two backends' residuals must agree (relative 1e-4 of the largest
// value) before anything is timed. Run: `npx tsx bench/harvest.bench.ts [stories|gpt2|all]`.
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { describeAdapter } from '../src/backend/webgpu/info.js';
import { createWebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { batches } from '../src/model/lm.js';
import { loadModel } from '../src/model/load.js';
import { readStoriesDocs } from '../src/model/stories.js';
import { Transformer } from '../src/model/transformer.js';
import type { Block, ModelWeights } from '../src/model/weights.js';
import { Rng } from '../src/rng.js';

const which = process.argv[2] ?? 'all';
const DIR = new URL('../../shared/data/stories260K/', import.meta.url).pathname;

function gpt2Small(): ModelWeights {
  const rng = new Rng(1);
  const d = 768, hid = 3072, V = 50257, P = 1024;
  const r = (n: number, s = 0.02) => Float32Array.from({ length: n }, () => rng.uniformIn(-s, s) * 1.7);
  const ones = (n: number) => new Float32Array(n).fill(1);
  const lin = (out: number, inn: number) => ({ w: r(out * inn), b: r(out), out, in: inn });
  const blocks: Block[] = Array.from({ length: 12 }, () => ({
    attnNorm: { w: ones(d), b: r(d) }, q: lin(d, d), k: lin(d, d), v: lin(d, d), o: lin(d, d),
    mlpNorm: { w: ones(d), b: r(d) }, gate: null, up: lin(hid, d), down: lin(d, hid),
  }));
  const embed = r(V * d, 0.1);
  return {
    config: { arch: 'gpt2', dim: d, hiddenDim: hid, nLayers: 12, nHeads: 12, nKvHeads: 12, vocabSize: V, maxSeqLen: P, normEps: 1e-5, ropeTheta: 0, ropeStyle: 'half', bosId: 50256 },
    embed, posEmbed: r(P * d, 0.1), blocks, finalNorm: { w: ones(d), b: r(d) }, head: embed,
  };
}

async function harvestRate(be: Backend, w: ModelWeights, docs: Int32Array[], layer: number, maxRows: number, reps: number): Promise<{ tps: number; first: Float32Array }> {
  const model = new Transformer(be, w);
  let first: Float32Array | null = null;
  const pass = async () => {
    let n = 0;
    for (const b of batches(docs, maxRows)) {
      // Read the residual back every time, as harvest does (it also waits for the device's work).
      await model.forward(b, { layer, stop: true, fn: async (x) => {
        const r = (await be.read(x)) as Float32Array;
        first ??= r;
      } });
      n += b.lengths.reduce((a, l) => a + l, 0);
    }
    return n;
  };
  await pass(); // warm-up (pipelines, pool)
  const t0 = performance.now();
  let tokens = 0;
  for (let i = 0; i < reps; i++) tokens += await pass();
  const s = (performance.now() - t0) / 1000;
  model.dispose();
  return { tps: tokens / s, first: first! };
}

function agree(a: Float32Array, b: Float32Array, what: string): void {
  let mx = 0, diff = 0;
  for (let i = 0; i < a.length; i++) {
    mx = Math.max(mx, Math.abs(a[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  if (!(diff <= 1e-4 * mx)) throw new Error(`${what}: backends disagree (max diff ${diff}, scale ${mx})`);
}

const cpu = new CpuBackend();
const gpu = await createWebGpuBackend({});
try {
  const ad = await describeAdapter(gpu);
  console.log(`WebGPU adapter: ${ad.vendor} ${ad.device} (${ad.backend})`);
  const rows: string[] = ['| model | layer | tokens | CPU tok/s | WebGPU tok/s | WebGPU / CPU |', '|---|---|---|---|---|---|'];
  const run = async (name: string, w: ModelWeights, docs: Int32Array[], layer: number, maxRows: number, reps: number) => {
    const c = await harvestRate(cpu, w, docs, layer, maxRows, reps);
    const g = await harvestRate(gpu, w, docs, layer, maxRows, reps);
    agree(g.first, c.first, name);
    const tokens = docs.reduce((a, d) => a + d.length, 0);
    rows.push(`| ${name} | ${layer} | ${tokens} x ${reps} | ${Math.round(c.tps)} | ${Math.round(g.tps)} | ${(g.tps / c.tps).toFixed(2)} |`);
    console.log(rows.at(-1));
  };
  if (which !== 'gpt2') {
    const lm = loadModel(DIR + 'stories260K.bin');
    await run('stories260K (real)', lm.weights, readStoriesDocs(DIR + 'tokens_u16.npy').slice(0, 16), 2, 4096, 2);
  }
  if (which !== 'stories') {
    const rng = new Rng(2);
    const docs = Array.from({ length: 2 }, () => Int32Array.from({ length: 256 }, (_, i) => (i === 0 ? 50256 : rng.int(50257))));
    await run('GPT-2-small shape (random)', gpt2Small(), docs, 6, 512, 1);
  }
  console.log('\n' + rows.join('\n'));
} finally {
  gpu.dispose();
}
