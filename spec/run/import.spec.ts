// eval on SAELens-written folders: each architecture SAELens saves (standard, topk, jumprelu), with and
// without apply_b_dec_to_input, evaluates to the metrics of SAELens's own encode/decode computed here on
// the host in float64 (standard: relu(pre); topk: the k largest of relu(pre); jumprelu:
// relu(pre) * (pre > threshold); pre = (x - b_dec if apply_b_dec_to_input else x) W_enc + b_enc).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runEval } from '../../src/run/eval.js';
import { writeNpy } from '../../src/data/npy.js';
import { writeSaelens, type SaeExport } from '../../src/io/saelens.js';
import { Rng } from '../../src/rng.js';
import { cpu } from '../helpers/backends.js';

const s = suite('cli: eval of SAELens-written folders');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-import-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const D = 6, M = 10, N = 300, K = 3;

function reference(e: SaeExport, x: Float32Array): { nmse: number; l0: number } {
  let sse = 0, ss = 0, active = 0;
  for (let r = 0; r < N; r++) {
    const pre = Array.from({ length: M }, (_, j) => {
      let v = e.b_enc[j]!;
      for (let c = 0; c < D; c++) v += (x[r * D + c]! - (e.applyBDecToInput ? e.b_dec[c]! : 0)) * e.W_enc[c * M + j]!;
      return v;
    });
    let f = pre.map((v) => Math.max(v, 0));
    if (e.architecture === 'jumprelu') f = f.map((v, j) => (pre[j]! > e.threshold![j]! ? v : 0));
    if (e.architecture === 'topk') {
      const keep = new Set([...f.keys()].sort((a, b) => f[b]! - f[a]! || a - b).slice(0, K));
      f = f.map((v, j) => (keep.has(j) ? v : 0));
    }
    active += f.filter((v) => v > 0).length;
    for (let c = 0; c < D; c++) {
      let xh = e.b_dec[c]!;
      for (let j = 0; j < M; j++) xh += f[j]! * e.W_dec[j * D + c]!;
      sse += (x[r * D + c]! - xh) ** 2;
      ss += x[r * D + c]! ** 2;
    }
  }
  return { nmse: sse / ss, l0: active / N };
}

s('standard, topk and jumprelu, with and without apply_b_dec_to_input', async () => {
  const rng = new Rng(11);
  const x = rng.fillNormal(new Float32Array(N * D));
  const data = path.join(tmp, 'x.npy');
  writeNpy(data, x, N, D);
  for (const architecture of ['standard', 'topk', 'jumprelu'] as const) {
    for (const applyBDecToInput of [true, false]) {
      const e: SaeExport = {
        architecture,
        dIn: D,
        dSae: M,
        W_enc: rng.fillNormal(new Float32Array(D * M), 0, 0.5),
        W_dec: rng.fillNormal(new Float32Array(M * D), 0, 0.5),
        b_enc: rng.fillNormal(new Float32Array(M), 0, 0.1),
        b_dec: rng.fillNormal(new Float32Array(D), 0, 0.3),
        applyBDecToInput,
        normalizeActivations: 'none',
        metadata: {},
        ...(architecture === 'jumprelu' ? { threshold: rng.fillUniform(new Float32Array(M), 0.05, 0.4) } : {}),
        ...(architecture === 'topk' ? { k: K } : {}),
      };
      const dir = path.join(tmp, `${architecture}-${applyBDecToInput}`);
      writeSaelens(dir, e);
      const got = await runEval({ sae: dir, data, batchSize: 128 }, cpu);
      const want = reference(e, x);
      const what = `${architecture}, apply_b_dec_to_input=${applyBDecToInput}`;
      // f32 evaluation of an f64 reference: sums of D or M products, relative error well under 1e-5. L0 may
      // differ by one entry in total: a pre-activation within f32 rounding of 0 or of a threshold can flip.
      assert.ok(Math.abs(got.nmse - want.nmse) <= 1e-5 * want.nmse, `${what}: nmse ${got.nmse} vs ${want.nmse}`);
      assert.ok(Math.abs(got.l0 - want.l0) <= 1 / N, `${what}: L0 ${got.l0} vs ${want.l0}`);
      assert.is(got.tokens, N);
    }
  }
});

s.run();
