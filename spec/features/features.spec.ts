// `runFeatures` on the shared stories260K activations (174,580 real rows of a real model), every figure of
// features.json recomputed here independently in float64: the activations of a JumpReLU SAE (relu(pre) where
// pre > threshold, SAELens's rule) on rows read back from the .npy, documents cut where the position does
// not follow on, tokens decoded with the model's tokenizer, logits as sum_d W_dec g W_U. The implementation
// encodes in float32 on the backend, so values agree to float32 rounding (relative ~1e-6); a figure that
// depends on which side of a threshold or bin edge a value falls may differ only for values within that
// rounding of the edge, and the checks count those and allow exactly them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpu } from '../helpers/backends.js';
import { tempDir } from '../data/fixtures.js';
import { readMatrix } from '../../src/data/source.js';
import { writeSaelens, type SaeExport } from '../../src/io/saelens.js';
import { loadModel } from '../../src/model/load.js';
import { Rng } from '../../src/rng.js';
import { runFeatures, type LatentEntry } from '../../src/run/features.js';

const DIR = path.resolve('../shared/data/stories260K');
const s = suite('features: stories260K');
const M = 48;
const REL = 2e-5;

function npyU16(file: string): Uint16Array {
  const b = fs.readFileSync(file);
  const len = b.readUInt16LE(8);
  assert.ok(/'descr': '<u2'/.test(b.subarray(10, 10 + len).toString('latin1')), `${file}: expected uint16`);
  const data = b.subarray(10 + len);
  return new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

/** A JumpReLU SAE whose encoder columns are (centred, unit) data rows, with thresholds spread so that densities range from rare to common; latent 0 never fires. */
function makeSae(x: Float32Array, d: number, rows: number): SaeExport {
  const rng = new Rng(5);
  const mean = new Float32Array(d);
  for (let r = 0; r < rows; r += 7) for (let c = 0; c < d; c++) mean[c]! += x[r * d + c]! / Math.ceil(rows / 7);
  const W_enc = new Float32Array(d * M);
  const W_dec = new Float32Array(M * d);
  for (let j = 0; j < M; j++) {
    const r = rng.int(rows);
    let n = 0;
    for (let c = 0; c < d; c++) n += (x[r * d + c]! - mean[c]!) ** 2;
    for (let c = 0; c < d; c++) {
      const v = (x[r * d + c]! - mean[c]!) / Math.sqrt(n);
      W_enc[c * M + j] = v;
      W_dec[j * d + c] = v;
    }
  }
  const threshold = Float32Array.from({ length: M }, (_, j) => (j === 0 ? 1e6 : 0.5 + 4 * rng.uniform()));
  return { architecture: 'jumprelu', dIn: d, dSae: M, W_enc, W_dec, b_enc: new Float32Array(M), b_dec: mean, threshold, applyBDecToInput: true, normalizeActivations: 'none', metadata: {} };
}

s('every figure in features.json matches a float64 recomputation on the stories260K activations', async () => {
  if (!fs.existsSync(DIR)) throw new Error(`${DIR}: the shared stories260K data is missing (see shared/README.md)`);
  const { rows, cols: d, data: x } = readMatrix(path.join(DIR, 'resid2_f16.npy'));
  const ids = npyU16(path.join(DIR, 'tokens_u16.npy'));
  const pos = npyU16(path.join(DIR, 'positions_u16.npy'));
  const sae = makeSae(x, d, rows);
  const t = tempDir('features');
  try {
    writeSaelens(t.path('sae'), sae);
    const modelPath = path.join(DIR, 'stories260K.bin');
    const res = await runFeatures({ sae: t.path('sae'), data: DIR, out: t.path('out'), model: modelPath, top: 20, context: 8, batchRows: 4096 }, cpu);
    assert.is(res.stopped, false);
    const json = JSON.parse(fs.readFileSync(t.path('out/features.json'), 'utf8')) as { rows: number; rows_skipped: number; latents: LatentEntry[] };
    assert.is(json.rows, rows);
    assert.is(json.rows_skipped, 0);
    assert.is(json.latents.length, M);

    // Float64 activations, latent-major: act[j][r].
    const act = Array.from({ length: M }, () => new Float64Array(rows));
    const pre = Array.from({ length: M }, () => new Float64Array(rows));
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < M; j++) {
        let p = sae.b_enc[j]!;
        for (let c = 0; c < d; c++) p += sae.W_enc[c * M + j]! * (x[r * d + c]! - sae.b_dec[c]!);
        pre[j]![r] = p;
        act[j]![r] = p > sae.threshold![j]! ? p : 0;
      }
    }
    const near = (a: number, b: number) => Math.abs(a - b) <= REL * Math.max(1, Math.abs(b));
    const lm = loadModel(modelPath);
    const tok = lm.tokenizer;
    // llama2c decode strips the first piece's leading space after BOS only; decoding after EOS keeps it.
    const text = (id: number) => (id === tok.bosId ? '<bos>' : tok.decode([2, id]) || `<${id}>`);
    const docStart = (r: number) => {
      let a = r;
      while (a > 0 && r - a < 8 && pos[a] === pos[a - 1]! + 1) a--;
      return a;
    };
    const docEnd = (r: number) => {
      let b = r + 1;
      while (b < rows && b - r <= 8 && pos[b] === pos[b - 1]! + 1) b++;
      return b;
    };
    const checkExample = (j: number, e: LatentEntry['examples'][number], what: string) => {
      const a = docStart(e.row);
      const b = docEnd(e.row);
      assert.is(e.focus, e.row - a, `${what}: focus`);
      assert.equal(e.tokens, Array.from(ids.subarray(a, b), text), `${what}: tokens`);
      assert.ok(near(e.activation, act[j]![e.row]!), `${what}: activation ${e.activation} vs ${act[j]![e.row]}`);
      assert.is(e.activations.length, b - a, `${what}: one activation per token`);
      e.activations.forEach((v, i) => assert.ok(near(v, act[j]![a + i]!) || Math.abs(pre[j]![a + i]! - sae.threshold![j]!) < REL * 10, `${what}: context ${i}: ${v} vs ${act[j]![a + i]}`));
    };
    let firing = 0;
    for (let j = 0; j < M; j++) {
      const l = json.latents[j]!;
      assert.is(l.index, j);
      const a = act[j]!;
      let count = 0, sum = 0, max = 0, edge = 0;
      for (let r = 0; r < rows; r++) {
        if (Math.abs(pre[j]![r]! - sae.threshold![j]!) < REL * 10) edge++;
        if (a[r]! > 0) {
          count++;
          sum += a[r]!;
          if (a[r]! > max) max = a[r]!;
        }
      }
      if (count > 0) firing++;
      assert.ok(Math.abs(l.count - count) <= edge, `latent ${j}: count ${l.count} vs ${count} (${edge} at the threshold)`);
      assert.ok(Math.abs(l.density - count / rows) <= edge / rows + 1e-15, `latent ${j}: density`);
      assert.ok(near(l.max_activation, max), `latent ${j}: max ${l.max_activation} vs ${max}`);
      assert.ok(count === 0 ? l.mean_activation === 0 : near(l.mean_activation, sum / count), `latent ${j}: mean ${l.mean_activation} vs ${sum / count}`);
      assert.ok(near(l.mean_activation_all_rows, sum / rows), `latent ${j}: mean over rows`);
      // Histogram: recount with the file's own edges; values within rounding of an edge may move a bin.
      const h = l.histogram;
      const want = new Array<number>(h.counts.length).fill(0);
      let onEdge = 0;
      for (let r = 0; r < rows; r++) {
        const v = a[r]!;
        if (!(v > 0)) continue;
        let b = 0;
        while (b < h.counts.length - 1 && v >= h.edges[b + 1]!) b++;
        want[b]!++;
        if (h.edges.some((e) => Math.abs(v - e) <= REL * e)) onEdge++;
      }
      const diff = want.reduce((acc, w, i) => acc + Math.abs(w - h.counts[i]!), 0);
      assert.ok(diff <= 2 * (onEdge + edge), `latent ${j}: histogram ${JSON.stringify(h.counts)} vs ${JSON.stringify(want)}`);
      assert.is(h.counts.reduce((p, c) => p + c, 0), l.count, `latent ${j}: histogram total`);
      // Top examples: the 20 largest activations (ties: earlier row), descending.
      const order = Array.from({ length: rows }, (_, r) => r).filter((r) => a[r]! > 0).sort((p, q) => a[q]! - a[p]! || p - q);
      const top = order.slice(0, 20);
      assert.is(l.examples.length, Math.min(20, l.count), `latent ${j}: number of examples`);
      l.examples.forEach((e, i) => {
        assert.ok(near(e.activation, a[top[i]!]!), `latent ${j} example ${i}: ${e.activation} vs ${a[top[i]!]}`);
        const gapBefore = i === 0 ? Infinity : a[order[i - 1]!]! - a[order[i]!]!;
        const gapAfter = i + 1 < order.length ? a[order[i]!]! - a[order[i + 1]!]! : Infinity;
        if (Math.min(gapBefore, gapAfter) > REL * a[order[i]!]!) assert.is(e.row, top[i], `latent ${j} example ${i}: row`);
        if (i > 0) assert.ok(e.activation <= l.examples[i - 1]!.activation, 'descending');
        checkExample(j, e, `latent ${j} example ${i}`);
      });
      // Interval examples: real firing rows outside the top, descending.
      const rowsInTop = new Set(l.examples.map((e) => e.row));
      l.interval_examples.forEach((e, i) => {
        assert.ok(!rowsInTop.has(e.row), `latent ${j}: interval row ${e.row} is a top row`);
        assert.ok(a[e.row]! > 0, `latent ${j}: interval row ${e.row} fires`);
        if (i > 0) assert.ok(e.activation <= l.interval_examples[i - 1]!.activation, 'interval descending');
        checkExample(j, e, `latent ${j} interval ${i}`);
      });
      if (l.count > 60) assert.ok(l.interval_examples.length >= 8, `latent ${j}: ${l.interval_examples.length} interval examples`);
      // Logits: sum_d W_dec[j,d] g[d] W_U[v,d] in float64, top and bottom 10.
      const { dim, vocabSize } = lm.weights.config;
      const g = lm.weights.finalNorm.w;
      const score = Array.from({ length: vocabSize }, (_, v) => {
        let z = 0;
        for (let c = 0; c < dim; c++) z += sae.W_dec[j * dim + c]! * g[c]! * lm.weights.head[v * dim + c]!;
        return z;
      });
      const byScore = Array.from({ length: vocabSize }, (_, v) => v).sort((p, q) => score[q]! - score[p]! || p - q);
      for (const [got, ids10] of [[l.top_logits!, byScore.slice(0, 10)], [l.bottom_logits!, byScore.slice(-10).reverse()]] as const) {
        assert.is(got.length, 10);
        got.forEach((t, i) => {
          assert.ok(Math.abs(t.value - score[ids10[i]!]!) <= 1e-4 * Math.max(1, Math.abs(score[ids10[i]!]!)), `latent ${j} logit ${i}: ${t.value} vs ${score[ids10[i]!]}`);
          const neighbours = [ids10[i - 1], ids10[i + 1]].filter((v) => v !== undefined).map((v) => Math.abs(score[v!]! - score[ids10[i]!]!));
          if (Math.min(Infinity, ...neighbours) > 1e-4) assert.is(t.token, text(ids10[i]!), `latent ${j} logit ${i}: token`);
        });
      }
    }
    assert.is(json.latents[0]!.count, 0, 'latent 0 never fires');
    assert.equal(json.latents[0]!.examples, []);
    assert.ok(firing >= M - 3, `${firing} latents fire`);
    assert.ok(json.latents.some((l) => l.density < 0.01) && json.latents.some((l) => l.density > 0.1), 'densities from rare to common');
    // The page and its data blocks.
    const html = fs.readFileSync(t.path('out/index.html'), 'utf8');
    assert.ok(html.includes('const INDEX = ') && html.includes('featuresPage'), 'index.html has the table and the script');
    const chunk = fs.readFileSync(t.path('out/latents/00000.js'), 'utf8');
    assert.ok(chunk.startsWith('featuresChunk(0, '), chunk.slice(0, 40));
    assert.equal(JSON.parse(chunk.slice('featuresChunk(0, '.length, chunk.lastIndexOf(')')))[5], json.latents[5]);
  } finally {
    t.cleanup();
  }
});

s.run();
