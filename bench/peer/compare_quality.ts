// Quality comparison with the paper's recipe at equal budget (issue 8 item 4): trains our SAE through the
// library's train loop and the PyTorch recipe (bench/peer/recipe.py, via quality.py) on the same .npy, the
// same batches in the same order, the same m, k, batch, lr and steps, and prints both held-out nmse figures,
// evaluated by one evaluator (quality.py): batch top-k, per-row top-k, and (ours) under the saved theta.
//
//   npx tsx bench/peer/compare_quality.ts --data ../shared/data/stories260K/resid2_f16.npy --m 1024 --k 16 \
//       --arch batchtopk --batch 1024 --steps 1500 [--variants default,paper-init,...] [--no-peer]
//
// Data order: rows >= evalStart (the last --eval-fraction) are held out; the training rows are visited in a
// seeded permutation per epoch (src/rng.ts); batch 0 initialises our b_dec (our trainer does not train on it),
// batches 1..steps are trained on by both. --variants names ablations of our choices (VARIANTS below), each
// trained on the same order, so one run gives the ablation table. The peer's result is cached by config.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpuBackend } from '../../src/backend/cpu/reference.js';
import { readMatrix } from '../../src/data/source.js';
import { Rng } from '../../src/rng.js';
import { downloadParams, normalizeRowsHost } from '../../src/sae/params.js';
import { makeTrainConfig, type TrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { createTrainer, train, type BatchSource } from '../../src/train/loop.js';
import type { Trainer } from '../../src/train/trainer.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

interface Variant {
  doc: string;
  /** Overrides of the training config. */
  cfg?: (c: TrainConfigInput) => void;
  /** Changes to the freshly created trainer's parameters (host values written back). */
  init?: (t: Trainer, cfg: TrainConfig) => Promise<void>;
  /** After every step. */
  after?: (t: Trainer) => void;
}

/** The paper's initialisation: W_enc [d,m] kaiming_uniform_ (bound sqrt(6/m)), W_dec = W_enc^T unit rows, b_dec = 0. */
function paperEncoder(cfg: TrainConfig): { wEnc: Float32Array; wDec: Float32Array } {
  const { dIn: D, dSae: M } = cfg.sae;
  const rng = new Rng(cfg.seed);
  const wEnc = rng.fillUniform(new Float32Array(M * D), -Math.sqrt(6 / M), Math.sqrt(6 / M)); // [M,D] = W_enc^T
  const wDec = wEnc.slice();
  normalizeRowsHost(wDec, M, D);
  return { wEnc, wDec };
}

async function setParams(t: Trainer, f: (h: Awaited<ReturnType<typeof downloadParams>>) => void): Promise<void> {
  const h = await downloadParams(t.params);
  f(h);
  for (const k of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const) t.backend.write(t.params[k].storage, h[k]);
}

const VARIANTS: Record<string, Variant> = {
  default: { doc: 'the library defaults' },
  'paper-init': {
    doc: "paper's init: W_enc kaiming [d,m] (row norm ~sqrt(2d/m)), W_dec its unit rows, b_dec = 0",
    init: async (t, cfg) => {
      const { wEnc, wDec } = paperEncoder(cfg);
      await setParams(t, (h) => {
        h.W_enc = wEnc;
        h.W_dec = wDec;
        h.b_dec.fill(0);
      });
    },
  },
  'bdec0': { doc: 'b_dec = 0 instead of the first batch mean', init: (t) => setParams(t, (h) => h.b_dec.fill(0)) },
  'enc-scale': {
    doc: 'our directions, encoder rows of the paper init norm sqrt(2d/m), b_dec = first-batch mean',
    init: (t, cfg) =>
      setParams(t, (h) => h.W_dec.forEach((v, i) => (h.W_enc[i] = v * Math.sqrt((2 * cfg.sae.dIn) / cfg.sae.dSae)))),
  },
  'unit-enc': {
    doc: 'the previous default: encoder rows = the unit decoder rows (W_enc = W_dec^T), b_dec = first-batch mean',
    init: (t) => setParams(t, (h) => (h.W_enc = h.W_dec.slice())),
  },
  'no-benc': {
    doc: 'b_enc held at 0 (the paper never uses it in TopK/BatchTopK)',
    after: (t) => t.backend.write(t.params.b_enc.storage, new Float32Array(t.cfg.sae.dSae)),
  },
  dead5: { doc: 'dead after 5 batches (deadTokens = 5 x batch)', cfg: (c) => (c.sae.deadTokens = 5 * c.batchSize!) },
};

async function main(): Promise<void> {
  const data = arg('data', '../shared/data/stories260K/resid2_f16.npy');
  const m = Number(arg('m', '1024'));
  const k = Number(arg('k', '16'));
  const archs = arg('arch', 'batchtopk').split(',') as ('batchtopk' | 'topk')[];
  const batch = Number(arg('batch', '1024'));
  const steps = Number(arg('steps', '1500'));
  const seed = Number(arg('seed', '0'));
  const lr = Number(arg('lr', '3e-4'));
  const evalFraction = Number(arg('eval-fraction', '0.1'));
  const variants = arg('variants', 'default').split(',');
  const out = arg('out', '/tmp/peer/run');
  for (const v of variants) if (!VARIANTS[v]) throw new Error(`unknown variant '${v}' (have ${Object.keys(VARIANTS).join(', ')})`);

  const X = readMatrix(data);
  const D = X.cols;
  const evalStart = X.rows - Math.max(1, Math.floor(X.rows * evalFraction));
  // The batch order: a seeded permutation of the training rows per epoch.
  const order = new Int32Array((steps + 1) * batch);
  const rng = new Rng(seed);
  for (let filled = 0; filled < order.length; ) {
    const perm = rng.shuffle(Int32Array.from({ length: evalStart }, (_, i) => i));
    const n = Math.min(perm.length, order.length - filled);
    order.set(perm.subarray(0, n), filled);
    filled += n;
  }
  fs.mkdirSync(out, { recursive: true });
  const orderFile = path.join(out, 'order.i32');
  fs.writeFileSync(orderFile, new Uint8Array(order.buffer));
  console.log(`data ${data}: ${X.rows} x ${D}; train rows [0, ${evalStart}), held out [${evalStart}, ${X.rows}); m=${m} k=${k} batch=${batch} steps=${steps} lr=${lr}`);

  for (const arch of archs) {
    const dirs: string[] = [];
    for (const name of variants) {
      const v = VARIANTS[name]!;
      const input: TrainConfigInput = { sae: { arch, dIn: D, dSae: m, k }, batchSize: batch, steps, normalize: 'none', seed, adam: { lr } };
      v.cfg?.(input);
      const cfg = makeTrainConfig(input);
      let b = 0;
      const source: BatchSource = {
        nextBatch(o: Float32Array) {
          for (let r = 0; r < batch; r++) {
            const row = order[b * batch + r]!;
            o.set(X.data.subarray(row * D, (row + 1) * D), r * D);
          }
          b++;
        },
      };
      const backend = new CpuBackend();
      const t0 = Date.now();
      const trainer = await createTrainer(backend, cfg, source);
      await v.init?.(trainer, cfg);
      let last = '';
      await train(backend, cfg, source, {
        trainer,
        onStep: (s, t) => {
          v.after?.(t);
          if (s.step % 500 === 0 || s.step === steps) last = `step ${s.step} mse ${s.mse.toFixed(4)} aux ${s.aux.toFixed(4)} dead ${s.dead} l0 ${s.l0.toFixed(1)}`;
        },
      });
      const h = await downloadParams(trainer.params);
      const dir = path.join(out, `${arch}-${name}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const key of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const) fs.writeFileSync(path.join(dir, `${key}.f32`), new Uint8Array(h[key].buffer, h[key].byteOffset, h[key].byteLength));
      // theta_lib: the library's calibration (what `train` saves) over calibrationBatches training batches with
      // the final weights. `train` takes the next batches of its loader; the order here ends with the trained
      // batches, so the last calibrationBatches of them stand in (quality.py's theta_cal does the same).
      const more = Array.from({ length: Math.min(cfg.calibrationBatches, steps) }, (_, j) => {
        const o = new Float32Array(batch * D);
        const bi = steps - j;
        for (let r = 0; r < batch; r++) {
          const row = order[bi * batch + r]!;
          o.set(X.data.subarray(row * D, (row + 1) * D), r * D);
        }
        return o;
      });
      const theta = arch === 'batchtopk' ? (await trainer.calibrate(more)).theta : 0;
      fs.writeFileSync(path.join(dir, 'params.json'), JSON.stringify({ name: `ours:${name}`, d: D, m, k, theta }));
      console.log(`ours ${arch} ${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s; ${last}`);
      trainer.dispose();
      backend.dispose();
      dirs.push(dir);
    }
    const py = [
      'bench/peer/quality.py', '--data', data, '--order', orderFile, '--eval-start', String(evalStart), '--m', String(m), '--k', String(k),
      '--arch', arch, '--batch', String(batch), '--steps', String(steps), '--lr', String(lr),
      '--peer-cache', path.join(out, `peer-${arch}.json`), ...(flag('no-peer') ? ['--no-peer'] : []), ...dirs.flatMap((d) => ['--ours', d]),
    ];
    const r = spawnSync('/usr/bin/python3', py, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`quality.py failed (${r.status})`);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
    const peer = rows.find((x) => x.model === 'peer');
    const main = arch === 'batchtopk' ? 'nmse_btk' : 'nmse_topk';
    console.log(`\n${arch} (train as ${arch}; ratio = ${main} / peer's ${main})`);
    console.log('| model | nmse batch top-k | nmse top-k | nmse θ_lib (L0) | nmse θ_cal (L0) | ratio |');
    console.log('|---|---|---|---|---|---|');
    for (const x of rows) {
      const f = (n: string) => (typeof x[n] === 'number' ? (x[n] as number).toFixed(4) : '–');
      const ratio = peer ? ((x[main] as number) / (peer[main] as number)).toFixed(3) : '–';
      console.log(`| ${x.model}${x.cached ? ' (cached)' : ''} | ${f('nmse_btk')} | ${f('nmse_topk')} | ${f('nmse_theta_lib')} (${f('l0_theta_lib')}) | ${f('nmse_theta_cal')} (${f('l0_theta_cal')}) | ${ratio} |`);
    }
    if (peer) console.log(`peer: ${Number(peer.train_s).toFixed(0)} s on ${peer.threads} threads, torch ${peer.torch}`);
  }
}

await main();
