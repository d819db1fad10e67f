// Issue 21: a harvest in parts. The split (any document count, any number of parts: contiguous, covering,
// balanced), --max-tokens over the whole harvest, the merge (parts finished in any order give the rows of one
// harvest, under one manifest.json), and on the real stories260K model: 3 parts harvested separately read
// back bit for bit as one harvest, with and without --max-tokens.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runHarvest, type HarvestRunOptions } from '../../src/run/harvest.js';
import { writeNpy } from '../../src/data/npy.js';
import { readMatrix } from '../../src/data/source.js';
import type { HarvestManifest } from '../../src/model/harvest.js';
import { harvestPart } from '../../src/model/harvest_parts.js';
import { loadModel } from '../../src/model/load.js';
import { mergeIfComplete, mergeParts, partDir, partRange, partsOf, planPart, unfinishedParts, writePartInfo, type MergedManifest } from '../../src/model/parts.js';
import { readDocuments } from '../../src/model/text.js';
import { cpu } from '../helpers/backends.js';

const STORIES = new URL('../../../shared/data/stories260K/', import.meta.url).pathname;
const s = suite('model: harvest in parts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-parts-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

s('property: partRange splits any number of documents into contiguous ranges covering each once, sizes within one', () => {
  fc.assert(
    fc.property(fc.nat({ max: 500 }), fc.integer({ min: 1, max: 64 }), (n, parts) => {
      const ranges = Array.from({ length: parts }, (_, i) => partRange(n, parts, i));
      assert.is(ranges[0]![0], 0);
      assert.is(ranges[parts - 1]![1], n);
      for (let i = 1; i < parts; i++) assert.is(ranges[i]![0], ranges[i - 1]![1], `part ${i} starts where ${i - 1} ends`);
      const sizes = ranges.map(([a, b]) => b - a);
      assert.ok(Math.min(...sizes) >= 0 && Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
    }),
    { numRuns: 300 },
  );
  assert.throws(() => partRange(10, 3, 3), /--part 3: expects a whole number from 0 to 2/);
  assert.throws(() => partRange(10, 0, 0), /--parts 0/);
});

/** Rows of a single harvest over documents giving `rows[d]` rows each: (doc, row) pairs, at most `limit`. */
function single(rows: number[], limit = Infinity): [number, number][] {
  const out: [number, number][] = [];
  rows.forEach((n, d) => {
    for (let r = 0; r < n; r++) if (out.length < limit) out.push([d, r]);
  });
  return out;
}

const docRows = fc.array(fc.nat({ max: 6 }), { maxLength: 40 });

s('property: with --max-tokens, the parts harvest exactly the rows of one harvest, and no document past the limit', () => {
  fc.assert(
    fc.property(docRows, fc.integer({ min: 1, max: 12 }), fc.option(fc.nat({ max: 120 }), { nil: undefined }), (rows, parts, maxTokens) => {
      const asked = new Set<number>();
      const got: [number, number][] = [];
      for (let p = 0; p < parts; p++) {
        const plan = planPart({ documents: rows.length, parts, part: p, maxTokens, rowsOf: (d) => (asked.add(d), rows[d]!) });
        assert.ok(plan.harvest_end >= plan.doc_start && plan.harvest_end <= plan.doc_end);
        const mine = single(rows.slice(plan.doc_start, plan.harvest_end), plan.part_max_tokens).map(([d, r]): [number, number] => [d + plan.doc_start, r]);
        got.push(...mine);
        // The last document harvested gives a row that is kept: the harvest stops where the limit falls.
        if (plan.harvest_end > plan.doc_start && maxTokens !== undefined) assert.ok(mine.some(([d]) => d === plan.harvest_end - 1) || rows[plan.harvest_end - 1] === 0);
        if (maxTokens !== undefined) assert.is(plan.row_start, Math.min(maxTokens, single(rows.slice(0, plan.doc_start)).length));
      }
      assert.equal(got, single(rows, maxTokens));
      if (maxTokens === undefined) assert.is(asked.size, 0, 'without --max-tokens no document is tokenized ahead');
    }),
    { numRuns: 300 },
  );
});

/**
 * A stand-in for harvest(): what it writes for `docs` (rows[d] rows each, BOS already left out) into `dir`,
 * shards of `shardRows`, the values of a row naming its global (doc, row), harvest's manifest fields.
 */
function fakeHarvest(dir: string, rows: number[], firstDoc: number, shardRows: number, maxTokens: number | undefined, truncated: number): HarvestManifest {
  fs.mkdirSync(dir, { recursive: true });
  const all = single(rows, maxTokens);
  const m: HarvestManifest = {
    format: 'batchtopk-harvest-1', model: 'fake', model_path: '/fake', hook_name: 'blocks.1.hook_resid_pre', layer: 1, d_model: 2,
    seq_len: 8, context_size: 8, tokenizer: 'fake', text: 'docs.txt', dtype: 'f32', skip_bos: true, shard_rows: shardRows,
    max_tokens: maxTokens ?? null, documents: rows.length, documents_truncated: truncated, shards: [], token_files: [], position_files: [],
    rows: all.length, complete: true, next: { doc: 0, row: 0 },
  };
  for (let i = 0; i * shardRows < all.length; i++) {
    const chunk = all.slice(i * shardRows, (i + 1) * shardRows);
    const name = (k: string) => `${k}_${String(i).padStart(5, '0')}.npy`;
    writeNpy(path.join(dir, name('acts')), Float32Array.from(chunk.flatMap(([d, r]) => [d + firstDoc, r])), chunk.length, 2);
    writeNpy(path.join(dir, name('tokens')), Float32Array.from(chunk.map(([d]) => 1000 + d + firstDoc)), chunk.length, 1);
    writeNpy(path.join(dir, name('positions')), Float32Array.from(chunk.map(([, r]) => r + 1)), chunk.length, 1);
    m.shards.push(name('acts'));
    m.token_files.push(name('tokens'));
    m.position_files.push(name('positions'));
  }
  const last = all[all.length - 1];
  if (last) m.next = last[1] + 1 < rows[last[0]]! ? { doc: last[0], row: last[1] + 1 } : { doc: last[0] + 1, row: 0 };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  return m;
}

function readConcat(dir: string, files: (m: MergedManifest | HarvestManifest) => string[]): number[] {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as HarvestManifest;
  return files(m).flatMap((f) => Array.from(readMatrix(path.join(dir, f)).data));
}

let caseNo = 0;
s('property: parts finished in any order merge into the rows, tokens, positions and manifest of one harvest', () => {
  fc.assert(
    fc.property(docRows, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 7 }), fc.option(fc.nat({ max: 80 }), { nil: undefined }), fc.infiniteStream(fc.nat()), (rows, parts, shardRows, maxTokens, order) => {
      const base = path.join(tmp, `merge-${caseNo++}`);
      const one = fakeHarvest(path.join(base, 'single'), rows, 0, shardRows, maxTokens, (parts * (parts + 1)) / 2);
      const out = path.join(base, 'parts');
      // Finish the parts in a random order: only the last completes the set.
      const todo = Array.from({ length: parts }, (_, i) => i);
      const seq = [...order.take(parts)];
      const perm = seq.map((x) => todo.splice(x % todo.length, 1)[0]!);
      perm.forEach((p, i) => {
        const plan = planPart({ documents: rows.length, parts, part: p, maxTokens, rowsOf: (d) => rows[d]! });
        const dir = path.join(out, partDir(parts, p));
        writePartInfo(dir, plan);
        fakeHarvest(dir, rows.slice(plan.doc_start, plan.harvest_end), plan.doc_start, shardRows, plan.part_max_tokens, p + 1); // truncated documents: 1 + 2 + ... over the parts
        const merged = mergeIfComplete(out, parts);
        assert.is(merged === null, i < parts - 1, `merged only once all ${parts} parts are complete`);
      });
      assert.equal(unfinishedParts(out, parts), []);
      const merged = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as MergedManifest;
      const { shards: _a, token_files: _b, position_files: _c, parts: n, ...rest } = merged;
      const { shards: _d, token_files: _e, position_files: _f, ...restOne } = one;
      assert.equal(rest, restOne, 'the manifest of one harvest, but for the shard lists');
      assert.is(n, parts);
      assert.equal(merged.shards, merged.shards.map((_, i) => `acts_${String(i).padStart(5, '0')}.npy`));
      assert.equal(readConcat(out, (m) => m.shards), readConcat(path.join(base, 'single'), (m) => m.shards));
      assert.equal(readConcat(out, (m) => m.token_files), readConcat(path.join(base, 'single'), (m) => m.token_files));
      assert.equal(readConcat(out, (m) => m.position_files), readConcat(path.join(base, 'single'), (m) => m.position_files));
      if (one.rows > 0) assert.equal(Array.from(readMatrix(out).data), Array.from(readMatrix(path.join(base, 'single')).data), 'the folder as train --data reads it');
      // Idempotent: merging again (a second last part, harvest --merge) writes the same.
      const before = fs.readFileSync(path.join(out, 'manifest.json'), 'utf8');
      mergeParts(out);
      assert.is(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'), before);
      fs.rmSync(base, { recursive: true, force: true });
    }),
    { numRuns: 60 },
  );
});

s('clear errors: parts missing, mixed splits, a part of another split, a single harvest in the folder', () => {
  const out = path.join(tmp, 'errors');
  const rows = [3, 2, 4, 1];
  const put = (parts: number, p: number, over: Partial<Parameters<typeof planPart>[0]> = {}) => {
    const plan = planPart({ documents: rows.length, parts, part: p, rowsOf: (d) => rows[d]!, ...over });
    writePartInfo(path.join(out, partDir(parts, p)), plan);
    fakeHarvest(path.join(out, partDir(parts, p)), rows.slice(plan.doc_start, plan.harvest_end), plan.doc_start, 2, undefined, 0);
  };
  assert.throws(() => mergeParts(out), /no part folders/);
  put(3, 0);
  put(3, 2);
  assert.throws(() => mergeParts(out), /1 of 3 parts not complete \(1\)/);
  assert.is(mergeIfComplete(out, 3), null);
  assert.throws(() => writePartInfo(path.join(out, partDir(3, 0)), planPart({ documents: 5, parts: 3, part: 0, rowsOf: () => 1 })), /written for another split \(documents 4, now 5/);
  put(2, 1);
  assert.throws(() => partsOf(out), /different splits \(--parts 2, 3\)/);
  fs.rmSync(path.join(out, partDir(2, 1)), { recursive: true });
  put(3, 1);
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ format: 'batchtopk-harvest-1', shards: [] }));
  assert.throws(() => mergeParts(out), /a single harvest's manifest/);
  fs.rmSync(path.join(out, 'manifest.json'));
  assert.is(mergeParts(out).rows, 10);
});

