// Issue 10: `batchtopk harvest` on the real stories260K model (../shared/data/stories260K/): the shards hold
// the stream entering block 2 (= resid2_f16.npy up to f16 rounding) with the token ids and positions of
// tokens_u16.npy / positions_u16.npy, BOS rows left out by default, .txt and .jsonl give the same rows, an
// interrupted run continued gives the same files as an uninterrupted one, and bad input fails clearly.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCeEval } from '../../src/run/ce.js';
import { runHarvest, type HarvestRunOptions } from '../../src/run/harvest.js';
import { runTrain, type TrainInput } from '../../src/run/train.js';
import { f32ToF16Bits } from '../../src/data/half.js';
import { openSource } from '../../src/data/source.js';
import { readStoriesDocs, readU16Npy } from '../../src/model/stories.js';
import { cpu } from '../helpers/backends.js';

const STORIES = new URL('../../../shared/data/stories260K/', import.meta.url).pathname;
const s = suite('cli: harvest');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-harvest-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const N = 4;
const texts = fs.readFileSync(STORIES + 'stories.jsonl', 'utf8').trim().split('\n').slice(0, N);
const jsonl = path.join(tmp, 'four.jsonl');
fs.writeFileSync(jsonl, texts.join('\n') + '\n');
const txt = path.join(tmp, 'four.txt');
fs.writeFileSync(txt, texts.map((l) => (JSON.parse(l) as { text: string }).text.replace(/\n\n+/g, '\n')).join('\n\n') + '\n');
const docs = readStoriesDocs(STORIES + 'tokens_u16.npy').slice(0, N);
const rowsAll = docs.reduce((a, d) => a + d.length, 0);

function opts(over: Partial<HarvestRunOptions>): HarvestRunOptions {
  return { model: STORIES + 'stories260K.bin', text: jsonl, layer: 2, out: path.join(tmp, 'x'), dtype: 'f32', shardRows: 500, skipBos: true, batchRows: 1024, quiet: true, ...over };
}
function readI32(file: string): Int32Array {
  const b = fs.readFileSync(file);
  const hl = b[8]! | (b[9]! << 8);
  return new Int32Array(b.buffer.slice(b.byteOffset + 10 + hl, b.byteOffset + b.length));
}
function readAll(dir: string, kind: 'acts' | 'tokens' | 'positions'): Float32Array | Int32Array {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { shards: string[]; token_files: string[]; position_files: string[] };
  if (kind !== 'acts') {
    const parts = (kind === 'tokens' ? m.token_files : m.position_files).map((f) => readI32(path.join(dir, f)));
    const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) (out.set(p, at), (at += p.length));
    return out;
  }
  const srcs = m.shards.map((f) => openSource(path.join(dir, f)));
  const out = new Float32Array(srcs.reduce((a, x) => a + x.rows * x.dIn, 0));
  let at = 0;
  for (const x of srcs) {
    x.readRows(0, x.rows, out.subarray(at));
    at += x.rows * x.dIn;
    x.close();
  }
  return out;
}

s('--no-skip-bos: every row of resid2_f16.npy (f16 rounding), tokens_u16 and positions_u16, in 500-row shards', async () => {
  const out = path.join(tmp, 'all');
  const m = await runHarvest(opts({ out, skipBos: false }), cpu);
  assert.is(m.rows, rowsAll);
  assert.is(m.shards.length, Math.ceil(rowsAll / 500));
  assert.is(m.hook_name, 'blocks.2.hook_resid_pre');
  assert.is(m.context_size, 512);
  assert.ok(m.complete);
  const acts = readAll(out, 'acts') as Float32Array;
  const raw = fs.readFileSync(STORIES + 'resid2_f16.npy');
  const ref = new Uint16Array(raw.buffer.slice(raw.byteOffset + 128, raw.byteOffset + 128 + rowsAll * 64 * 2));
  let exact = 0;
  for (let i = 0; i < acts.length; i++) if (f32ToF16Bits(acts[i]!) === ref[i]) exact++;
  assert.is(acts.length, ref.length);
  assert.ok(exact >= 0.99 * acts.length, `${exact} of ${acts.length} values round to the reference f16`);
  assert.equal(Array.from(readAll(out, 'tokens')), Array.from(readU16Npy(STORIES + 'tokens_u16.npy').subarray(0, rowsAll)));
  assert.equal(Array.from(readAll(out, 'positions')), Array.from(readU16Npy(STORIES + 'positions_u16.npy').subarray(0, rowsAll)));
});

s('default: BOS rows left out; .txt blocks give the rows of .jsonl; f16 shards', async () => {
  const a = await runHarvest(opts({ out: path.join(tmp, 'j'), dtype: 'f16' }), cpu);
  const b = await runHarvest(opts({ out: path.join(tmp, 't'), text: txt, dtype: 'f16' }), cpu);
  assert.is(a.rows, rowsAll - N);
  assert.is(b.rows, a.rows);
  assert.ok(!Array.from(readAll(path.join(tmp, 'j'), 'positions')).includes(0));
  assert.equal(Array.from(readAll(path.join(tmp, 't'), 'tokens')), Array.from(readAll(path.join(tmp, 'j'), 'tokens')));
  for (const f of a.shards) assert.ok(fs.readFileSync(path.join(tmp, 'j', f)).equals(fs.readFileSync(path.join(tmp, 't', f))), f);
});

