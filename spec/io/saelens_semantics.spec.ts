// The SAELens export computes what our model computes, judged by an independent float64 implementation of
// SAELens's inference encode/decode (sae_lens/saes/*: process_sae_in, encode, decode, the layer_norm
// run-time normalisation) written here, for every architecture and every normalisation. Our in-memory model
// runs on the CPU backend in f32; the export is written to disk and read back.
// SAELens layer_norm: in, mu = mean(x), std = torch std (unbiased) of x - mu, x_n = (x - mu) / (std + 1e-5);
// out, x_hat = y * std + mu (no eps). The activations here are small (std ~ 1e-3) so an eps on the way out
// would be a 1% error, far above f32 rounding.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSae, writeSaelens, type SaeExport } from '../../src/io/saelens.js';
import { Rng } from '../../src/rng.js';
import { makeSaeConfig, type Arch, type NormalizeMode } from '../../src/sae/config.js';
import { toSaeExport } from '../../src/sae/export.js';
import { reconstructInference } from '../../src/sae/inference.js';
import { thetaToParam } from '../../src/sae/jumprelu.js';
import { normalizeInput } from '../../src/sae/normalize.js';
import { uploadParams, type HostParams } from '../../src/sae/params.js';
import { fromArray, tidy } from '../../src/tensor.js';
import { cpu } from '../helpers/backends.js';
import { tempDir } from '../data/fixtures.js';

const s = suite('io/saelens: the export against SAELens semantics');
const tmp = tempDir('saelens-sem');
s.after(() => tmp.cleanup());

const D = 16;
const M = 40;
const N = 64;

/** SAELens inference forward in float64: [f [N,M], x_hat [N,D]]. */
function saelensForward(e: SaeExport, x: Float32Array): { f: Float64Array; xhat: Float64Array } {
  const { dIn: d, dSae: m } = e;
  const f = new Float64Array(N * m);
  const xhat = new Float64Array(N * d);
  for (let r = 0; r < N; r++) {
    let xi = Array.from(x.subarray(r * d, (r + 1) * d), Number);
    let mu = 0, std = 1;
    if (e.normalizeActivations === 'layer_norm') {
      mu = xi.reduce((a, b) => a + b, 0) / d;
      const xc = xi.map((v) => v - mu);
      std = Math.sqrt(xc.reduce((a, b) => a + b * b, 0) / (d - 1));
      xi = xc.map((v) => v / (std + 1e-5));
    } else assert.is(e.normalizeActivations, 'none', 'scalar normalisation is folded into the weights');
    const sin = xi.map((v, c) => v - (e.applyBDecToInput ? e.b_dec[c]! : 0));
    const pre = Array.from({ length: m }, (_, j) => {
      let v = e.b_enc[j]!;
      for (let c = 0; c < d; c++) v += sin[c]! * e.W_enc[c * m + j]!;
      return v;
    });
    let acts: number[];
    if (e.architecture === 'jumprelu') acts = pre.map((v, j) => (v > e.threshold![j]! ? Math.max(v, 0) : 0));
    else if (e.architecture === 'standard') acts = pre.map((v) => Math.max(v, 0));
    else {
      // TopK: the k largest pre-activations, then ReLU on the kept values.
      const keep = new Set([...pre.keys()].sort((a, b) => pre[b]! - pre[a]!).slice(0, e.k!));
      acts = pre.map((v, j) => (keep.has(j) ? Math.max(v, 0) : 0));
    }
    for (let c = 0; c < d; c++) {
      let y = e.b_dec[c]!;
      for (let j = 0; j < m; j++) y += acts[j]! * e.W_dec[j * d + c]!;
      xhat[r * d + c] = e.normalizeActivations === 'layer_norm' ? y * std + mu : y;
    }
    acts.forEach((v, j) => (f[r * m + j] = v));
  }
  return { f, xhat };
}

function model(arch: Arch, seed: number): { host: HostParams; theta: number } {
  const rng = new Rng(seed);
  const W_dec = rng.fillNormal(new Float32Array(M * D), 0, 1 / Math.sqrt(D));
  const host: HostParams = {
    W_enc: rng.fillNormal(new Float32Array(M * D), 0, 1 / Math.sqrt(D)),
    b_enc: rng.fillNormal(new Float32Array(M), 0, 0.1),
    W_dec,
    b_dec: rng.fillNormal(new Float32Array(D), 0, 0.2),
  };
  if (arch === 'jumprelu') host.theta = thetaToParam(rng.fillUniform(new Float32Array(M), 0, 0.4));
  return { host, theta: arch === 'batchtopk' ? 0.3 : 0 };
}

/** Rows with a mean offset and, for layernorm, a small per-token spread. */
function rows(normalize: NormalizeMode, seed: number): Float32Array {
  const rng = new Rng(seed);
  const scale = normalize === 'layernorm' ? 1e-3 : 1;
  return Float32Array.from({ length: N * D }, (_, i) => scale * (0.5 * ((i % D) - D / 2) / D + rng.normal()));
}

