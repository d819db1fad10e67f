// Issue 8, items 1-3 at the command level: the saved theta is the calibration of the final weights over the
// training batches that follow the last step (and consumes none of them); metrics.jsonl shows the batch cuts
// beside the running estimate; `eval` reports theta and batch-top-k metrics together; `calibrate` re-estimates
// theta on other data and rewrites the folder atomically, refusing what it cannot calibrate.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCalibrate } from '../../src/run/calibrate.js';
import { runEval } from '../../src/run/eval.js';
import { runTrain, type TrainInput } from '../../src/run/train.js';
import { BatchLoader, type LoaderState } from '../../src/data/loader.js';
import { writeNpy } from '../../src/data/npy.js';
import { readSafetensors } from '../../src/data/safetensors.js';
import { openSource } from '../../src/data/source.js';
import { readSae } from '../../src/io/saelens.js';
import { prevFloat32 } from '../../src/sae/export.js';
import { paramList, uploadParams } from '../../src/sae/params.js';
import { makeSaeConfig } from '../../src/sae/config.js';
import { calibrateThreshold } from '../../src/sae/threshold.js';
import { SyntheticModel } from '../../src/synth.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { cpu } from '../helpers/backends.js';

const s = suite('cli: theta calibration, eval with both encoders, calibrate');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-calibrate-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const D = 16;
const synth = new SyntheticModel({ dIn: D, nFeatures: 32, meanActive: 3, seed: 5 });
const dataFile = path.join(tmp, 'acts.npy');
writeNpy(dataFile, synth.rows(0, 6000), 6000, D);
// Other data for calibrate: the same features at 1.6x the scale, so the old theta keeps far more than k.
const otherFile = path.join(tmp, 'other.npy');
writeNpy(otherFile, synth.rows(100_000, 4000).map((v) => 1.6 * v), 4000, D);

function opts(over: TrainInput): TrainInput {
  return {
    data: dataFile, arch: 'batchtopk', k: 3, dictSize: 32, batchSize: 128, steps: 60, lr: 3e-3, l0Coeff: 1e-3, l1Coeff: 1e-3,
    kAux: 16, auxAlpha: 1 / 32, deadTokens: 128 * 4, bandwidth: 1e-3, thetaInit: 1e-3, warmupSteps: 0, decayFraction: 0,
    clipGradNorm: 0, normalize: 'scalar', seed: 3, out: path.join(tmp, 'run'), evalFraction: 0.1, evalTokens: 1_000_000,
    shuffleBuffer: 1024, checkpointEvery: 0, logEvery: 20, quiet: true, calibrationBatches: 6, ...over,
  };
}

const trained = path.join(tmp, 'trained');
const sumP = runTrain(opts({ out: trained }), cpu);

