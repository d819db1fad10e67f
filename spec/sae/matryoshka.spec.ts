// Issue 19: Matryoshka BatchTopK. The loss is the weighted sum of every prefix's reconstruction error from one
// batch top-k selection; its sparse path equals a float64 oracle of that definition and the dense reference
// (with AuxK), one prefix is plain BatchTopK, every backend computes the same step, and the trained SAE
// calibrates theta, exports as SAELens jumprelu and reports per-prefix nmse that falls as the prefix widens.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend/backend.js';
import { backward } from '../../src/autodiff/grad.js';
import { evaluate } from '../../src/eval.js';
import { Rng } from '../../src/rng.js';
import { makeSaeConfig, type SaeConfig } from '../../src/sae/config.js';
import { fromSaeExport, toSaeExport } from '../../src/sae/export.js';
import { trainForward } from '../../src/sae/forward.js';
import { matryoshkaForwardGrouped, prefixWeights, selectGrouped } from '../../src/sae/matryoshka.js';
import { downloadParams, initHostParams, paramList, uploadParams, type HostParams } from '../../src/sae/params.js';
import { fromArray, tidy } from '../../src/tensor.js';
import { allBackends, cpu, cpuFast } from '../helpers/backends.js';
import { calibrateOn, config, D, heldOut, M, synth, trainOn } from './fixtures.js';

const s = suite('sae: Matryoshka BatchTopK');

const WIDTHS = [8, 24, M];
const WEIGHTS = [0.5, 2, 1];

function mcfg(over: Partial<SaeConfig> = {}): SaeConfig {
  return makeSaeConfig({ arch: 'matryoshka', dIn: D, dSae: M, k: 4, kAux: 16, matryoshkaWidths: WIDTHS, matryoshkaWeights: WEIGHTS, ...over });
}

/** Parameters with a non-zero b_enc, so the oracle's encoder bias path is exercised. */
function hostParams(cfg: SaeConfig, seed: number): HostParams {
  const rng = new Rng(seed);
  const h = initHostParams(cfg, rng, rng.fillNormal(new Float32Array(D), 0, 0.1));
  h.b_enc = rng.fillNormal(new Float32Array(M), 0, 0.1);
  return h;
}

s('config: matryoshka needs widths ending at dSae, strictly increasing, one weight per prefix; others take none', () => {
  const bad = (over: Partial<SaeConfig>, re: RegExp) => assert.throws(() => mcfg(over), re);
  bad({ matryoshkaWidths: [] }, /needs matryoshkaWidths.*e\.g\. 8,16,32,64/);
  bad({ matryoshkaWidths: [8, 32] }, /last matryoshkaWidths entry must equal dSae \(64\)/);
  bad({ matryoshkaWidths: [8, 8, 64], matryoshkaWeights: [] }, /strictly increasing/);
  bad({ matryoshkaWidths: [0, 64], matryoshkaWeights: [] }, /matryoshkaWidths\[0\] must be a positive integer/);
  bad({ matryoshkaWeights: [1, 1] }, /2 entries for 3 widths/);
  bad({ matryoshkaWeights: [1, -1, 1] }, /matryoshkaWeights\[1\] must be a finite number >= 0/);
  bad({ matryoshkaWeights: [0, 0, 0] }, /at least one positive weight/);
  assert.throws(() => makeSaeConfig({ arch: 'batchtopk', dIn: D, dSae: M, matryoshkaWidths: [8, M] }), /apply to arch matryoshka only/);
  // Unset weights: each prefix weighs its share of the dictionary, the full width 1 (config.ts defaultMatryoshkaWeights).
  assert.equal(prefixWeights(mcfg({ matryoshkaWeights: [] })), [8 / M, 24 / M, 1]);
  assert.equal(prefixWeights(mcfg()), WEIGHTS);
});