for (const normalize of ['none', 'scalar', 'layernorm'] as const) {
  s(`${normalize}: every architecture's export reconstructs like our model (float64 SAELens oracle)`, async () => {
    for (const [i, arch] of (['batchtopk', 'topk', 'jumprelu', 'relu'] as const).entries()) {
      const { host, theta } = model(arch, 10 + i);
      const cfg = makeSaeConfig({ arch, dIn: D, dSae: M, k: 5 });
      const x = rows(normalize, 20 + i);
      const normScale = normalize === 'scalar' ? 1.7 : 1;
      const p = uploadParams(cpu, cfg, host);
      const out = tidy(() => {
        const nx = normalizeInput(fromArray(cpu, x, [N, D]), normalize, normScale);
        const { f, xhat } = reconstructInference(nx.x, p, cfg, theta);
        return { f: f.keep(), xhat: nx.undo(xhat).keep() };
      });
      const f = (await out.f.read()) as Float32Array;
      const xhat = (await out.xhat.read()) as Float32Array;
      for (const t of [out.f, out.xhat, p.W_enc, p.b_enc, p.W_dec, p.b_dec, ...(p.theta ? [p.theta] : [])]) t.free();
      const dir = tmp.path(`${normalize}-${arch}`);
      writeSaelens(dir, toSaeExport({ arch, dIn: D, dSae: M, k: 5, params: host, theta, normalize, normScale, info: {} }));
      const e = readSae(dir);
      const want = saelensForward(e, x);
      // Latents: same set, same values (f32 rounding of a D-term dot product); entries whose f32 and f64
      // pre-activations could fall on either side of a threshold would be excused, none occur here.
      const fScale = Math.max(...want.f.map(Math.abs));
      f.forEach((v, j) => assert.ok(Math.abs(v - want.f[j]!) <= 1e-5 * fScale, `${normalize}/${arch} f[${j}]: ${v} vs ${want.f[j]}`));
      const xScale = Math.max(...want.xhat.map(Math.abs));
      xhat.forEach((v, j) => assert.ok(Math.abs(v - want.xhat[j]!) <= 1e-5 * xScale, `${normalize}/${arch} x_hat[${j}]: ${v} vs ${want.xhat[j]}`));
      assert.ok(want.f.some((v) => v > 0) && want.f.some((v) => v === 0), `${normalize}/${arch}: some latents on, some off`);
    }
  });
}

// BatchTopK keeps pre >= theta; SAELens keeps pre > threshold. The export's threshold must be the largest f32
// strictly below theta: pre-activations exactly at theta are kept, those one f32 step below are dropped. Rows of
// zeros make the pre-activations exactly b_enc, set here to theta, the f32 just below it, and the one above.
s('batchtopk export: a pre-activation exactly at theta is kept and the f32 just below it is dropped, as our model does', async () => {
  const theta = 0.3;
  const t32 = Math.fround(theta);
  const below = (x: number) => {
    const f = new Float32Array([x]);
    new Uint32Array(f.buffer)[0]! -= 1;
    return f[0]!;
  };
  const above = (x: number) => {
    const f = new Float32Array([x]);
    new Uint32Array(f.buffer)[0]! += 1;
    return f[0]!;
  };
  const { host } = model('batchtopk', 7);
  host.b_dec.fill(0);
  host.b_enc = Float32Array.from({ length: M }, (_, j) => [t32, below(t32), above(t32), below(below(t32))][j % 4]!);
  const cfg = makeSaeConfig({ arch: 'batchtopk', dIn: D, dSae: M, k: 5 });
  const x = new Float32Array(N * D);
  for (let i = N * D / 2; i < N * D; i++) x[i] = rows('none', 3)[i]!; // the first half of the rows are zero
  const p = uploadParams(cpu, cfg, host);
  const f = tidy(() => reconstructInference(fromArray(cpu, x, [N, D]), p, cfg, t32).f.keep());
  const fv = (await f.read()) as Float32Array;
  for (const t of [f, p.W_enc, p.b_enc, p.W_dec, p.b_dec]) t.free();
  const dir = tmp.path('batchtopk-at-theta');
  writeSaelens(dir, toSaeExport({ arch: 'batchtopk', dIn: D, dSae: M, k: 5, params: host, theta: t32, normalize: 'none', normScale: 1, info: {} }));
  const want = saelensForward(readSae(dir), x);
  for (let r = 0; r < N / 2; r++) {
    for (let j = 0; j < M; j++) {
      const on = j % 4 === 0 || j % 4 === 2;
      assert.is(fv[r * M + j], on ? host.b_enc[j] : 0, `our model, row ${r} latent ${j}`);
      assert.is(want.f[r * M + j], fv[r * M + j], `SAELens on the export, row ${r} latent ${j} (b_enc ${host.b_enc[j]}, theta ${t32})`);
    }
  }
  const scale = Math.max(...want.f.map(Math.abs));
  fv.forEach((v, j) => assert.ok(Math.abs(v - want.f[j]!) <= 1e-5 * scale, `f[${j}]: ${v} vs ${want.f[j]}`));
});

s.run();
