// Issue 20 item 1: what a training step waits for on WebGPU. Two measures, through the real `train` (runTrain):
//   - counters: a small `train --profile` run (d 64, m 256, k 8, batch 256, 12 steps, --log-every 5), the
//     per-step means of profile.json's perStep (dispatches, submits, readbacks = host waits, bytes), over all
//     steps and over the steps that are not settle points (not the first, not a log step, not the last);
//   - speed: tokens/s of the training steps (summary.tokensPerSecond) at one shape, e.g. 768/3072/32/4096.
// Run: `npx tsx bench/host_waits.ts counters <arch>` or `npx tsx bench/host_waits.ts speed <d> <m> <k> <batch> <steps>`.
// Prints one JSON object.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeNpy } from '../src/data/npy.js';
import { STEP_COUNTERS } from '../src/backend/profile.js';
import { createWebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { runTrain } from '../src/run/train.js';
import { SyntheticModel } from '../src/synth.js';

const [mode, ...rest] = process.argv.slice(2);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-host-waits-'));
const be = await createWebGpuBackend({});
try {
  if (mode === 'counters') {
    const arch = (rest[0] ?? 'batchtopk') as 'batchtopk' | 'topk' | 'matryoshka';
    const out = path.join(tmp, 'run');
    await runTrain({ arch, dictSize: 256, k: 8, batchSize: 256, steps: 12, logEvery: 5, checkpointEvery: 0, profile: true, quiet: true, out, seed: 1 }, be);
    const prof = JSON.parse(fs.readFileSync(path.join(out, 'profile.json'), 'utf8')) as { perStep: Record<string, number>[] };
    const mean = (rows: Record<string, number>[]) => Object.fromEntries(STEP_COUNTERS.map((k) => [k, rows.reduce((a, r) => a + r[k]!, 0) / rows.length]));
    const steady = prof.perStep.filter((r) => r['step'] !== 1 && r['step']! % 5 !== 0 && r['step'] !== 12);
    console.log(JSON.stringify({ arch, steps: prof.perStep.length, all: mean(prof.perStep), steady: mean(steady), perStep: prof.perStep }));
  } else if (mode === 'speed') {
    const [d, m, k, batch, steps] = rest.map(Number) as [number, number, number, number, number];
    const data = path.join(tmp, 'acts.npy');
    const rows = batch * (steps + 3);
    writeNpy(data, new SyntheticModel({ dIn: d, nFeatures: 2 * d, meanActive: 20, seed: 1 }).rows(0, rows), rows, d);
    const s = await runTrain(
      { data, dictSize: m, k, batchSize: batch, steps, logEvery: 50, checkpointEvery: 0, evalFraction: 0.01, evalTokens: batch, calibrationBatches: 1, quiet: true, out: path.join(tmp, 'run'), seed: 1 },
      be,
    );
    console.log(JSON.stringify({ d, m, k, batch, steps, tokensPerSecond: s.tokensPerSecond, stepSeconds: batch / s.tokensPerSecond }));
  } else throw new Error('usage: host_waits.ts counters <arch> | speed <d> <m> <k> <batch> <steps>');
} finally {
  be.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
}
