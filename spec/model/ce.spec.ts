// Issue 10: CE degradation on the real stories260K model. An identity "SAE" (the reconstruction is the
// residual itself) gives CE_sae = CE_clean, KL 0, ce_loss_score 1 and nmse 0; a zero reconstruction gives
// CE_sae = CE_zero and score 0; BOS predictions are left out; on both backends.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, Storage } from '../../src/backend/backend.js';
import { ceDegradation, type Reconstructor } from '../../src/model/ce.js';
import { loadModel } from '../../src/model/load.js';
import { readStoriesDocs } from '../../src/model/stories.js';
import { Transformer } from '../../src/model/transformer.js';
import { allBackends } from '../helpers/backends.js';

const STORIES = new URL('../../../shared/data/stories260K/', import.meta.url).pathname;
const s = suite('model: CE degradation (identity and zero splices)');
const lm = loadModel(STORIES + 'stories260K.bin');
// The two shortest of the first 40 stories (the spec runs the model six times per backend).
const docs = readStoriesDocs(STORIES + 'tokens_u16.npy').slice(0, 40).sort((a, b) => a.length - b.length).slice(0, 2);

const identity = (be: Backend): Reconstructor => ({
  reconstruct: async (x: Storage, rows: number) => {
    const xhat = be.alloc(x.length, 'f32');
    be.copy(xhat, x);
    return { xhat, l0: new Float32Array(rows).fill(7) };
  },
});
const zero = (be: Backend): Reconstructor => ({
  reconstruct: async (x: Storage, rows: number) => ({ xhat: be.alloc(x.length, 'f32'), l0: new Float32Array(rows) }),
});

s('identity splice: score 1, KL 0, nmse 0; zero splice: score 0; BOS predictions excluded', async () => {
  for (const be of await allBackends()) {
    const model = new Transformer(be, lm.weights);
    const id = await ceDegradation(model, docs, identity(be), { layer: 2, batchRows: 1024, spliceBos: true });
    // Predictions: every target except the one made at BOS (position 0) of each document.
    assert.is(id.predictions, docs.reduce((a, d) => a + d.length - 2, 0));
    assert.is(id.ce_sae, id.ce_clean, `${be.name}: the identity splice changes nothing, bit for bit`);
    assert.is(id.kl_sae, 0);
    assert.is(id.ce_loss_score, 1);
    assert.is(id.kl_div_score, 1);
    assert.is(id.nmse, 0);
    assert.is(id.l0, 7);
    assert.ok(id.ce_zero > id.ce_clean + 0.5, `${be.name}: zero ablation hurts (${id.ce_zero} vs ${id.ce_clean})`);
    assert.ok(id.kl_zero > 0.1);
    const z = await ceDegradation(model, docs, zero(be), { layer: 2, batchRows: 1024, spliceBos: false });
    assert.is(z.ce_sae, z.ce_zero, `${be.name}: a zero reconstruction is the zero ablation`);
    assert.is(z.ce_loss_score, 0);
    assert.is(z.kl_div_score, 0);
    assert.is(z.nmse, 1);
    assert.ok(Math.abs(z.ce_clean - id.ce_clean) < 1e-6);
    model.dispose();
  }
});

s.run();
