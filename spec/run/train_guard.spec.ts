// Issue 17, items 5, 6, 9 and 15 (run level): a run never writes over another run without being told
// (--resume continues it, --overwrite replaces it whole); a resume refuses input files that changed since
// the run began, and takes one file under two spellings for one; data with nothing to learn (all zero) and
// a diverging learning rate end in a kept run whose summary says what is wrong; a torn metrics.jsonl line
// does not block a resume; the batch-by-batch theta calibration equals Trainer.calibrate to the bit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchLoader, type LoaderState } from '../../src/data/loader.js';
import { writeNpy } from '../../src/data/npy.js';
import { openSource } from '../../src/data/source.js';
import { buildConfig, runTrain, type TrainInput, type TrainOptions } from '../../src/run/train.js';
import { SyntheticModel } from '../../src/synth.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { Trainer } from '../../src/train/trainer.js';
import { resolveTrainOptions } from '../../src/run/train_options.js';
import { Progress } from '../../src/run/progress.js';
import { cpu } from '../helpers/backends.js';
import { tempDir } from '../data/fixtures.js';

const s = suite('run/train guard: folders, inputs, data, divergence');
const tmp = tempDir('guard');
s.after(() => tmp.cleanup());

const rows = new SyntheticModel({ dIn: 8, nFeatures: 16, meanActive: 2, seed: 4 }).rows(0, 3000);
const data = tmp.path('acts.npy');
writeNpy(data, rows, 3000, 8);
const base = (over: TrainInput): TrainInput => ({ data, arch: 'batchtopk', k: 2, dictSize: 16, batchSize: 64, steps: 12, lr: 3e-3, seed: 1, checkpointEvery: 4, logEvery: 2, quiet: true, ...over });
const read = (f: string) => fs.readFileSync(f);
const files = (dir: string) => fs.readdirSync(dir).sort();

async function fails(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  assert.unreachable('should have been refused');
  return '';
}

s('a folder holding a run is refused, untouched; --overwrite replaces it whole; --resume with --overwrite is refused', async () => {
  const out = tmp.path('held');
  await runTrain(base({ out }), cpu);
  fs.writeFileSync(path.join(out, 'ce.json'), '{"ceClean": 1}'); // a sweep's file beside the run
  fs.writeFileSync(path.join(out, 'notes.txt'), 'mine'); // the user's own file
  const before = new Map(files(out).filter((n) => !fs.statSync(path.join(out, n)).isDirectory()).map((n) => [n, read(path.join(out, n))]));
  const msg = await fails(runTrain(base({ out, seed: 2 }), cpu));
  assert.is(msg, `${out} holds a run (checkpoint.safetensors, summary.json, sae, metrics.jsonl): continue it with --resume ${out}, or replace it with --overwrite (or choose another --out)`);
  for (const [n, b] of before) assert.ok(read(path.join(out, n)).equals(b), `${n} untouched by the refused run`);
  assert.match(await fails(runTrain(base({ out, resume: out, overwrite: true }), cpu)), /give --resume .* or --overwrite .*, not both/);
  const sum = await runTrain(base({ out, seed: 2, steps: 6, overwrite: true }), cpu);
  assert.is(sum.steps, 6);
  assert.not.ok(fs.existsSync(path.join(out, 'ce.json')), "the old run's files are gone");
  assert.is(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'mine', 'files that are not the run stay');
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')).steps, 6);
  const metrics = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.equal(metrics, [2, 4, 6], 'metrics.jsonl holds the new run only');
  assert.ok(files(out).every((n) => !n.startsWith('.')), `no hidden leftovers: ${files(out)}`);
});

s('a resume refuses --data rewritten since the run began (same size), naming it; another spelling of the same file is the same input', async () => {
  const dir = tmp.path('in');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'acts.npy');
  writeNpy(file, rows, 3000, 8);
  const out = tmp.path('fp');
  await runTrain(base({ data: file, out, stopAfter: 4 }), cpu);
  // Another spelling, given explicitly: not a changed --data.
  const spelled = `${dir}/../in/./acts.npy`; // not path.join: it would normalise the spelling away
  const cont = await runTrain(base({ data: spelled, out, resume: out, stopAfter: 2 }), cpu);
  assert.is(cont.steps, 6);
  const changed = rows.slice();
  changed[5000] = changed[5000]! + 1; // one value of row 625
  writeNpy(file, changed, 3000, 8);
  const msg = await fails(runTrain(base({ data: file, out, resume: out }), cpu));
  assert.match(msg, new RegExp(`^${fs.realpathSync(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(--data\\) is not the file the work began with: its content changed`));
  assert.match(msg, /put it back to continue, or start a new run on the new data \(another --out, or --overwrite\)/);
  writeNpy(file, rows, 3000, 8); // put back: the resume goes on
  assert.is((await runTrain(base({ data: file, out, resume: out }), cpu)).steps, 12);
});

