// Issue 4, properties 2, 4 and 5: the decoder constraint, the JumpReLU pseudo-gradient, AuxK,
// sparse = dense decoding, determinism, feature recovery and BatchTopK beating TopK.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backward } from '../../src/autodiff/grad.js';
import { evaluate } from '../../src/eval.js';
import * as o from '../../src/ops.js';
import { Rng } from '../../src/rng.js';
import { auxkLoss } from '../../src/sae/auxk.js';
import { center, preActs } from '../../src/sae/common.js';
import { makeSaeConfig } from '../../src/sae/config.js';
import { trainForward } from '../../src/sae/forward.js';
import { downloadParams, initHostParams, normalizeDecoder, paramList, projectDecoderGrad, uploadParams } from '../../src/sae/params.js';
import { heaviside, jumprelu } from '../../src/ste.js';
import { featureRecovery } from '../../src/synth.js';
import { fromArray, tidy, zeros } from '../../src/tensor.js';
import { cpu } from '../helpers/backends.js';
import { calibrateOn, config, D, heldOut, M, synth, trainOn } from './fixtures.js';

const s = suite('sae: training semantics');

function rowNorms(w: Float32Array, rows: number, cols: number): number[] {
  return Array.from({ length: rows }, (_, r) => Math.hypot(...w.subarray(r * cols, (r + 1) * cols)));
}
// f32: a sum of D squares has relative error <= D 2^-24, the sqrt halves it, the division adds 2^-24.
const NORM_TOL = (D + 4) * 2 ** -24;

s('decoder rows have unit norm after every step (all architectures)', async () => {
  for (const arch of ['batchtopk', 'topk', 'jumprelu', 'relu'] as const) {
    const t = await trainOn(cpu, synth(), config(arch, 6), async (tr) => {
      const w = (await tr.params.W_dec.read()) as Float32Array;
      for (const n of rowNorms(w, M, D)) assert.ok(Math.abs(n - 1) <= NORM_TOL, `${arch}: row norm ${n}`);
    });
    t.dispose();
  }
});

s('the projected decoder gradient is orthogonal to each decoder row', async () => {
  const cfg = makeSaeConfig({ dIn: D, dSae: M });
  const rng = new Rng(5);
  const p = uploadParams(cpu, cfg, initHostParams(cfg, rng, new Float32Array(D)));
  normalizeDecoder(p);
  const g = rng.fillNormal(new Float32Array(M * D));
  p.W_dec.grad = fromArray(cpu, g, [M, D]).keep();
  projectDecoderGrad(p);
  const pg = (await p.W_dec.grad.read()) as Float32Array;
  const w = (await p.W_dec.read()) as Float32Array;
  for (let r = 0; r < M; r++) {
    let dot = 0, gn = 0;
    for (let c = 0; c < D; c++) {
      dot += pg[r * D + c]! * w[r * D + c]!;
      gn += Math.abs(g[r * D + c]!);
    }
    // (g.w) w is formed in f32: the residual dot is at most a few ulps of sum |g_i w_i| <= sum |g_i|.
    assert.ok(Math.abs(dot) <= 4 * D * 2 ** -24 * gn, `row ${r}: dot ${dot}`);
  }
  assert.not.equal([...pg], [...g], 'the projection changed the gradient');
  for (const t of paramList(p)) t.free();
});

s('JumpReLU pseudo-gradient matches its formula (rectangle kernel, bandwidth eps)', async () => {
  const eps = 0.1;
  const Bn = 5, Mn = 4;
  const x = Float32Array.from([0.5, 0.52, 0.44, 1, -1, 0.56, 0.6, 0.3, 0.49, 0.551, 0.2, 0.7, 0.5, 0.5, 0.46, 0.9, 0.1, 0.58, 0.5, 0.5]);
  const th = Float32Array.from([0.5, 0.55, 0.45, 0.6]);
  const g = new Rng(2).fillUniform(new Float32Array(Bn * Mn), -1, 1);
  const xT = fromArray(cpu, x, [Bn, Mn]).keep();
  const thT = fromArray(cpu, th, [Mn]).keep();
  xT.requiresGrad = thT.requiresGrad = true;
  tidy(() => {
    const gT = fromArray(cpu, g, [Bn, Mn]);
    backward(o.add(o.sum(o.mul(jumprelu(xT, thT, eps), gT)), o.sum(o.mul(heaviside(xT, thT, eps), gT))));
  });
  const dx = (await xT.grad!.read()) as Float32Array;
  const dth = (await thT.grad!.read()) as Float32Array;
  for (let j = 0; j < Mn; j++) {
    let want = 0;
    for (let r = 0; r < Bn; r++) {
      const i = r * Mn + j;
      const rect = Math.abs(x[i]! - th[j]!) < eps / 2 ? 1 : 0;
      want += -(th[j]! / eps) * rect * g[i]! + -(1 / eps) * rect * g[i]!; // jumprelu + step terms
      assert.ok(Math.abs(dx[i]! - (x[i]! > th[j]! ? g[i]! : 0)) < 1e-7, `dx ${i}`);
    }
    assert.ok(Math.abs(dth[j]! - want) <= 1e-5 * (1 + Math.abs(want)), `dtheta ${j}: ${dth[j]} vs ${want}`);
  }
  assert.ok(dth.some((v) => v !== 0), 'the window caught some entries');
  for (const t of [xT, thT]) (t.grad?.free(), t.free());
});

