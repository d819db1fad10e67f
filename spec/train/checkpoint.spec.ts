// Issue 17, item 10: checkpoints are not trusted blindly. A checkpoint carries a checksum of everything in
// it, and any single flipped bit anywhere in the file is refused on load with a message naming the file;
// a state holding NaN or infinity is never written (the file already there stays byte for byte) and never
// resumed from, even from a file whose checksum is right or that predates the checksum.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DataError } from '../../src/data/errors.js';
import { writeSafetensors, type F32Tensor } from '../../src/data/safetensors.js';
import { SyntheticModel } from '../../src/synth.js';
import { checkpointDigest, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { makeTrainConfig } from '../../src/train/config.js';
import { train } from '../../src/train/loop.js';
import type { TrainerState } from '../../src/train/trainer.js';
import { cpu } from '../helpers/backends.js';

const s = suite('train: checkpoint checksum and finite state');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-ck-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A real trainer state after a few steps (jumprelu, so theta is in it too). */
async function trainedState(): Promise<TrainerState> {
  const synth = new SyntheticModel({ dIn: 8, nFeatures: 16, meanActive: 2, seed: 3 });
  let row = 0;
  const source = { nextBatch: (out: Float32Array) => (out.set(synth.rows(row, 32)), (row += 32)) };
  const cfg = makeTrainConfig({ batchSize: 32, steps: 4, seed: 2, sae: { arch: 'jumprelu', dIn: 8, dSae: 16 } });
  const t = await train(cpu, cfg, source);
  const st = await t.getState();
  t.dispose();
  return st;
}
const state = await trainedState();
const extra = { options: { lr: 3e-4 }, loader: { position: 7 }, steps: 4 };

const copyState = (st: TrainerState): TrainerState => structuredClone(st);
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

s('round trip: every tensor and number comes back bit for bit', () => {
  const file = path.join(tmp, 'round.safetensors');
  saveCheckpoint(file, { trainer: state, extra });
  const back = loadCheckpoint(file);
  assert.equal(back.extra, extra);
  const { params, adam, stepsSinceFired, ...rest } = back.trainer;
  assert.equal(rest, { step: state.step, threshold: state.threshold, normScale: state.normScale });
  for (const n of ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'theta'] as const) assert.ok(bytes(params[n]!).equals(bytes(state.params[n]!)), n);
  assert.is(adam.step, state.adam.step);
  adam.m.forEach((m, i) => assert.ok(bytes(m).equals(bytes(state.adam.m[i]!)), `adam.m.${i}`));
  adam.v.forEach((v, i) => assert.ok(bytes(v).equals(bytes(state.adam.v[i]!)), `adam.v.${i}`));
  assert.ok(bytes(stepsSinceFired).equals(bytes(state.stepsSinceFired)));
});

s('property: one flipped bit anywhere in the file (header, metadata, any tensor) is refused, naming the file', () => {
  const file = path.join(tmp, 'flip-src.safetensors');
  saveCheckpoint(file, { trainer: state, extra });
  const good = fs.readFileSync(file);
  const bad = path.join(tmp, 'flipped.safetensors');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
      const b = Buffer.from(good);
      b[at]! ^= 1 << bit;
      fs.writeFileSync(bad, b);
      try {
        loadCheckpoint(bad);
      } catch (err) {
        return err instanceof DataError && err.message.startsWith(`${bad}: `);
      }
      return false;
    }),
    { numRuns: 400, seed: 17 },
  );
});

s("flipped bytes in W_enc (the issue's case): refused as damaged, with the way out", () => {
  const file = path.join(tmp, 'wenc.safetensors');
  saveCheckpoint(file, { trainer: state, extra });
  const b = fs.readFileSync(file);
  const headerLen = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + headerLen).toString('utf8'));
  const [begin, end] = header['param.W_enc'].data_offsets as [number, number];
  // Flip one bit of a float in the middle of W_enc: the file still parses and the value stays finite.
  const at = 8 + headerLen + begin + Math.floor((end - begin) / 8) * 4;
  b[at]! ^= 0x01;
  fs.writeFileSync(file, b);
  assert.throws(() => loadCheckpoint(file), (e: Error) => e instanceof DataError && e.message === `${file}: checkpoint is damaged (its contents do not match the checksum written with it); it cannot be resumed: remove it (or the whole run folder) and start the run over`);
});