s('loss and every gradient equal a float64 oracle of the definition (sum of weighted prefix errors, one batch top-k)', async () => {
  const Bn = 16;
  const cfg = mcfg();
  const h = hostParams(cfg, 11);
  const p = uploadParams(cpu, cfg, h);
  const x = synth().rows(0, Bn);
  const got = tidy(() => {
    const out = trainForward(fromArray(cpu, x, [Bn, D]), p, { cfg, dead: null, deadCount: 0 });
    backward(out.loss);
    return { loss: out.loss.keep(), mse: out.mse.keep(), prefix: out.prefixMse!.map((t) => t.keep()) };
  });
  // Oracle: dense float64, the batch's Bn*k largest post-ReLU values kept.
  const pre = new Float64Array(Bn * M);
  const xc = new Float64Array(Bn * D);
  for (let r = 0; r < Bn; r++) {
    for (let c = 0; c < D; c++) xc[r * D + c] = x[r * D + c]! - h.b_dec[c]!;
    for (let j = 0; j < M; j++) {
      let v = h.b_enc[j]!;
      for (let c = 0; c < D; c++) v += xc[r * D + c]! * h.W_enc[j * D + c]!;
      pre[r * M + j] = v;
    }
  }
  const order = [...pre.keys()].sort((a, b) => Math.max(pre[b]!, 0) - Math.max(pre[a]!, 0));
  const f = new Float64Array(Bn * M);
  for (const i of order.slice(0, Bn * cfg.k)) f[i] = Math.max(pre[i]!, 0);
  const n = Bn * D;
  const g = { W_enc: new Float64Array(M * D), b_enc: new Float64Array(M), W_dec: new Float64Array(M * D), b_dec: new Float64Array(D) };
  const df = new Float64Array(Bn * M);
  let loss = 0;
  const prefixMse: number[] = [];
  WIDTHS.forEach((w, i) => {
    let sse = 0;
    for (let r = 0; r < Bn; r++) {
      const e = Array.from({ length: D }, (_, c) => h.b_dec[c]! - x[r * D + c]!);
      for (let j = 0; j < w; j++) for (let c = 0; c < D; c++) e[c]! += f[r * M + j]! * h.W_dec[j * D + c]!;
      for (let c = 0; c < D; c++) {
        sse += e[c]! ** 2;
        const de = (2 * WEIGHTS[i]! * e[c]!) / n;
        g.b_dec[c]! += de;
        for (let j = 0; j < w; j++) {
          g.W_dec[j * D + c]! += f[r * M + j]! * de;
          df[r * M + j]! += de * h.W_dec[j * D + c]!;
        }
      }
    }
    prefixMse.push(sse / n);
    loss += (WEIGHTS[i]! * sse) / n;
  });
  for (let r = 0; r < Bn; r++) {
    for (let j = 0; j < M; j++) {
      if (!(f[r * M + j]! > 0)) continue;
      const d = df[r * M + j]!;
      g.b_enc[j]! += d;
      for (let c = 0; c < D; c++) {
        g.W_enc[j * D + c]! += d * xc[r * D + c]!;
        g.b_dec[c]! -= d * h.W_enc[j * D + c]!;
      }
    }
  }
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(b), `${what}: ${a} vs ${b}`);
  close(await got.loss.item(), loss, 'loss');
  close(await got.mse.item(), prefixMse[prefixMse.length - 1]!, 'mse (full width)');
  for (const [i, t] of got.prefix.entries()) close(await t.item(), prefixMse[i]!, `prefix ${i} mse`);
  assert.ok(prefixMse[0]! > prefixMse[1]! && prefixMse[1]! > prefixMse[2]!, 'the oracle prefixes differ (the check can see a prefix mix-up)');
  for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const) {
    const want = g[name];
    const have = (await p[name].grad!.read()) as Float32Array;
    const scale = Math.max(...want.map(Math.abs));
    assert.ok(scale > 0, `${name}: the oracle gradient is not all zero`);
    have.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 1e-5 * scale, `${name}[${i}]: ${v} vs ${want[i]}`));
  }
  for (const t of paramList(p)) (t.grad?.free(), t.free());
  for (const t of [got.loss, got.mse, ...got.prefix]) t.free();
});

/**
 * Loss and gradients of one step from fixed parameters, with a third of the latents dead (AuxK on), by one of
 * the three paths: 'masked' (trainForward: masked groups over the whole selection), 'dense' (its dense
 * per-prefix reference), 'grouped' (selectGrouped + matryoshkaForwardGrouped: what the Trainer runs).
 */
async function stepGrads(be: Backend, cfg: SaeConfig, path: 'masked' | 'dense' | 'grouped'): Promise<{ loss: number; grads: Float32Array[] }> {
  const p = uploadParams(be, cfg, hostParams(cfg, 4));
  const dead = fromArray(be, Float32Array.from({ length: M }, (_, j) => (j % 3 === 0 ? 1 : 0)), [M]).keep();
  const x = fromArray(be, synth().rows(0, 32), [32, D]).keep();
  const ctx = { cfg, dead, deadCount: 22, dense: path === 'dense' };
  const gs = path === 'grouped' ? await selectGrouped(x, p, cfg) : null;
  const lossT = tidy(() => {
    const out = gs ? matryoshkaForwardGrouped(x, p, ctx, gs) : trainForward(x, p, ctx);
    assert.ok(out.aux, 'AuxK is on');
    backward(out.loss);
    return out.loss.keep();
  });
  gs?.free();
  const loss = await lossT.item();
  const grads = await Promise.all(paramList(p).map(async (t) => (await t.grad!.read()) as Float32Array));
  for (const t of [...paramList(p), dead, lossT, x]) (t.grad?.free(), t.free());
  return { loss, grads };
}

function assertSameGrads(a: Float32Array[], b: Float32Array[], tol: number, what: string): void {
  a.forEach((g, i) => {
    const ref = b[i]!;
    const scale = Math.max(...ref.map(Math.abs));
    g.forEach((v, j) => assert.ok(Math.abs(v - ref[j]!) <= tol * scale, `${what} param ${i}[${j}]: ${v} vs ${ref[j]}`));
  });
}

