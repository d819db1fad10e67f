// Issue 8 on real activations (stories260K, residual stream after block 1, d = 64): train BatchTopK with the
// paper's lr 3e-4 for 1500 steps on a prefix of the rows, through the train command (loader, end-of-training
// calibration), then on held-out rows (the last stories): L0 under the saved theta is within 5% of k,
// and nmse under theta is at most 1.03x the batch-top-k nmse of the same weights, for k in {8, 16, 32}.
// BOS rows (position 0) are left out: the BOS vector is identical in every story and an outlier (README of
// the data), a constant that says nothing about the threshold. On cpu-fast (checked against the reference by
// the backend specs; the reference took 4x longer here). Sizes are cut for a 2-core CPU (batch 128,
// m 192, 48k training rows), never the bounds.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runTrain, type TrainInput } from '../../src/run/train.js';
import { writeNpy } from '../../src/data/npy.js';
import { readMatrix } from '../../src/data/source.js';
import { cpuFast } from '../helpers/backends.js';

const s = suite('sae: the BatchTopK threshold on real activations');
const DATA = path.resolve(import.meta.dirname, '../../../shared/data/stories260K');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-theta-real-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TRAIN_ROWS = 49_152;
const EVAL_ROWS = 16_384; // the last quarter of the file written below: exactly the loader's eval split

/** A uint16 .npy vector (the positions file; our reader handles float matrices only). */
function readU16(file: string): Uint16Array {
  const b = fs.readFileSync(file);
  const headerLen = b.readUInt16LE(8);
  const start = 10 + headerLen;
  return new Uint16Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
}

/** Non-BOS rows: the first TRAIN_ROWS, then the last EVAL_ROWS, as one f16 file. */
function prepare(): string {
  const acts = readMatrix(path.join(DATA, 'resid2_f16.npy'));
  const pos = readU16(path.join(DATA, 'positions_u16.npy'));
  assert.is(pos.length, acts.rows);
  const d = acts.cols;
  const rows: number[] = [];
  for (let r = 0; r < acts.rows; r++) if (pos[r] !== 0) rows.push(r);
  const pick = [...rows.slice(0, TRAIN_ROWS), ...rows.slice(rows.length - EVAL_ROWS)];
  const out = new Float32Array(pick.length * d);
  pick.forEach((r, i) => out.set(acts.data.subarray(r * d, (r + 1) * d), i * d));
  const file = path.join(tmp, 'resid2-nobos.npy');
  writeNpy(file, out, pick.length, d, 'f16'); // f16 in, f16 out: the values are the file's own
  return file;
}

s('held-out L0 under theta within 5% of k; nmse under theta <= 1.03x batch top-k (k = 8, 16, 32)', async () => {
  const data = prepare();
  const results: string[] = [];
  for (const k of [8, 16, 32]) {
    const out = path.join(tmp, `k${k}`);
    const o: TrainInput = {
      data, arch: 'batchtopk', k, dictSize: 192, batchSize: 128, steps: 1500, lr: 3e-4,
      l0Coeff: 0, l1Coeff: 0, kAux: 512, auxAlpha: 1 / 32, deadTokens: 5 * 128, bandwidth: 1e-3, thetaInit: 1e-3,
      warmupSteps: 0, decayFraction: 0, clipGradNorm: 0, normalize: 'none', seed: 1, out,
      evalFraction: 0.25, evalTokens: 1_000_000, shuffleBuffer: 65_536, checkpointEvery: 0, logEvery: 100, quiet: true,
    };
    const sum = await runTrain(o, cpuFast());
    assert.is(sum.evalTokens, EVAL_ROWS);
    const btk = sum.batchTopK!;
    results.push(`k=${k}: theta ${sum.threshold!.toFixed(4)} (running ${sum.thresholdRunning!.toFixed(4)}) L0 ${sum.l0.toFixed(2)} nmse ${sum.nmse.toFixed(4)} vs batch top-k ${btk.nmse.toFixed(4)} (L0 ${btk.l0.toFixed(2)})`);
    assert.ok(Math.abs(sum.l0 - k) <= 0.05 * k, `k=${k}: held-out L0 under theta ${sum.l0}`);
    assert.ok(sum.nmse <= 1.03 * btk.nmse, `k=${k}: nmse under theta ${sum.nmse} vs batch top-k ${btk.nmse}`);
  }
  if (process.env.BATCHTOPK_VERBOSE) console.log('\n' + results.join('\n'));
});

s.run();