s('a state holding NaN or infinity is never written: the error names the tensor and the step, the old file stays', () => {
  const file = path.join(tmp, 'keep.safetensors');
  saveCheckpoint(file, { trainer: state, extra });
  const before = fs.readFileSync(file);
  const cases: [string, (st: TrainerState) => void, RegExp][] = [
    ['W_enc NaN', (st) => (st.params.W_enc[3] = NaN), /param\.W_enc holds 1 NaN or infinite value of 128/],
    ['theta inf', (st) => (st.params.theta![0] = Infinity), /param\.theta holds 1 NaN or infinite value of 16/],
    ['Adam v inf', (st) => st.adam.v[1]!.fill(Infinity), /adam\.v\.1 holds 16 NaN or infinite values of 16/],
    ['normScale NaN', (st) => (st.normScale = NaN), /normScale is NaN/],
  ];
  for (const [name, spoil, msg] of cases) {
    const st = copyState(state);
    spoil(st);
    assert.throws(
      () => saveCheckpoint(file, { trainer: st, extra }),
      (e: Error) => e instanceof DataError && msg.test(e.message) && e.message.startsWith(`${file}: not written: the training state at step 4 is not finite`) && e.message.includes('--lr'),
      name,
    );
    assert.ok(fs.readFileSync(file).equals(before), `${name}: the checkpoint on disk is unchanged`);
  }
  assert.equal(fs.readdirSync(tmp).filter((n) => n.includes('keep') && n !== 'keep.safetensors'), [], 'no temporary file left');
});

/** Write a checkpoint as a writer without the guards would (`format`, optional correct checksum). */
function writeRaw(file: string, st: TrainerState, format: string, withSum: boolean): void {
  const tensors: Record<string, F32Tensor> = {};
  for (const [n, v] of Object.entries(st.params)) tensors[`param.${n}`] = { shape: [v.length], data: v };
  st.adam.m.forEach((m, i) => (tensors[`adam.m.${i}`] = { shape: [m.length], data: m }));
  st.adam.v.forEach((v, i) => (tensors[`adam.v.${i}`] = { shape: [v.length], data: v }));
  tensors['stepsSinceFired'] = { shape: [st.stepsSinceFired.length], data: st.stepsSinceFired };
  const meta = JSON.stringify({ format, step: st.step, adamStep: st.adam.step, moments: st.adam.m.length, threshold: st.threshold, normScale: st.normScale, extra });
  const md: Record<string, string> = { batchtopk: meta };
  if (withSum) md['batchtopk_sha256'] = checkpointDigest(meta, new Map(Object.entries(tensors)));
  writeSafetensors(file, tensors, md);
}

s('a non-finite state is refused on load even with a correct checksum, and in a checkpoint from before checksums', () => {
  const st = copyState(state);
  st.params.W_enc[9] = NaN;
  const file = path.join(tmp, 'nan.safetensors');
  for (const [format, withSum] of [['batchtopk-checkpoint-2', true], ['batchtopk-checkpoint-1', false]] as const) {
    writeRaw(file, st, format, withSum);
    assert.throws(
      () => loadCheckpoint(file),
      (e: Error) => e instanceof DataError && e.message.startsWith(`${file}: checkpoint holds a state that is not finite (param.W_enc holds 1 NaN`) && e.message.includes('start the run over'),
      format,
    );
  }
  // The earlier format still loads when its state is finite (checkpoints written before the checksum).
  writeRaw(file, state, 'batchtopk-checkpoint-1', false);
  assert.ok(bytes(loadCheckpoint(file).trainer.params.W_enc).equals(bytes(state.params.W_enc)));
  // The current format without its checksum is damaged, not old.
  writeRaw(file, state, 'batchtopk-checkpoint-2', false);
  assert.throws(() => loadCheckpoint(file), /checkpoint is damaged \(its checksum is missing\)/);
});

s('a missing file keeps its own message (not "damaged")', () => {
  const file = path.join(tmp, 'none.safetensors');
  assert.throws(() => loadCheckpoint(file), (e: Error) => e.message === `${file}: cannot open (no such file)`);
});

s.run();