s('the sparse prefixes (masked and grouped) and their sparse backward equal the dense per-prefix reference (AuxK on)', async () => {
  const cfg = mcfg();
  const dense = await stepGrads(cpu, cfg, 'dense');
  for (const path of ['masked', 'grouped'] as const) {
    const sparse = await stepGrads(cpu, cfg, path);
    // Only the summation order differs (group-wise gather-sums vs dense products over zeros).
    assert.ok(Math.abs(sparse.loss - dense.loss) <= 1e-6 * dense.loss, `${path} loss ${sparse.loss} vs ${dense.loss}`);
    assertSameGrads(sparse.grads, dense.grads, 1e-5, `${path} vs dense`);
  }
});

s('one prefix (widths = [m]) is plain BatchTopK', async () => {
  const m = await stepGrads(cpu, mcfg({ matryoshkaWidths: [M], matryoshkaWeights: [] }), 'grouped');
  const b = await stepGrads(cpu, makeSaeConfig({ arch: 'batchtopk', dIn: D, dSae: M, k: 4, kAux: 16 }), 'masked');
  assert.ok(Math.abs(m.loss - b.loss) <= 1e-6 * b.loss, `loss ${m.loss} vs ${b.loss}`);
  assertSameGrads(m.grads, b.grads, 1e-6, 'matryoshka [m] vs batchtopk');
});

s('every backend (cpu, cpu-fast, webgpu) computes the same step as the reference', async () => {
  const cfg = mcfg();
  for (const path of ['grouped', 'masked'] as const) {
    const ref = await stepGrads(cpu, cfg, path);
    for (const be of [cpuFast(), ...(await allBackends()).filter((b) => b !== cpu)]) {
      const got = await stepGrads(be, cfg, path);
      // Summation orders differ between backends (kernels, reductions): f32 rounding only.
      assert.ok(Math.abs(got.loss - ref.loss) <= 1e-5 * ref.loss, `${be.name} ${path} loss ${got.loss} vs ${ref.loss}`);
      assertSameGrads(got.grads, ref.grads, 1e-4, `${be.name} ${path}`);
    }
  }
});

s('trains: theta calibrates, export is SAELens jumprelu with the widths, prefix nmse falls as the prefix widens', async () => {
  const data = synth();
  const cfg = config('matryoshka', 300, { sae: { matryoshkaWidths: [16, 32, M], matryoshkaWeights: [] } });
  const t = await trainOn(cpu, data, cfg);
  assert.is(t.lastPrefixMse.length, 3);
  const theta = await calibrateOn(t, data, cfg);
  assert.ok(theta > 0, `theta ${theta}`);
  const model = { params: t.params, cfg: cfg.sae, theta, normalize: 'none' as const, normScale: 1 };
  const ev = await evaluate(cpu, model, [heldOut(data)]);
  const pn = ev.prefixNmse!;
  assert.is(pn.length, 3);
  assert.ok(pn[0]! > pn[1]! && pn[1]! > pn[2]!, `prefix nmse ${pn}`);
  assert.ok(Math.abs(pn[2]! - ev.nmse) <= 1e-4 * ev.nmse, `full prefix ${pn[2]} vs nmse ${ev.nmse}`);
  assert.ok(Math.abs(ev.l0 - cfg.sae.k) <= 0.15 * cfg.sae.k, `held-out L0 under theta ${ev.l0} vs k ${cfg.sae.k}`);
  const host = await downloadParams(t.params);
  const exp = toSaeExport({ arch: 'matryoshka', dIn: D, dSae: M, k: cfg.sae.k, params: host, theta, matryoshkaWidths: cfg.sae.matryoshkaWidths, normalize: 'none', normScale: 1, info: {} });
  assert.is(exp.architecture, 'jumprelu');
  assert.ok(exp.threshold!.every((v) => v < theta && v === exp.threshold![0]), 'one threshold just below theta');
  assert.equal((exp.metadata['batchtopk'] as { matryoshkaWidths: number[] }).matryoshkaWidths, [16, 32, M]);
  assert.throws(() => toSaeExport({ arch: 'matryoshka', dIn: D, dSae: M, k: 4, params: host, theta, normalize: 'none', normScale: 1, info: {} }), /needs its matryoshkaWidths/);
  // Read back: evaluated as the jumprelu it is, with the same prefixes.
  const back = fromSaeExport(exp);
  assert.equal(back.model.cfg.matryoshkaWidths, [16, 32, M]);
  const p2 = uploadParams(cpu, back.model.cfg, back.params);
  const ev2 = await evaluate(cpu, { ...back.model, params: p2 }, [heldOut(data)]);
  ev2.prefixNmse!.forEach((v, i) => assert.ok(Math.abs(v - pn[i]!) <= 1e-4 * pn[i]!, `imported prefix ${i}: ${v} vs ${pn[i]}`));
  for (const q of paramList(p2)) q.free();
  t.dispose();
});

s.run();
