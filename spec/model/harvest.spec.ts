// Issue 17 items 14-15, harvest.ts on a tiny model: an f16 harvest whose activations exceed f16's range
// (|x| >= 65520 rounds to inf) is refused before the shard is written, with the count and the way out
// (--dtype f32); 65519.996, which rounds to 65504, is not counted. Layer 0's residual is the embedding itself,
// so the values are set exactly through it. The text's encoding defines the run (recorded, checked on resume),
// and a damaged manifest.json is named.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readMatrix } from '../../src/data/source.js';
import { harvest, type HarvestOptions } from '../../src/model/harvest.js';
import type { LoadedModel } from '../../src/model/load.js';
import type { Block, Linear, ModelWeights } from '../../src/model/weights.js';
import { cpu } from '../helpers/backends.js';

const s = suite('model: harvest f16 range, encoding and manifest');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-f16-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const D = 8, V = 10;
const lin = (out: number, inn: number): Linear => ({ w: new Float32Array(out * inn).fill(0.01), b: null, out, in: inn });
const norm = () => ({ w: new Float32Array(D).fill(1), b: null });
const block: Block = { attnNorm: norm(), q: lin(D, D), k: lin(D, D), v: lin(D, D), o: lin(D, D), mlpNorm: norm(), gate: lin(16, D), up: lin(16, D), down: lin(D, 16) };
const embed = Float32Array.from({ length: V * D }, (_, i) => ((i % 7) - 3) / 8);
embed[5 * D + 0] = 7e4; // over: inf in f16
embed[6 * D + 1] = -65519.99609375; // the largest f32 that still rounds to -65504
embed[7 * D + 2] = 65520; // exactly the first value that rounds to inf
const weights: ModelWeights = {
  config: { arch: 'llama', dim: D, hiddenDim: 16, nLayers: 1, nHeads: 2, nKvHeads: 2, vocabSize: V, maxSeqLen: 16, normEps: 1e-5, ropeTheta: 10000, ropeStyle: 'interleaved', bosId: 1 },
  embed, posEmbed: null, blocks: [block], finalNorm: norm(), head: embed,
};
const lm = { name: 'tiny', path: '/nowhere/tiny', weights, tokenizer: { name: 'none', vocabSize: V, bosId: 1, encode: () => [], decode: () => '' } } as LoadedModel;
const opts = (out: string, dtype: 'f16' | 'f32'): HarvestOptions => ({ textFile: 'docs.txt', layer: 0, out, dtype, shardRows: 4, skipBos: true, batchRows: 64, progress: null });

s('f16: values past 65504 refused with their count before their shard is written; f32 keeps them', async () => {
  const ok = [Int32Array.from([1, 2, 3, 4, 6]), Int32Array.from([1, 6, 2])]; // 6 rows, -65519.996 twice: fine
  const m = await harvest(cpu, lm, ok, 0, opts(path.join(tmp, 'ok'), 'f16'));
  assert.is(m.rows, 6);
  const a = readMatrix(path.join(tmp, 'ok', m.shards[0]!));
  assert.is(a.data[3 * D + 1], -65504);
  // The second shard (rows 4..7) holds tokens 5 and 7: two values over, the first shard is kept.
  const docs = [Int32Array.from([1, 2, 3, 4, 6, 5, 2, 7, 3])];
  const out = path.join(tmp, 'bad');
  const err = await harvest(cpu, lm, docs, 0, opts(out, 'f16')).then(() => null, (e: Error) => e);
  assert.ok(err, 'the f16 harvest must be refused');
  assert.match(err.message, /harvest: 2 values of blocks\.0\.hook_resid_pre exceed f16's range \(largest \|x\| 70000\.0, f16 max 65504\)/);
  assert.match(err.message, /--dtype f32/);
  const man = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { shards: string[]; complete: boolean };
  assert.equal(man.shards, ['acts_00000.npy']);
  assert.not.ok(man.complete);
  assert.not.ok(fs.existsSync(path.join(out, 'acts_00001.npy')));
  const f32 = await harvest(cpu, lm, docs, 0, opts(path.join(tmp, 'f32'), 'f32'));
  const b = readMatrix(path.join(tmp, 'f32', f32.shards[1]!));
  assert.is(b.data[0 * D + 0], 7e4);
  assert.is(b.data[2 * D + 2], 65520);
});

// The refusal of other options on a folder is the harvest command's (spec/run/harvest.spec.ts).
s('the text encoding is recorded; an old manifest without one continues as utf8; a damaged manifest names its file', async () => {
  const out = path.join(tmp, 'enc');
  const docs = [Int32Array.from([1, 2, 3, 4, 2, 3, 4, 2, 3])];
  const m = await harvest(cpu, lm, docs, 0, { ...opts(out, 'f32'), encoding: 'latin1', stopAfterShards: 1 });
  assert.is(m.encoding, 'latin1');
  assert.not.ok(m.complete);
  assert.ok((await harvest(cpu, lm, docs, 0, { ...opts(out, 'f32'), encoding: 'latin1' })).complete);
  // A manifest from before the encoding was recorded continues as utf8.
  const file = path.join(out, 'manifest.json');
  const old = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete old['encoding'];
  fs.writeFileSync(file, JSON.stringify(old));
  assert.ok((await harvest(cpu, lm, docs, 0, opts(out, 'f32'))).complete);
  for (const text of ['null', '{"format": ']) {
    fs.writeFileSync(file, text);
    const e = await harvest(cpu, lm, docs, 0, opts(out, 'f32')).then(() => null, (x: Error) => x);
    assert.ok(e?.message.startsWith(`${file}: `), `${text}: ${e?.message}`);
  }
});

s.run();