s('all-zero data: warned before training, the run is kept and its summary says what is wrong (no threshold crash)', async () => {
  const zeros = tmp.path('zeros.npy');
  writeNpy(zeros, new Float32Array(3000 * 8), 3000, 8);
  const out = tmp.path('zeros');
  const sum = await runTrain(base({ data: zeros, out }), cpu);
  assert.is(sum.threshold, null);
  assert.ok(sum.warnings && sum.warnings.length >= 2, JSON.stringify(sum.warnings));
  assert.match(sum.warnings![0]!, /zeros\.npy .*: the first 3000 rows are all zero/);
  assert.match(sum.warnings![1]!, /theta could not be calibrated: .*the data look wrong/);
  assert.ok(fs.existsSync(path.join(out, 'summary.json')) && fs.existsSync(path.join(out, 'checkpoint.safetensors')));
  assert.not.ok(fs.existsSync(path.join(out, 'sae')), 'no export without a theta');
});

s('a learning rate that makes the run diverge stops it naming --lr, and no non-finite state is saved', async () => {
  // --lr 1e6: Adam's moments overflow within a few steps; the checkpoint of that state is refused (the loss may
  // still be finite), so the error names the flag and the folder never holds a state that cannot be resumed.
  const out = tmp.path('lr');
  try {
    await runTrain(base({ out, lr: 1e6, checkpointEvery: 2 }), cpu);
    assert.unreachable('a diverging run must stop');
  } catch (err) {
    assert.match((err as Error).message, /not finite|diverged/);
    assert.match((err as Error).message, /--lr/);
  }
  assert.not.ok(fs.existsSync(path.join(out, 'summary.json')) && JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')).finished, 'no finished run');
});

s('a torn last line of metrics.jsonl (a kill mid-append) does not block the resume', async () => {
  const out = tmp.path('torn');
  await runTrain(base({ out, stopAfter: 4 }), cpu);
  fs.appendFileSync(path.join(out, 'metrics.jsonl'), '{"step": 5, "tok');
  const sum = await runTrain(base({ out, resume: out }), cpu);
  assert.is(sum.steps, 12);
  const steps = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.equal(steps, [2, 4, 6, 8, 10, 12]);
});

s('an --out that cannot be written is named with the reason, not an ENOENT from mkdir', async () => {
  fs.writeFileSync(tmp.path('afile'), '');
  const msg = await fails(runTrain(base({ out: tmp.path('afile/run') }), cpu));
  assert.is(msg, `${tmp.path('afile/run')} (--out) cannot be written: a parent of it is a file, not a folder (ENOTDIR); choose a writable folder`);
});

s('end-of-run work shows progress: calibration, evaluation and export each say when they start', async () => {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    await runTrain(base({ out: tmp.path('progress'), quiet: false, calibrationBatches: 5 }), cpu);
  } finally {
    process.stderr.write = write;
  }
  const text = lines.join('');
  const order = ['calibrating theta on 5 training batches', 'theta ', 'evaluating on 150 held-out rows', 'exporting the SAELens folder', 'saved SAELens folder'].map((l) => text.indexOf(l));
  assert.ok(order.every((i, j) => i >= 0 && (j === 0 || i > order[j - 1]!)), `phases announced in order:\n${text}`);
  // Between those lines, progress as for the steps: plain lines off a terminal, a redrawn bar on one.
  for (const isTTY of [false, true]) {
    const out: string[] = [];
    const p = new Progress({ isTTY, write: (t: string) => (out.push(t), true) } as unknown as NodeJS.WriteStream, 0);
    p.phase('calibrating theta', 3, 12, 'batches', true);
    assert.is(out[0], isTTY ? '\rcalibrating theta [######..................] 3/12 batches (25%)\x1b[K' : 'calibrating theta: 3/12 batches (25%)\n');
  }
});

s('the batch-by-batch calibration gives Trainer.calibrate theta to the bit', async () => {
  const out = tmp.path('cal');
  const given = base({ out, calibrationBatches: 7, normalize: 'scalar' });
  const sum = await runTrain(given, cpu);
  // The checkpoint holds the weights and the loader position the calibration started from.
  const ck = loadCheckpoint(path.join(out, 'checkpoint.safetensors'));
  const o = resolveTrainOptions(given) as TrainOptions;
  const source = openSource(data);
  const loader = new BatchLoader({ source, batchSize: o.batchSize, seed: o.seed, evalFraction: o.evalFraction, shuffleBufferRows: Math.max(o.shuffleBuffer, o.batchSize) });
  loader.restore(ck.extra['loader'] as LoaderState);
  const cfg = buildConfig(o, 8, loader.trainRows);
  const trainer = Trainer.restore(cpu, cfg, ck.trainer);
  const c = await trainer.calibrate(
    (function* () {
      for (let i = 0; i < 7; i++) {
        const b = new Float32Array(64 * 8);
        loader.nextBatch(b);
        yield b;
      }
    })(),
  );
  trainer.dispose();
  source.close();
  assert.ok(c.theta > 0);
  assert.is(sum.threshold, c.theta);
});

s.run();
