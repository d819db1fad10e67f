// `runFeatures` on a small harvest folder of three shards (manifest.json listing acts/tokens/positions
// files, documents running across shard ends, one NaN row), against a float64 recomputation: rows are
// indexed in the folder's order across shards, context stops at document edges and not at shard or batch
// edges, the NaN row is skipped (and reads 0 as a neighbour), and the output does not depend on the batch
// size. A stop signal writes nothing and leaves an earlier output as it was.
import * as fs from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpu } from '../helpers/backends.js';
import { tempDir } from '../data/fixtures.js';
import { writeNpy } from '../../src/data/npy.js';
import { writeSaelens } from '../../src/io/saelens.js';
import { Rng } from '../../src/rng.js';
import { runFeatures, type LatentEntry } from '../../src/run/features.js';

const s = suite('features: harvest folder');
const D = 6;
const M = 10;
const SHARDS = [50, 70, 30];
const ROWS = 150;
const NAN_ROW = 61;

function writeI32(file: string, a: Int32Array): void {
  const dict = `{'descr': '<i4', 'fortran_order': False, 'shape': (${a.length},), }`;
  const text = dict + ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const hdr = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >> 8]);
  fs.writeFileSync(file, Buffer.concat([hdr, Buffer.from(text, 'latin1'), Buffer.from(a.buffer, a.byteOffset, a.byteLength)]));
}

function fixture(dir: (n: string) => string) {
  const rng = new Rng(21);
  const x = Float32Array.from({ length: ROWS * D }, () => rng.normal());
  for (let c = 0; c < D; c++) x[NAN_ROW * D + c] = c === 2 ? NaN : 0;
  // A ReLU SAE ('standard' in SAELens terms) with a negative encoder bias: sparse, varied densities.
  const W_enc = Float32Array.from({ length: D * M }, () => rng.normal());
  const b_enc = Float32Array.from({ length: M }, () => -1 - rng.uniform());
  const W_dec = Float32Array.from({ length: M * D }, () => rng.normal());
  const b_dec = Float32Array.from({ length: D }, () => 0.1 * rng.normal());
  // Latent 3 fires on a zero row (what the NaN row is encoded as), and row 60, next to the NaN row, is its
  // largest activation: a window where the skipped row must read 0, not the zero row's activation.
  b_enc[3] = 0.5;
  let norm = 0;
  for (let c = 0; c < D; c++) norm += W_enc[c * M + 3]! ** 2;
  for (let c = 0; c < D; c++) x[60 * D + c] = (10 * W_enc[c * M + 3]!) / Math.sqrt(norm) + b_dec[c]!;
  // Documents of 1..40 rows (positions restart at 1: the harvest skipped BOS).
  const pos = new Int32Array(ROWS);
  const ids = Int32Array.from({ length: ROWS }, () => rng.int(500));
  for (let r = 0, left = 0, p = 0; r < ROWS; r++) {
    if (left === 0) [left, p] = [1 + rng.int(40), 1];
    pos[r] = p++;
    left--;
  }
  // Rows 58..66 in one document, so that the NaN row is a neighbour inside a context window.
  for (let r = 59; r <= 66; r++) pos[r] = pos[r - 1]! + 1;
  fs.mkdirSync(dir('data'));
  const names = { shards: [] as string[], token_files: [] as string[], position_files: [] as string[] };
  let at = 0;
  SHARDS.forEach((n, i) => {
    const tag = String(i).padStart(5, '0');
    writeNpy(dir(`data/acts_${tag}.npy`), x.slice(at * D, (at + n) * D), n, D);
    writeI32(dir(`data/tokens_${tag}.npy`), ids.slice(at, at + n));
    writeI32(dir(`data/positions_${tag}.npy`), pos.slice(at, at + n));
    names.shards.push(`acts_${tag}.npy`);
    names.token_files.push(`tokens_${tag}.npy`);
    names.position_files.push(`positions_${tag}.npy`);
    at += n;
  });
  fs.writeFileSync(dir('data/manifest.json'), JSON.stringify({ format: 'batchtopk-harvest-1', ...names, rows: ROWS }));
  writeSaelens(dir('sae'), { architecture: 'standard', dIn: D, dSae: M, W_enc, W_dec, b_enc, b_dec, applyBDecToInput: true, normalizeActivations: 'none', metadata: {} });
  const act = (j: number, r: number) => {
    if (r === NAN_ROW) return 0;
    let p = b_enc[j]!;
    for (let c = 0; c < D; c++) p += W_enc[c * M + j]! * (x[r * D + c]! - b_dec[c]!);
    return Math.max(p, 0);
  };
  return { ids, pos, act };
}

const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { rows: number; rows_skipped: number; latents: LatentEntry[] };

