// Issue 5: the train command's contracts: resume equals the uninterrupted run bit for bit, the SAELens
// export evaluates to the same metrics as the in-memory model, outputs are all there, and run-defining
// options cannot change on resume.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runEval } from '../../src/run/eval.js';
import { runTrain, type TrainInput } from '../../src/run/train.js';
import { readSafetensors } from '../../src/data/safetensors.js';
import { writeNpy } from '../../src/data/npy.js';
import { SyntheticModel } from '../../src/synth.js';
import { cpu } from '../helpers/backends.js';

const s = suite('cli: train, resume, export');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-train-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const synth = new SyntheticModel({ dIn: 16, nFeatures: 32, meanActive: 3, seed: 3 });
const dataFile = path.join(tmp, 'acts.npy');
writeNpy(dataFile, synth.rows(0, 6000), 6000, 16);

function opts(over: TrainInput): TrainInput {
  return {
    data: dataFile,
    arch: 'batchtopk',
    k: 3,
    dictSize: 32,
    batchSize: 128,
    steps: 30,
    lr: 3e-3,
    l0Coeff: 1e-3,
    l1Coeff: 1e-3,
    kAux: 16,
    auxAlpha: 1 / 32,
    deadTokens: 128 * 4,
    bandwidth: 1e-3,
    thetaInit: 1e-3,
    warmupSteps: 0,
    decayFraction: 0,
    clipGradNorm: 0,
    normalize: 'none',
    seed: 7,
    out: path.join(tmp, 'run'),
    evalFraction: 0.1,
    evalTokens: 1_000_000,
    shuffleBuffer: 1024,
    checkpointEvery: 10,
    logEvery: 5,
    quiet: true,
    ...over,
  };
}

const weights = (dir: string) => readSafetensors(path.join(dir, 'sae', 'sae_weights.safetensors')).tensors;

s('a run stopped after 13 steps and resumed equals the uninterrupted run, bit for bit', async () => {
  for (const normalize of ['none', 'scalar'] as const) {
    const full = await runTrain(opts({ out: path.join(tmp, `full-${normalize}`), normalize }), cpu);
    const part = await runTrain(opts({ out: path.join(tmp, `part-${normalize}`), normalize, stopAfter: 13 }), cpu);
    assert.is(part.finished, false);
    assert.is(part.steps, 13);
    assert.not.ok(fs.existsSync(path.join(tmp, `part-${normalize}`, 'sae')), 'no export before the run finishes');
    const resumed = await runTrain(opts({ out: path.join(tmp, `part-${normalize}`), resume: path.join(tmp, `part-${normalize}`), normalize }), cpu);
    assert.is(resumed.finished, true);
    assert.is(resumed.steps, 30);
    const [a, b] = [weights(path.join(tmp, `full-${normalize}`)), weights(path.join(tmp, `part-${normalize}`))];
    for (const name of ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold']) {
      assert.equal([...b.get(name)!.data], [...a.get(name)!.data], `${normalize}: ${name} differs after resume`);
    }
    assert.is(resumed.threshold, full.threshold);
    assert.is(resumed.nmse, full.nmse);
  }
});

s('resume refuses a changed run-defining option', async () => {
  const out = path.join(tmp, 'guard');
  await runTrain(opts({ out, stopAfter: 5 }), cpu);
  try {
    await runTrain(opts({ out, resume: out, k: 4 }), cpu);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.match((err as Error).message, /--k/);
  }
});

s('outputs: metrics.jsonl, summary.json, checkpoint, and a SAELens export that evaluates like the trained model', async () => {
  for (const [arch, normalize] of [['batchtopk', 'scalar'], ['topk', 'none'], ['jumprelu', 'layernorm'], ['relu', 'none']] as const) {
    const out = path.join(tmp, `out-${arch}`);
    const sum = await runTrain(opts({ out, arch, normalize, evalFraction: 0.2 }), cpu);
    const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.is(lines.length, 6, `${arch}: one line per 5 steps`);
    assert.is(lines[5].step, 30);
    for (const key of ['loss', 'mse', 'l0', 'dead', 'tokensPerSecond']) assert.type(lines[5][key], 'number');
    assert.ok(fs.existsSync(path.join(out, 'checkpoint.safetensors')));
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')).nmse, sum.nmse);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'sae', 'cfg.json'), 'utf8'));
    assert.is(cfg.architecture, { batchtopk: 'jumprelu', topk: 'topk', jumprelu: 'jumprelu', relu: 'standard' }[arch]);
    assert.ok(cfg.metadata.sae_lens_version >= '6.0.0');
    // The eval split is the last 20% of the file: evaluate the export on exactly those rows.
    const evalFile = path.join(tmp, `eval-${arch}.npy`);
    writeNpy(evalFile, synth.rows(4800, 1200), 1200, 16);
    const ev = await runEval({ sae: path.join(out, 'sae'), data: evalFile, batchSize: 4096 }, cpu);
    assert.is(ev.tokens, sum.evalTokens);
    // Same model, re-expressed (transposed, normalisation folded, threshold as the f32 below theta): only
    // f32 rounding of the folded weights separates the two.
    assert.ok(Math.abs(ev.nmse - sum.nmse) <= 1e-4 * sum.nmse, `${arch}: export nmse ${ev.nmse} vs trained ${sum.nmse}`);
    assert.ok(Math.abs(ev.l0 - sum.l0) <= 0.01 * Math.max(1, sum.l0), `${arch}: export L0 ${ev.l0} vs trained ${sum.l0}`);
  }
});

s.run();
