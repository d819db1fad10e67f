// The stories260K reference checks that are too long for the spec suite: the next-token loss over all of
// tokens_u16.npy (489 stories, 174,091 predictions) against meta.json's PyTorch figure, and the 200-step
// greedy sample from BOS, on one backend. Usage: npx tsx bench/stories_check.ts [cpu|webgpu]
// (the spec suite checks the greedy sample by teacher forcing and the loss on a few stories, on both).
import { readFileSync } from 'node:fs';
import { CpuBackend } from '../src/backend/cpu/reference.js';
import { createWebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { greedy, nextTokenLoss } from '../src/model/lm.js';
import { loadModel } from '../src/model/load.js';
import { Transformer } from '../src/model/transformer.js';
import { readStoriesDocs } from '../src/model/stories.js';

const DIR = new URL('../../shared/data/stories260K/', import.meta.url).pathname;
const which = process.argv[2] ?? 'webgpu';
const meta = JSON.parse(readFileSync(DIR + 'meta.json', 'utf8')) as { next_token_loss_nats: number; predicted_tokens: number; greedy_ids_from_bos: number[] };
const m = loadModel(DIR + 'stories260K.bin');
const be = which === 'cpu' ? new CpuBackend() : await createWebGpuBackend();
try {
  const model = new Transformer(be, m.weights);
  let t0 = performance.now();
  const g = await greedy(model, [m.tokenizer.bosId], meta.greedy_ids_from_bos.length, m.tokenizer.bosId);
  const same = JSON.stringify(g) === JSON.stringify(meta.greedy_ids_from_bos);
  console.log(`${which}: greedy ${g.length} ids ${same ? 'equal' : 'DIFFER from'} meta.json (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  t0 = performance.now();
  const docs = readStoriesDocs(DIR + 'tokens_u16.npy');
  const r = await nextTokenLoss(model, docs);
  const s = (performance.now() - t0) / 1000;
  const diff = Math.abs(r.loss - meta.next_token_loss_nats);
  console.log(
    `${which}: loss ${r.loss.toFixed(6)} nats over ${r.predictions} predictions; meta.json ${meta.next_token_loss_nats.toFixed(6)} over ${meta.predicted_tokens}; |diff| ${diff.toExponential(2)} (${s.toFixed(1)} s, ${Math.round((r.predictions + docs.length) / s)} tokens/s)`,
  );
  if (!same || diff > 1e-3 || r.predictions !== meta.predicted_tokens) process.exitCode = 1;
  model.dispose();
} finally {
  be.dispose();
}