s('AuxK: zero when no latent is dead; otherwise the formula without b_dec, with gradient to the encoder', async () => {
  // No dead latent for the whole run: the trainer reports aux = 0 every step.
  (await trainOn(cpu, synth(), config('batchtopk', 5, { sae: { deadTokens: 10 ** 9 } }), (_t, m) => {
    assert.is(m.aux, 0);
    assert.is(m.dead, 0);
  })).dispose();
  // All latents dead, kAux >= M: the aux reconstruction is every positive pre-activation decoded without b_dec.
  const cfg = makeSaeConfig({ dIn: D, dSae: M, kAux: M });
  const rng = new Rng(9);
  const p = uploadParams(cpu, cfg, initHostParams(cfg, rng, rng.fillNormal(new Float32Array(D))));
  const x = synth().rows(0, 8);
  const resid = rng.fillNormal(new Float32Array(8 * D));
  const aux = tidy(() => {
    const xc = center(fromArray(cpu, x, [8, D]), p);
    const dead = o.addScalar(zeros(cpu, [M]), 1);
    const a = auxkLoss(xc, preActs(xc, p), fromArray(cpu, resid, [8, D]), p, { cfg, dead, deadCount: M })!;
    backward(a);
    return a;
  });
  const h = await downloadParams(p);
  let want = 0;
  for (let r = 0; r < 8; r++) {
    const f = Array.from({ length: M }, (_, j) => {
      let v = h.b_enc[j]!;
      for (let c = 0; c < D; c++) v += (x[r * D + c]! - h.b_dec[c]!) * h.W_enc[j * D + c]!;
      return Math.max(v, 0);
    });
    for (let c = 0; c < D; c++) {
      let rec = 0;
      for (let j = 0; j < M; j++) rec += f[j]! * h.W_dec[j * D + c]!;
      want += (rec - resid[r * D + c]!) ** 2;
    }
  }
  want /= 8 * D;
  assert.ok(Math.abs((await aux.item()) - want) <= 1e-5 * want, `aux ${await aux.item()} vs ${want}`);
  const gEnc = (await p.W_enc.grad!.read()) as Float32Array;
  assert.ok(gEnc.some((v) => v !== 0), 'AuxK gradient reaches W_enc');
  assert.is(p.b_dec.grad === null || (await p.b_dec.grad.read()).some((v) => v !== 0), true);
  for (const t of paramList(p)) (t.grad?.free(), t.free());
  aux.free();
});

s('the sparse decoder and its sparse backward equal the dense reference', async () => {
  for (const arch of ['batchtopk', 'topk'] as const) {
    const cfg = makeSaeConfig({ arch, dIn: D, dSae: M, k: 4, kAux: 16 });
    const bDec = new Rng(4).fillNormal(new Float32Array(D), 0, 0.1);
    const x = synth().rows(0, 16);
    const grads: Float32Array[][] = [];
    for (const dense of [false, true]) {
      const p = uploadParams(cpu, cfg, initHostParams(cfg, new Rng(4), bDec));
      const dead = fromArray(cpu, Float32Array.from({ length: M }, (_, j) => (j % 3 === 0 ? 1 : 0)), [M]).keep();
      tidy(() => backward(trainForward(fromArray(cpu, x, [16, D]), p, { cfg, dead, deadCount: 22, dense }).loss));
      grads.push(await Promise.all(paramList(p).map(async (t) => (await t.grad!.read()) as Float32Array)));
      for (const t of [...paramList(p), dead]) (t.grad?.free(), t.free());
    }
    grads[0]!.forEach((g, i) => {
      const ref = grads[1]![i]!;
      // Only the summation order differs (sparse gather-sums vs dense products over zeros): f32 rounding
      // of sums of up to M + D terms, relative to the largest gradient entry.
      const scale = Math.max(...ref.map(Math.abs));
      g.forEach((v, j) => assert.ok(Math.abs(v - ref[j]!) <= 1e-5 * scale, `${arch} param ${i}[${j}]: ${v} vs ${ref[j]}`));
    });
  }
});

s('same seed, same bits', async () => {
  const run = async () => {
    const t = await trainOn(cpu, synth(), config('batchtopk', 5));
    const h = await downloadParams(t.params);
    t.dispose();
    return h;
  };
  const [a, b] = [await run(), await run()];
  assert.equal([...a.W_dec], [...b.W_dec]);
  assert.equal([...a.W_enc], [...b.W_enc]);
  assert.equal([...a.b_dec], [...b.b_dec]);
});

s('recovers the ground-truth features, and BatchTopK reaches lower nmse than TopK at the same k', async () => {
  const data = synth();
  const result: Record<string, { nmse: number; recovery: number }> = {};
  // 1200 steps (307k tokens): recovery measured 0.92-0.94 for BatchTopK over data seeds 1-3; at 800 steps it
  // is still climbing (0.89-0.91), too close to the bar to be a stable check.
  for (const arch of ['batchtopk', 'topk'] as const) {
    const cfg = config(arch, 1200);
    const t = await trainOn(cpu, data, cfg);
    const theta = arch === 'batchtopk' ? await calibrateOn(t, data, cfg) : 0;
    const ev = await evaluate(cpu, { params: t.params, cfg: cfg.sae, theta, normalize: 'none', normScale: 1 }, [heldOut(data)]);
    const rec = featureRecovery(data.dictionary, (await downloadParams(t.params)).W_dec, D);
    result[arch] = { nmse: ev.nmse, recovery: rec.meanMaxCos };
    t.dispose();
  }
  assert.ok(result.batchtopk!.recovery >= 0.9, `batchtopk recovery ${result.batchtopk!.recovery}`);
  assert.ok(result.batchtopk!.nmse < result.topk!.nmse, `batchtopk nmse ${result.batchtopk!.nmse} vs topk ${result.topk!.nmse}`);
});

s.run();