s('rows across shards, context within documents, a NaN row skipped; the same output for any batch size', async () => {
  const t = tempDir('features-harvest');
  try {
    const { ids, pos, act } = fixture(t.path);
    const lines: string[] = [];
    const small = await runFeatures({ sae: t.path('sae'), data: t.path('data'), out: t.path('a'), top: 5, context: 3, batchRows: 16, log: (m) => lines.push(m) }, cpu);
    await runFeatures({ sae: t.path('sae'), data: t.path('data'), out: t.path('b'), top: 5, context: 3, batchRows: 1000 }, cpu);
    assert.ok(lines.some((l) => l.includes('acts_00002.npy (30)')), 'logs the shards read');
    assert.ok(lines.some((l) => l.includes('no --model')), 'says what --model would add');
    assert.is(small.skipped, 1);
    const a = read(t.path('a/features.json'));
    const b = read(t.path('b/features.json'));
    assert.equal(a.latents, b.latents, 'batch size does not change the output');
    assert.is(a.rows, ROWS - 1);
    assert.is(a.rows_skipped, 1);
    const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
    let checked = 0;
    let nanSeen = 0;
    for (const l of a.latents) {
      const j = l.index;
      const fires = Array.from({ length: ROWS }, (_, r) => r).filter((r) => act(j, r) > 0);
      assert.is(l.count, fires.length, `latent ${j}: count`);
      close(l.density, fires.length / (ROWS - 1), `latent ${j}: density over the finite rows`);
      const top = fires.sort((p, q) => act(j, q) - act(j, p) || p - q).slice(0, 5);
      assert.equal(l.examples.map((e) => e.row), top, `latent ${j}: top rows (global row index)`);
      for (const e of [...l.examples, ...l.interval_examples]) {
        let lo = e.row;
        while (lo > 0 && e.row - lo < 3 && pos[lo] === pos[lo - 1]! + 1) lo--;
        let hi = e.row + 1;
        while (hi < ROWS && hi - e.row <= 3 && pos[hi] === pos[hi - 1]! + 1) hi++;
        assert.is(e.focus, e.row - lo, `latent ${j} row ${e.row}: focus`);
        assert.equal(e.tokens, Array.from(ids.subarray(lo, hi), (id) => `#${id}`), `latent ${j} row ${e.row}: tokens`);
        e.activations.forEach((v, i) => close(v, act(j, lo + i), `latent ${j} row ${e.row} context ${i}`));
        if (lo <= NAN_ROW && NAN_ROW < hi) {
          assert.is(e.activations[NAN_ROW - lo], 0, 'the NaN row reads 0');
          nanSeen++;
        }
        checked++;
      }
    }
    assert.ok(checked > 30, `${checked} examples checked`);
    assert.is(a.latents[3]!.examples[0]!.row, 60, 'row 60 is latent 3\'s top example');
    assert.ok(nanSeen > 0, 'the NaN row is inside some context window');
    // Some example's context crosses a shard end (rows 49/50 or 119/120) inside one document.
    const crosses = a.latents.flatMap((l) => l.examples).some((e) => [50, 120].some((edge) => e.row - e.focus < edge && e.row - e.focus + e.tokens.length > edge));
    assert.ok(crosses, 'a context window spans a shard boundary');
  } finally {
    t.cleanup();
  }
});

s('a stop signal: nothing written, an earlier output left whole; progress is reported', async () => {
  const t = tempDir('features-stop');
  try {
    fixture(t.path);
    await runFeatures({ sae: t.path('sae'), data: t.path('data'), out: t.path('out'), batchRows: 1000 }, cpu);
    const before = fs.readFileSync(t.path('out/features.json'), 'utf8');
    const signal = { aborted: false };
    const r = await runFeatures({ sae: t.path('sae'), data: t.path('data'), out: t.path('out'), batchRows: 16, signal, log: (m) => m.includes('/150 rows') && (signal.aborted = true) }, cpu);
    assert.is(r.stopped, true);
    assert.is(r.rows, 16, 'stopped after the first batch');
    assert.equal(r.files, []);
    assert.is(fs.readFileSync(t.path('out/features.json'), 'utf8'), before);
    assert.equal(fs.readdirSync(t.path('out')).sort(), ['features.json', 'index.html', 'latents']);
  } finally {
    t.cleanup();
  }
});

s('clear errors: a single file, a folder without token ids, an SAE of another width', async () => {
  const t = tempDir('features-errors');
  try {
    fixture(t.path);
    const o = { sae: t.path('sae'), out: t.path('out') };
    const fails = async (data: string, ...parts: string[]) => {
      try {
        await runFeatures({ ...o, data }, cpu);
      } catch (err) {
        for (const p of parts) assert.ok((err as Error).message.includes(p), `${(err as Error).message} lacks ${p}`);
        return;
      }
      assert.unreachable(`no error for ${data}`);
    };
    await fails(t.path('data/acts_00000.npy'), 'harvest folder', 'not a single file');
    fs.mkdirSync(t.path('bare'));
    fs.copyFileSync(t.path('data/acts_00000.npy'), t.path('bare/acts.npy'));
    await fails(t.path('bare'), 'no token ids', 'tokens*.npy');
    fs.writeFileSync(t.path('data/tokens_00001.npy'), fs.readFileSync(t.path('data/tokens_00002.npy')));
    await fails(t.path('data'), '110 token ids', '150 activation rows');
  } finally {
    t.cleanup();
  }
});

s.run();
