// Per-primitive profile of the BatchTopK training step (Trainer.trainStep, as `train` runs it) at one shape on
// the fast CPU backend, on random-normal input, after one untimed warm-up step; prints the profile table and
// the wall ms/step. For a quick look at where a step goes without a data file (`train --profile` needs one).
// Run: `npx tsx bench/profile_step.ts <d> <m> <k> <batch> [steps]`.
import { FastCpuBackend } from '../src/backend/cpu_fast.js';
import { ProfileBackend, formatProfile } from '../src/backend/profile.js';
import { makeTrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/rng.js';
const [d = '768', m = '3072', k = '32', b = '4096', s = '2'] = process.argv.slice(2);
const [D, M, K, B, S] = [d, m, k, b, s].map(Number) as [number, number, number, number, number];
const be = new ProfileBackend(new FastCpuBackend());
const cfg = makeTrainConfig({ sae: { arch: 'batchtopk', dIn: D, dSae: M, k: K }, batchSize: B, steps: 1_000_000, seed: 0 });
const x = new Rng(0).fillNormal(new Float32Array(B * D));
const t = await Trainer.create(be, cfg, x);
await t.trainStep(x);
await be.start(); be.enabled = true;
const t0 = performance.now();
for (let i = 0; i < S; i++) await t.trainStep(x);
const wall = performance.now() - t0;
const rep = await be.stop();
console.log(formatProfile(rep, S));
console.log('ms/step', wall / S, 'tok/s', (B * S * 1000) / wall);
t.dispose(); be.dispose();
