// The initialisation (issue 8 item 4): unit decoder rows, encoder rows along them with norm sqrt(2 d / m) for
// topk/batchtopk (the paper's Kaiming scale; measured better than unit rows against the PyTorch recipe,
// bench/RESULTS.md), unit encoder rows for jumprelu/relu, b_enc = 0, and b_dec = the first batch's mean.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/rng.js';
import { makeSaeConfig } from '../../src/sae/config.js';
import { downloadParams, encoderInitScale, initHostParams } from '../../src/sae/params.js';
import { Trainer } from '../../src/train/trainer.js';
import { cpu } from '../helpers/backends.js';
import { config, D, M, synth } from './fixtures.js';

const s = suite('sae: initialisation');

s('encoder rows are the unit decoder rows times sqrt(2d/m) for topk/batchtopk, times 1 otherwise', () => {
  for (const [arch, dIn, dSae] of [['batchtopk', 64, 1024], ['topk', 48, 96], ['jumprelu', 32, 64], ['relu', 32, 64]] as const) {
    const cfg = makeSaeConfig({ arch, dIn, dSae, k: 4 });
    const bDec = new Rng(3).fillNormal(new Float32Array(dIn));
    const h = initHostParams(cfg, new Rng(1), bDec);
    const want = arch === 'topk' || arch === 'batchtopk' ? Math.sqrt((2 * dIn) / dSae) : 1;
    assert.ok(Math.abs(encoderInitScale(dIn, dSae) - Math.sqrt((2 * dIn) / dSae)) < 1e-15);
    for (let r = 0; r < dSae; r++) {
      let dn = 0;
      let dot = 0;
      let en = 0;
      for (let c = 0; c < dIn; c++) {
        const w = h.W_dec[r * dIn + c]!;
        const e = h.W_enc[r * dIn + c]!;
        dn += w * w;
        en += e * e;
        dot += w * e;
      }
      assert.ok(Math.abs(Math.sqrt(dn) - 1) < 1e-6, `${arch} decoder row ${r} norm ${Math.sqrt(dn)}`);
      assert.ok(Math.abs(Math.sqrt(en) - want) < 1e-6 * Math.max(1, want), `${arch} encoder row ${r} norm ${Math.sqrt(en)} vs ${want}`);
      assert.ok(Math.abs(dot - want) < 1e-6 * Math.max(1, want), `${arch} encoder row ${r} not along its decoder row`);
    }
    assert.ok(h.b_enc.every((v) => v === 0));
    assert.equal([...h.b_dec], [...bDec]);
  }
});

s('a fresh trainer starts b_dec at the mean of the first batch', async () => {
  const cfg = config('batchtopk', 1);
  const first = synth().rows(0, cfg.batchSize);
  const t = await Trainer.create(cpu, cfg, first);
  const h = await downloadParams(t.params);
  for (let c = 0; c < D; c++) {
    let mean = 0;
    for (let r = 0; r < cfg.batchSize; r++) mean += first[r * D + c]!;
    mean /= cfg.batchSize;
    assert.ok(Math.abs(h.b_dec[c]! - mean) <= 1e-5 * (1 + Math.abs(mean)), `b_dec[${c}] ${h.b_dec[c]} vs ${mean}`);
  }
  assert.is(h.W_enc.length, M * D);
  t.dispose();
});

s.run();
