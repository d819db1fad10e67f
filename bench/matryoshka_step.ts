// Matryoshka BatchTopK's training step against plain BatchTopK's at one shape on the fast CPU backend
// (Trainer.trainStep as `train` runs it, random-normal input), side by side in one process: both trainers
// live at once and their timed steps alternate (A B A B ...), so load on the machine hits both alike. Prints
// each arch's median ms/step, the ratio, and a per-primitive profile of one Matryoshka step.
// Run: `npx tsx bench/matryoshka_step.ts <d> <m> <k> <batch> <widths, e.g. 3072,6144,12288,24576> [rounds]`.
import { FastCpuBackend } from '../src/backend/cpu_fast.js';
import { ProfileBackend, formatProfile } from '../src/backend/profile.js';
import { makeTrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/rng.js';

const [d = '768', m = '24576', k = '32', b = '4096', w = '3072,6144,12288,24576', r = '3'] = process.argv.slice(2);
const [D, M, K, B, R] = [d, m, k, b, r].map(Number) as [number, number, number, number, number];
const widths = w.split(',').map(Number);
const be = new ProfileBackend(new FastCpuBackend());
const x = new Rng(0).fillNormal(new Float32Array(B * D));
const make = (arch: 'batchtopk' | 'matryoshka') =>
  Trainer.create(
    be,
    makeTrainConfig({
      sae: { arch, dIn: D, dSae: M, k: K, ...(arch === 'matryoshka' ? { matryoshkaWidths: widths } : {}) },
      batchSize: B,
      steps: 1_000_000,
      seed: 0,
    }),
    x,
  );
const trainers = { batchtopk: await make('batchtopk'), matryoshka: await make('matryoshka') };
const times: Record<string, number[]> = { batchtopk: [], matryoshka: [] };
for (const t of Object.values(trainers)) await t.trainStep(x); // warm-up
for (let i = 0; i < R; i++) {
  for (const [arch, t] of Object.entries(trainers)) {
    const t0 = performance.now();
    await t.trainStep(x);
    times[arch]!.push(performance.now() - t0);
  }
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
const [mb, mm] = [median(times.batchtopk!), median(times.matryoshka!)];
console.log(`shape d ${D}, m ${M}, k ${K}, batch ${B}; matryoshka widths ${widths.join(',')}; ${R} alternating rounds`);
for (const [arch, a] of Object.entries(times)) console.log(`${arch.padEnd(10)} ms/step ${a.map((v) => v.toFixed(0)).join(' ')}  median ${median(a).toFixed(0)}`);
console.log(`matryoshka / batchtopk: ${(mm / mb).toFixed(3)}x`);
await be.start();
be.enabled = true;
await trainers.matryoshka.trainStep(x);
console.log(formatProfile(await be.stop(), 1));
for (const t of Object.values(trainers)) t.dispose();
be.dispose();
