// The training step once latents die (AuxK active): d 768, m 3072, k 32, batch 4096 on cpu-fast, on rank-16
// data (normal coefficients over 16 fixed random directions), where latents die fast, with deadTokens 4096
// (one batch). Prints ms/step, the dead count and the AuxK loss per step. The AuxK selection keeps
// min(kAux = 512, dead) latents per row, so its sparse products grow to B*512 entries once 512 latents are dead.
// Run: `npx tsx bench/auxk_step.ts`.
import { FastCpuBackend } from '../src/backend/cpu_fast.js';
import { makeTrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/rng.js';
const [D, M, K, B] = [768, 3072, 32, 4096];
const rng = new Rng(0);
const R = 16;
const U = rng.fillNormal(new Float32Array(R * D));
const batch = () => { const z = rng.fillNormal(new Float32Array(B * R)); const x = new Float32Array(B * D); for (let b = 0; b < B; b++) for (let r = 0; r < R; r++) { const zv = z[b * R + r]!; for (let d = 0; d < D; d++) x[b * D + d]! += zv * U[r * D + d]!; } return x; };
const be = new FastCpuBackend();
const cfg = makeTrainConfig({ sae: { arch: 'batchtopk', dIn: D, dSae: M, k: K, deadTokens: 4096 }, batchSize: B, steps: 1000, seed: 0 });
const xs = Array.from({ length: 4 }, batch);
const t = await Trainer.create(be, cfg, xs[0]!);
for (let i = 0; i < 10; i++) { const t0 = performance.now(); const m = await t.trainStep(xs[i % 4]!); console.log(`step ${i}: ${(performance.now() - t0).toFixed(0)} ms, dead ${m.dead}, aux ${m.aux.toFixed(4)}`); }
t.dispose(); be.dispose();
