// Issue 17, item 10: a run whose loss turns NaN or infinite stops there, at the library's loop (before the
// step reaches onStep, where the CLI logs and checkpoints), with a message that names the step and the
// likely cause; and through the real command, a damaged or diverging run never overwrites the checkpoint on
// disk and exits 1 with one line that names the file.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeNpy } from '../../src/data/npy.js';
import { SyntheticModel } from '../../src/synth.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { makeTrainConfig } from '../../src/train/config.js';
import { train, TrainingDiverged } from '../../src/train/loop.js';
import type { StepMetrics } from '../../src/train/trainer.js';
import { cpu } from '../helpers/backends.js';

const s = suite('train: non-finite loss stops the run; checkpoints on disk stay good');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-diverge-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const bin = path.resolve(import.meta.dirname, '../../bin/batchtopk.js');
const env = { ...process.env, BATCHTOPK_DEBUG: '' };

s('train(): the first step with a non-finite loss throws TrainingDiverged naming it; onStep never sees it', async () => {
  const synth = new SyntheticModel({ dIn: 8, nFeatures: 16, meanActive: 2, seed: 4 });
  for (const arch of ['batchtopk', 'topk', 'jumprelu', 'relu'] as const) {
    for (const bad of [NaN, Infinity]) {
      let calls = 0;
      // Batches 0 (the init batch) to 3 are clean; the 5th (step 4) holds one bad value.
      const source = { nextBatch: (out: Float32Array) => (out.set(synth.rows(calls * 32, 32)), calls++ === 4 && (out[5] = bad)) };
      const cfg = makeTrainConfig({ batchSize: 32, steps: 10, seed: 1, adam: { lr: 1e-3 }, sae: { arch, dIn: 8, dSae: 16, k: 2 } });
      const seen: StepMetrics[] = [];
      let err: unknown = null;
      try {
        await train(cpu, cfg, source, { onStep: (m) => void seen.push(m) });
      } catch (e) {
        err = e;
      }
      const what = `${arch}, ${bad}`;
      assert.ok(err instanceof TrainingDiverged, `${what}: ${err}`);
      assert.is((err as TrainingDiverged).step, 4, what);
      assert.match((err as Error).message, /^training diverged at step 4: the loss is (NaN|Infinity) .*--lr 0\.001.*last checkpoint written before it/, what);
      assert.equal(seen.map((m) => m.step), [1, 2, 3], `${what}: onStep saw only the finite steps`);
      assert.ok(seen.every((m) => Number.isFinite(m.loss)), what);
    }
  }
});

const data = path.join(tmp, 'acts.npy');
writeNpy(data, new SyntheticModel({ dIn: 12, nFeatures: 24, meanActive: 3, seed: 5 }).rows(0, 3000), 3000, 12);
const base = ['train', '--data', data, '--backend', 'cpu', '--batch-size', '64', '--k', '3', '--dict-size', '24', '--log-every', '5', '--checkpoint-every', '5'];
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...base, ...args], { env, encoding: 'utf8' });

s('train --resume from a checkpoint with flipped bytes in W_enc: exit 1, names the file, nothing overwritten', () => {
  const dir = path.join(tmp, 'flipped');
  const first = run(['--steps', '10', '--stop-after', '5', '--out', dir]);
  assert.is(first.status, 0, first.stderr);
  const ck = path.join(dir, 'checkpoint.safetensors');
  const b = fs.readFileSync(ck);
  const headerLen = Number(b.readBigUInt64LE(0));
  const [begin] = JSON.parse(b.subarray(8, 8 + headerLen).toString('utf8'))['param.W_enc'].data_offsets as [number, number];
  for (let i = 0; i < 8; i++) b[8 + headerLen + begin + 40 + i]! ^= 0x10;
  fs.writeFileSync(ck, b);
  const metrics = fs.readFileSync(path.join(dir, 'metrics.jsonl'));
  const r = run(['--steps', '10', '--resume', dir, '--out', dir]);
  assert.is(r.status, 1, r.stderr);
  assert.is(r.stderr.trim().split('\n').pop(), `batchtopk: ${ck}: checkpoint is damaged (its contents do not match the checksum written with it); it cannot be resumed: remove it (or the whole run folder) and start the run over`);
  assert.ok(fs.readFileSync(ck).equals(b), 'the checkpoint is left as it was');
  assert.ok(fs.readFileSync(path.join(dir, 'metrics.jsonl')).equals(metrics), 'metrics.jsonl is left as it was');
});

s('a resumed run whose loss turns infinite stops with the step and the cause; the checkpoint stays the last good one', () => {
  const dir = path.join(tmp, 'diverged');
  const first = run(['--steps', '20', '--stop-after', '5', '--out', dir]);
  assert.is(first.status, 0, first.stderr);
  const ck = path.join(dir, 'checkpoint.safetensors');
  // A finite state whose next loss overflows float32: encoder weights of 1e30 (a valid checkpoint).
  const good = loadCheckpoint(ck);
  good.trainer.params.W_enc.fill(1e30);
  saveCheckpoint(ck, good);
  const before = fs.readFileSync(ck);
  const r = run(['--steps', '20', '--resume', dir, '--out', dir]);
  assert.is(r.status, 1, r.stderr);
  const last = r.stderr.trim().split('\n').pop()!;
  assert.match(last, /^batchtopk: training diverged at step 6: the loss is (Infinity|NaN) .*likely the learning rate is too high \(--lr 0\.0003: lower it/);
  assert.ok(fs.readFileSync(ck).equals(before), 'the checkpoint of step 5 is kept, byte for byte');
  assert.is(loadCheckpoint(ck).trainer.step, 5);
  assert.not.ok(fs.existsSync(path.join(dir, 'summary.json')) && JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).finished, 'no finished summary');
});

s.run();