// The real model: the same rows through three separate part harvests as through one.
const N = 9;
const lines = fs.readFileSync(STORIES + 'stories.jsonl', 'utf8').trim().split('\n').slice(0, N);
const jsonl = path.join(tmp, 'nine.jsonl');
fs.writeFileSync(jsonl, lines.join('\n') + '\n');
const opts = (out: string, maxTokens?: number): HarvestRunOptions => ({ model: STORIES + 'stories260K.bin', text: jsonl, layer: 2, out, dtype: 'f32', shardRows: 700, skipBos: true, batchRows: 1024, quiet: true, maxTokens });

for (const maxTokens of [undefined, 1500]) {
  s(`stories260K: 3 parts (finished 2, 0, 1) read back bit for bit as one harvest${maxTokens ? `, --max-tokens ${maxTokens}` : ''}`, async () => {
    const tag = maxTokens ?? 'all';
    const one = await runHarvest(opts(path.join(tmp, `one-${tag}`), maxTokens), cpu);
    const out = path.join(tmp, `parts-${tag}`);
    const lm = loadModel(STORIES + 'stories260K.bin');
    const texts = readDocuments(jsonl);
    const o = { textFile: jsonl, layer: 2, out, dtype: 'f32' as const, shardRows: 700, skipBos: true, batchRows: 1024, maxTokens, parts: 3 };
    const results = [];
    for (const part of [2, 0, 1]) results.push(await harvestPart(cpu, lm, texts, { ...o, part }));
    assert.equal(results.map((r) => r.merged === null), [true, true, false]);
    const merged = results[2]!.merged!;
    const { shards: _a, token_files: _b, position_files: _c, parts: _p, ...rest } = merged;
    const { shards: _d, token_files: _e, position_files: _f, ...restOne } = one;
    assert.equal(rest, restOne);
    if (maxTokens) assert.is(merged.rows, maxTokens);
    const a = readMatrix(out);
    const b = readMatrix(path.join(tmp, `one-${tag}`));
    assert.is(a.rows, b.rows);
    assert.ok(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer)), 'the activations, bit for bit');
    const ints = (dir: string, key: 'token_files' | 'position_files') => {
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as HarvestManifest;
      return Buffer.concat(m[key].map((f) => {
        const b = fs.readFileSync(path.join(dir, f));
        return b.subarray(10 + (b[8]! | (b[9]! << 8)));
      }));
    };
    assert.ok(ints(out, 'token_files').equals(ints(path.join(tmp, `one-${tag}`), 'token_files')), 'token ids');
    assert.ok(ints(out, 'position_files').equals(ints(path.join(tmp, `one-${tag}`), 'position_files')), 'positions');
  });
}

s.run();