s('the saved theta: N training batches after the last step, final weights; in summary, checkpoint and export', async () => {
  const sum = await sumP;
  const ck = loadCheckpoint(path.join(trained, 'checkpoint.safetensors'));
  // Recompute independently: the checkpoint's weights, a loader at the checkpoint's position, 6 batches.
  const source = openSource(dataFile);
  const loader = new BatchLoader({ source, batchSize: 128, seed: 3, evalFraction: 0.1, shuffleBufferRows: 1024 });
  loader.restore(ck.extra['loader'] as LoaderState);
  const p = uploadParams(cpu, makeSaeConfig({ dIn: D, dSae: 32, k: 3 }), ck.trainer.params);
  const buf = new Float32Array(128 * D);
  const c = await calibrateThreshold(cpu, { params: p, k: 3, normalize: 'scalar', normScale: ck.trainer.normScale, dIn: D }, Array.from({ length: 6 }, () => (loader.nextBatch(buf), buf.slice())));
  for (const t of paramList(p)) t.free();
  source.close();
  assert.is(sum.threshold, c.theta);
  assert.is(sum.calibrationBatches, 6);
  assert.is(ck.trainer.threshold.calibrated, c.theta);
  assert.is(ck.trainer.threshold.calibratedAtStep, 60);
  const exp = readSae(path.join(trained, 'sae'));
  assert.is((exp.metadata['batchtopk'] as { theta: number }).theta, c.theta);
  assert.ok(exp.threshold!.every((v) => v === prevFloat32(c.theta)));
  assert.type(sum.thresholdRunning, 'number');
  assert.ok(sum.batchTopK && Math.abs(sum.batchTopK.l0 - 3) < 1e-9, 'batch top-k keeps k per sample on average');
  // metrics.jsonl: the interval's batch cuts beside the running estimate.
  const lines = fs.readFileSync(path.join(trained, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  for (const l of lines) {
    assert.type(l.thetaBatchMin, 'number');
    assert.ok(l.thetaBatchMin > 0 && l.thetaBatchMin <= l.thetaBatchMean, JSON.stringify(l));
    assert.type(l.threshold, 'number');
  }
});

s('calibration consumes no training row: 40 steps, then resumed to 60, equals 60 steps bit for bit', async () => {
  await sumP;
  const out = path.join(tmp, 'short');
  const short = await runTrain(opts({ out, steps: 40 }), cpu);
  assert.ok(short.finished && short.threshold! > 0);
  const long = await runTrain(opts({ out, resume: out, steps: 60 }), cpu);
  assert.is(long.steps, 60);
  const w = (dir: string) => readSafetensors(path.join(dir, 'sae', 'sae_weights.safetensors')).tensors;
  const [a, b] = [w(trained), w(out)];
  for (const name of ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold']) assert.equal([...b.get(name)!.data], [...a.get(name)!.data], name);
  assert.is(long.threshold, (await sumP).threshold);
});

s('eval of a BatchTopK SAE: inference under theta and batch top-k, one command', async () => {
  await sumP;
  const ev = await runEval({ sae: path.join(trained, 'sae'), data: dataFile, batchSize: 100, maxRows: 1000 }, cpu);
  assert.ok(ev.batchTopK, 'batch-top-k metrics present');
  assert.is(ev.batchTopK.k, 3);
  assert.is(ev.batchTopK.batchSize, 100);
  assert.is(ev.batchTopK.tokens, 1000);
  assert.ok(Math.abs(ev.batchTopK.l0 - 3) < 1e-9, `batch top-k L0 ${ev.batchTopK.l0}`);
  assert.ok(ev.threshold! > 0 && ev.nmse > 0 && ev.batchTopK.nmse > 0);
  const topk = await runTrain(opts({ out: path.join(tmp, 'topk'), arch: 'topk', steps: 5 }), cpu);
  assert.is(topk.threshold, null);
  assert.is((await runEval({ sae: path.join(tmp, 'topk', 'sae'), data: dataFile, batchSize: 100, maxRows: 200 }, cpu)).batchTopK, null);
});

s('calibrate: new data, new theta, L0 back near k, folder rewritten atomically with everything else kept', async () => {
  await sumP;
  const dir = path.join(tmp, 'copy');
  fs.cpSync(path.join(trained, 'sae'), dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'kept');
  const before = readSae(dir);
  const evOld = await runEval({ sae: dir, data: otherFile, batchSize: 4096 }, cpu);
  assert.ok(evOld.l0 > 3 * 1.2, `precondition: the old theta keeps too many on scaled data (L0 ${evOld.l0})`);
  const r = await runCalibrate({ sae: dir, data: otherFile, batches: 20, seed: 0 }, cpu);
  assert.is(r.batchSize, 128, "the SAE's training batch size by default");
  assert.is(r.previousTheta, before.metadata['batchtopk'] && (before.metadata['batchtopk'] as { theta: number }).theta);
  assert.ok(r.theta > r.previousTheta, `${r.theta} vs ${r.previousTheta}`);
  const after = readSae(dir);
  assert.is((after.metadata['batchtopk'] as { theta: number }).theta, r.theta);
  assert.ok(after.threshold!.every((v) => v === prevFloat32(r.theta)));
  for (const n of ['W_enc', 'W_dec', 'b_enc', 'b_dec'] as const) assert.equal([...after[n]], [...before[n]], n);
  assert.is(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'kept');
  assert.equal(fs.readdirSync(tmp).filter((n) => n.startsWith('.copy')), [], 'no temporary folder left');
  const evNew = await runEval({ sae: dir, data: otherFile, batchSize: 4096 }, cpu);
  assert.ok(Math.abs(evNew.l0 - 3) <= 0.05 * 3, `L0 after calibrate ${evNew.l0}`);
  // Deterministic: the same call again gives the same bits.
  assert.is((await runCalibrate({ sae: dir, data: otherFile, batches: 20, seed: 0, dryRun: true }, cpu)).theta, r.theta);
});

s('calibrate refuses: a missing folder, a non-BatchTopK SAE, data of the wrong width, fewer rows than a batch', async () => {
  await sumP;
  const fails = async (o: Parameters<typeof runCalibrate>[0], re: RegExp) => {
    try {
      await runCalibrate(o, cpu);
      assert.unreachable(`should refuse: ${JSON.stringify(o)}`);
    } catch (err) {
      assert.match((err as Error).message, re);
    }
  };
  const wide = path.join(tmp, 'wide.npy');
  writeNpy(wide, new Float32Array(300 * 8), 300, 8);
  await fails({ sae: path.join(tmp, 'nowhere'), data: dataFile, seed: 0 }, /nowhere: no such SAE folder/);
  await fails({ sae: path.join(tmp, 'topk', 'sae'), data: dataFile, seed: 0 }, /not a BatchTopK SAE \(architecture 'topk'/);
  await fails({ sae: path.join(trained, 'sae'), data: wide, seed: 0 }, /d=8 but the SAE .* expects d_in=16/);
  await fails({ sae: path.join(trained, 'sae'), data: dataFile, batchSize: 10_000, seed: 0 }, /fewer than one batch of 10000/);
});

s.run();