s('an interrupted run continued gives the files of an uninterrupted one; --max-tokens', async () => {
  const whole = path.join(tmp, 'whole');
  const part = path.join(tmp, 'part');
  const m1 = await runHarvest(opts({ out: whole, shardRows: 300, maxTokens: 1000 }), cpu);
  const stopped = await runHarvest(opts({ out: part, shardRows: 300, maxTokens: 1000, stopAfterShards: 1 }), cpu);
  assert.ok(!stopped.complete);
  assert.is(stopped.shards.length, 1);
  const m2 = await runHarvest(opts({ out: part, shardRows: 300, maxTokens: 1000 }), cpu);
  assert.is(m1.rows, 1000);
  assert.equal(m2, m1);
  for (const f of [...m1.shards, ...m1.token_files, ...m1.position_files]) {
    assert.ok(fs.readFileSync(path.join(whole, f)).equals(fs.readFileSync(path.join(part, f))), f);
  }
});

s('harvest -> train -> eval --model: cfg.json names the model, hook, context and data; CE score between 0 and 1', async () => {
  const data = path.join(tmp, 'all', 'acts_00000.npy');
  const base: TrainInput = {
    data, arch: 'batchtopk', k: 8, dictSize: 128, batchSize: 128, steps: 40, lr: 3e-3, l0Coeff: 1e-3, l1Coeff: 1e-3,
    kAux: 16, auxAlpha: 1 / 32, deadTokens: 512, bandwidth: 1e-3, thetaInit: 1e-3, warmupSteps: 0, decayFraction: 0,
    clipGradNorm: 0, normalize: 'none', seed: 1, out: path.join(tmp, 'sae-run'), evalFraction: 0.1, evalTokens: 1000,
    shuffleBuffer: 1024, checkpointEvery: 0, logEvery: 10, quiet: true,
  };
  await runTrain(base, cpu);
  const cfg = JSON.parse(fs.readFileSync(path.join(tmp, 'sae-run', 'sae', 'cfg.json'), 'utf8')) as { metadata: Record<string, unknown> };
  assert.is(cfg.metadata['model_name'], 'stories260K');
  assert.is(cfg.metadata['hook_name'], 'blocks.2.hook_resid_pre');
  assert.is(cfg.metadata['context_size'], 512);
  assert.is(cfg.metadata['dataset_path'], jsonl);
  const ce = await runCeEval({ sae: path.join(tmp, 'sae-run', 'sae'), model: STORIES, text: jsonl, maxDocs: 1, batchRows: 1024, spliceBos: false, quiet: true }, cpu);
  assert.is(ce.hook_name, 'blocks.2.hook_resid_pre');
  assert.ok(ce.ce_loss_score > 0 && ce.ce_loss_score < 1, `ce_loss_score ${ce.ce_loss_score}`);
  assert.ok(ce.ce_clean < ce.ce_sae && ce.ce_sae < ce.ce_zero);
  // Flags override the manifest (and name a model where there is none).
  await runTrain({ ...base, steps: 5, out: path.join(tmp, 'sae-run2'), modelName: 'my-model', hookName: 'blocks.9.hook_resid_pre' }, cpu);
  const cfg2 = JSON.parse(fs.readFileSync(path.join(tmp, 'sae-run2', 'sae', 'cfg.json'), 'utf8')) as { metadata: Record<string, unknown> };
  assert.is(cfg2.metadata['model_name'], 'my-model');
  assert.is(cfg2.metadata['hook_name'], 'blocks.9.hook_resid_pre');
});

s('clear errors: layer out of range, not a model folder, other options on an existing folder', async () => {
  const fail = async (o: Partial<HarvestRunOptions>, re: RegExp) => {
    try {
      await runHarvest(opts(o), cpu);
    } catch (err) {
      assert.match((err as Error).message, re, (err as Error).message);
      return;
    }
    assert.unreachable(`no error for ${JSON.stringify(o)}`);
  };
  await fail({ layer: 5 }, /--layer 5 out of range: stories260K has 5 blocks, so layers 0\.\.4/);
  await fail({ model: tmp }, /not a model folder/);
  await fail({ model: path.join(tmp, 'nope.bin') }, /model not found/);
  const all = path.join(tmp, 'all');
  await fail({ out: all, layer: 1 }, new RegExp(`^${all}: the harvest in this folder was made with different --layer \\(2, now 1\\), --skip-bos \\(false, now true\\); continue it with the same options, or choose another --out`));
  await fail({ out: all, skipBos: false, encoding: 'latin1', shardRows: 7 }, /made with different --encoding \("utf8", now "latin1"\), --shard-rows \(500, now 7\)/);
});

s.run();
