// Issue 20, item 1: no host round trip in a steady-state training step. `train --profile` on WebGPU records
// per step the device's host waits (readbacks) and the bytes read back (read and readLater); a step that is
// not a settle point (not the invocation's first, not a log step, not the last) has none of either. And
// when the host reads does not change the run: different --log-every / --checkpoint-every give the same bits.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensors } from '../../src/data/safetensors.js';
import { runTrain, type TrainInput } from '../../src/run/train.js';
import { cpu, webgpu } from '../helpers/backends.js';

const s = suite('train: no host wait in a steady-state step');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-host-waits-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface StepRow {
  step: number;
  readbacks: number;
  readbackBytes: number;
}

const small = (out: string, over: TrainInput = {}): TrainInput => ({
  dictSize: 256,
  k: 8,
  batchSize: 256,
  steps: 12,
  logEvery: 5,
  checkpointEvery: 0,
  evalTokens: 512,
  calibrationBatches: 2,
  // AuxK from step 3 on (deadTokens / batch = 2), so the gated AuxK path runs in the counted steps.
  deadTokens: 512,
  quiet: true,
  seed: 3,
  out,
  ...over,
});

s('train --profile on WebGPU: steps that are not settle points read nothing back (batchtopk, matryoshka, topk)', async () => {
  const be = await webgpu();
  if (!be) return;
  for (const arch of ['batchtopk', 'matryoshka', 'topk'] as const) {
    const out = path.join(tmp, `profile-${arch}`);
    await runTrain(small(out, { arch, profile: true }), be);
    const rows = (JSON.parse(fs.readFileSync(path.join(out, 'profile.json'), 'utf8')) as { perStep: StepRow[] }).perStep;
    assert.equal(rows.map((r) => r.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], arch);
    const settle = (step: number) => step === 1 || step % 5 === 0 || step === 12;
    for (const r of rows) {
      if (settle(r.step)) {
        // The counters see reads: a settle is one (the window's packed metrics).
        assert.is(r.readbacks, 1, `${arch}, step ${r.step}: the settle's one read`);
      } else {
        assert.is(r.readbacks, 0, `${arch}, step ${r.step}: host waits`);
        assert.is(r.readbackBytes, 0, `${arch}, step ${r.step}: bytes read back`);
      }
    }
  }
});

const weights = (dir: string) => readSafetensors(path.join(dir, 'sae', 'sae_weights.safetensors')).tensors;

s('when the host reads changes no bit: --log-every and --checkpoint-every give the same weights, theta and metrics at common lines', async () => {
  const gpu = await webgpu();
  const cases: [string, typeof cpu][] = [['cpu', cpu], ...(gpu ? ([['webgpu', gpu]] as [string, typeof cpu][]) : [])];
  for (const [name, be] of cases) {
    // The default architecture on the CPU; Matryoshka (its device path, the most device state) on WebGPU.
    for (const arch of name === 'cpu' ? (['batchtopk'] as const) : (['matryoshka'] as const)) {
      const runs = [
        { logEvery: 1, checkpointEvery: 0 },
        { logEvery: 6, checkpointEvery: 4 },
        { logEvery: 12, checkpointEvery: 0 },
      ].map((c, i) => ({ c, out: path.join(tmp, `bits-${name}-${arch}-${i}`) }));
      const sums = [];
      for (const { c, out } of runs) sums.push(await runTrain(small(out, { arch, dictSize: 256, k: 2, batchSize: 64, deadTokens: 128, ...c }), be));
      const [a, ...rest] = runs.map((r) => weights(r.out));
      for (const [i, b] of rest.entries()) {
        for (const key of ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold']) {
          assert.equal([...b.get(key)!.data], [...a!.get(key)!.data], `${name} ${arch}: ${key} of run ${i + 1} differs`);
        }
        assert.is(sums[i + 1]!.threshold, sums[0]!.threshold, `${name} ${arch}: theta`);
        assert.is(sums[i + 1]!.thresholdRunning, sums[0]!.thresholdRunning, `${name} ${arch}: running theta`);
      }
      // Every line's step is a log step; the 12th-step lines agree on what is a state (dead, running theta).
      const last = (out: string) => JSON.parse(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').pop()!);
      const ends = runs.map((r) => last(r.out));
      // Latents die (AuxK is live from step 3), so the run depends on everything the device keeps.
      assert.ok(ends[0].dead > 0, `${name} ${arch}: dead latents at step 12 (${ends[0].dead})`);
      for (const e of ends) {
        assert.is(e.step, 12);
        assert.is(e.dead, ends[0].dead, `${name} ${arch}: dead at step 12`);
        assert.is(e.threshold, ends[0].threshold, `${name} ${arch}: running theta at step 12`);
      }
    }
  }
});

s('AuxK on WebGPU: no launch while the last settle saw no dead latent and none can have died since', async () => {
  const be = await webgpu();
  if (!be) return;
  // 32 latents, 8 of them kept per row of 256: every latent fires every step, so none ever dies. With
  // --dead-tokens 1024 (4 steps) AuxK is possible by the step count from step 5 on; with 10^9 it never is.
  const dispatches = async (deadTokens: number) => {
    const out = path.join(tmp, `auxk-skip-${deadTokens}`);
    await runTrain(small(out, { dictSize: 32, k: 8, deadTokens, profile: true }), be);
    const rows = (JSON.parse(fs.readFileSync(path.join(out, 'profile.json'), 'utf8')) as { perStep: (StepRow & { dispatches: number })[] }).perStep;
    const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { dead?: number });
    return { dead: Math.max(...lines.map((l) => l.dead ?? 0)), steady: rows.filter((r) => [6, 7, 8, 9].includes(r.step)).map((r) => r.dispatches) };
  };
  const live = await dispatches(1024);
  const never = await dispatches(1e9);
  assert.is(live.dead, 0, 'no latent died');
  // Steps 6-9 follow the settle at step 5, which read 0 dead latents, every latent fired in step 5: none can
  // be dead before step 5 + 4. (Step 10, past that, selects again, gated on the device.)
  assert.equal(live.steady, never.steady, 'dispatches a step with AuxK possible but none dead');
});

s.run();
