// Matryoshka BatchTopK, ours against the dictionary_learning recipe in PyTorch (bench/peer/matryoshka.py), side
// by side at equal steps on the same rows: the stories260K activations (non-BOS rows, training rows shuffled
// once, the last 16,384 held out; as spec/sae/matryoshka_real.spec.ts) or the synthetic set (src/synth.ts,
// d 64, 512 true features, mean 8 active; 200k training rows, 16,384 held out). Same m, k, widths, weights,
// batch, steps, lr, seed; each side its own init and recipe details. Held-out nmse under each side's threshold.
// Run: `npx tsx bench/peer/matryoshka_compare.ts real|synth [steps] [weights, e.g. 1,1,1,3; default ours, w_i / m, given to both sides]`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FastCpuBackend } from '../../src/backend/cpu_fast.js';
import { writeNpy } from '../../src/data/npy.js';
import { evaluate } from '../../src/eval.js';
import { prefixWeights } from '../../src/sae/matryoshka.js';
import { makeTrainConfig } from '../../src/train/config.js';
import { train } from '../../src/train/loop.js';
import { realRows, synthRows } from '../../spec/sae/matryoshka_data.js';
import { PYTHON, torchEnv } from './torch_env.js';

const [which = 'real', stepsArg = '800', weightsArg = ''] = process.argv.slice(2);
const STEPS = Number(stepsArg);
const WEIGHTS = weightsArg ? weightsArg.split(',').map(Number) : [];
const M = 1024, K = 16, B = 256, LR = 1e-3, SEED = 1;
const WIDTHS = [128, 256, 512, M];
const dir = '/tmp/matryoshka-peer';
fs.mkdirSync(dir, { recursive: true });

const data = which === 'synth' ? synthRows() : realRows();
const { d } = data;
const n = data.train.length / d;
const trainFile = path.join(dir, `${which}-train.npy`);
const evalFile = path.join(dir, `${which}-eval.npy`);
writeNpy(trainFile, data.train, n, d, 'f32');
writeNpy(evalFile, data.held, data.held.length / d, d, 'f32');

// Ours.
const be = new FastCpuBackend();
const cfg = makeTrainConfig({
  batchSize: B,
  steps: STEPS,
  adam: { lr: LR },
  seed: SEED,
  sae: { arch: 'matryoshka', dIn: d, dSae: M, k: K, kAux: 512, deadTokens: 5 * B, matryoshkaWidths: WIDTHS, matryoshkaWeights: WEIGHTS },
});
let next = 0;
const batch = () => {
  const start = ((next++ * B) % (n - B)) * d;
  return data.train.subarray(start, start + B * d);
};
const t0 = performance.now();
const t = await train(be, cfg, { nextBatch: (out: Float32Array) => out.set(batch()) });
const { theta } = await t.calibrate(Array.from({ length: 32 }, batch));
const ours = await evaluate(be, { params: t.params, cfg: cfg.sae, theta, normalize: 'none', normScale: 1 }, [data.held]);
const oursS = (performance.now() - t0) / 1000;
t.dispose();
be.dispose();

// The peer: same rows in the same order (batch i = rows [(i*B) mod (n-B), +B)), same hyper-parameters.
const t1 = performance.now();
const r = spawnSync(
  PYTHON,
  ['bench/peer/matryoshka.py', '--train', trainFile, '--eval', evalFile, '--m', String(M), '--k', String(K), '--widths', WIDTHS.join(','),
    '--weights', prefixWeights(cfg.sae).join(','), '--batch', String(B), '--steps', String(STEPS), '--lr', String(LR), '--seed', String(SEED), '--dead-tokens', String(5 * B)],
  { encoding: 'utf8', env: torchEnv() },
);
if (r.status !== 0) throw new Error(`peer failed:\n${r.stderr.slice(-2000)}`);
const peer = JSON.parse(r.stdout.trim().split('\n').pop()!);
const peerS = (performance.now() - t1) / 1000;
const f = (v: number) => v.toFixed(4);
console.log(`${which}: m ${M}, k ${K}, widths ${WIDTHS.join(',')}, weights ${prefixWeights(cfg.sae).join(',')} (both sides), batch ${B}, ${STEPS} steps, lr ${LR}`);
console.log(`| side | theta | L0 | nmse | prefix nmse | wall s |`);
console.log(`|---|---|---|---|---|---|`);
console.log(`| ours (TypeScript, cpu-fast) | ${f(theta)} | ${ours.l0.toFixed(2)} | ${f(ours.nmse)} | ${ours.prefixNmse!.map(f).join(' ')} | ${oursS.toFixed(0)} |`);
console.log(`| peer (PyTorch, recipe) | ${f(peer.theta)} | ${peer.threshold.l0.toFixed(2)} | ${f(peer.threshold.nmse)} | ${peer.threshold.prefixNmse.map(f).join(' ')} | ${peerS.toFixed(0)} |`);
console.log(`| peer, batch top-k | | ${peer.batchtopk.l0.toFixed(2)} | ${f(peer.batchtopk.nmse)} | ${peer.batchtopk.prefixNmse.map(f).join(' ')} | |`);
console.log(`ours / peer nmse: ${(ours.nmse / peer.threshold.nmse).toFixed(3)}`);
