// Timing of `features` (src/features/run.ts): one pass of the inference encoder with the per-latent
// bookkeeping, then features.json and the page.
//   npx tsx bench/features.ts stories <sae-dir> [out]         the shared stories260K activations (174,580 rows)
//   npx tsx bench/features.ts synthetic [rows] [d] [m] [k] [threshold]
//                                                           synthetic rows (default 20,000 rows, 768 x 24576, k 32, threshold 1)
// Both on cpu-fast. The synthetic case writes a harvest-like folder (f16 shard, tokens, positions) of
// random sparse combinations of random directions and an SAE whose encoder is the transposed dictionary
// with a threshold, so about k latents fire per row, as a trained SAE; then it runs the whole command and
// separates the scan (the encoder pass and bookkeeping) from the writing. Side by side in the same run, the
// encoder alone (backendEncoder over the first 4096 rows, no bookkeeping): what features adds to it.
// Interference between random directions (sd about sqrt(k E[a^2] / d) = 0.31 here) puts some latents over
// the threshold besides the k chosen ones; threshold 1 gives about 50 active latents a row.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FastCpuBackend } from '../src/backend/cpu_fast.js';
import { writeNpy } from '../src/data/npy.js';
import { runFeatures } from '../src/run/features.js';
import { writeSaelens } from '../src/io/saelens.js';
import { Rng } from '../src/rng.js';

/** An int32 vector .npy (what harvest writes for token ids and positions). */
function writeI32(file: string, a: Int32Array): void {
  const dict = `{'descr': '<i4', 'fortran_order': False, 'shape': (${a.length},), }`;
  const text = dict + ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const hdr = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(hdr);
  hdr.writeUInt16LE(text.length, 8);
  fs.writeFileSync(file, Buffer.concat([hdr, Buffer.from(text, 'latin1'), Buffer.from(a.buffer, a.byteOffset, a.byteLength)]));
}

const [mode = 'stories', ...rest] = process.argv.slice(2);
const be = new FastCpuBackend();
const log = (m: string) => console.error(m);
try {
  if (mode === 'stories') {
    const sae = rest[0];
    if (!sae) throw new Error('usage: bench/features.ts stories <sae-dir> [out]  (an SAE trained on ../shared/data/stories260K)');
    const out = rest[1] ?? path.join(os.tmpdir(), 'batchtopk-features-stories');
    const r = await runFeatures({ sae, data: '../shared/data/stories260K', out, model: '../shared/data/stories260K/stories260K.bin', log }, be);
    console.log(JSON.stringify(r));
  } else if (mode === 'synthetic') {
    const rows = Number(rest[0] ?? 20_000);
    const d = Number(rest[1] ?? 768);
    const m = Number(rest[2] ?? 24576);
    const k = Number(rest[3] ?? 32);
    const threshold = Number(rest[4] ?? 1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-features-bench-'));
    try {
      const rng = new Rng(1);
      // Unit dictionary rows, shared by data and SAE.
      const dict = new Float32Array(m * d);
      for (let j = 0; j < m; j++) {
        let n = 0;
        for (let c = 0; c < d; c++) n += (dict[j * d + c] = rng.normal()) ** 2;
        for (let c = 0; c < d; c++) dict[j * d + c]! /= Math.sqrt(n);
      }
      const data = path.join(dir, 'data');
      fs.mkdirSync(data);
      const ids = new Int32Array(rows);
      const pos = new Int32Array(rows);
      for (let r = 0; r < rows; r++) {
        ids[r] = rng.int(50257);
        pos[r] = r % 128;
      }
      const t0 = performance.now();
      const acts = new Float32Array(rows * d);
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < k; i++) {
          const j = rng.int(m);
          const a = 1 + rng.uniform();
          for (let c = 0; c < d; c++) acts[r * d + c]! += a * dict[j * d + c]!;
        }
      }
      writeNpy(path.join(data, 'acts_00000.npy'), acts, rows, d, 'f16');
      writeI32(path.join(data, 'tokens_00000.npy'), ids);
      writeI32(path.join(data, 'positions_00000.npy'), pos);
      log(`synthetic data: ${rows} x ${d}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const W_enc = new Float32Array(d * m);
      for (let j = 0; j < m; j++) for (let c = 0; c < d; c++) W_enc[c * m + j] = dict[j * d + c]!;
      writeSaelens(path.join(dir, 'sae'), {
        architecture: 'jumprelu', dIn: d, dSae: m, W_enc, W_dec: dict, b_enc: new Float32Array(m), b_dec: new Float32Array(d),
        threshold: new Float32Array(m).fill(threshold), applyBDecToInput: true, normalizeActivations: 'none', metadata: {},
      });
      // The encoder alone, on the same backend and batch size.
      {
        const { readSae } = await import('../src/io/saelens.js');
        const { fromSaeExport } = await import('../src/sae/export.js');
        const { uploadParams, paramList } = await import('../src/sae/params.js');
        const { backendEncoder } = await import('../src/features/encoder.js');
        const { model, params: host } = fromSaeExport(readSae(path.join(dir, 'sae')));
        const params = uploadParams(be, model.cfg, host);
        const enc = backendEncoder(be, { ...model, params });
        const n = Math.min(rows, 4096);
        const t1 = performance.now();
        for (let s0 = 0; s0 < n; s0 += 1024) await enc.encode(acts.subarray(s0 * d, Math.min(n, s0 + 1024) * d), Math.min(1024, n - s0));
        const sec = (performance.now() - t1) / 1000;
        log(`encoder alone: ${n} rows in ${sec.toFixed(1)} s = ${Math.round(n / sec)} rows/s`);
        for (const p of paramList(params)) p.free();
      }
      // FEATURES_OUT keeps the page (e.g. for bench/features_browser.ts on a 24576-latent page).
      const out = process.env.FEATURES_OUT ?? path.join(dir, 'out');
      const r = await runFeatures({ sae: path.join(dir, 'sae'), data, out, log }, be);
      const bytes = fs.statSync(path.join(out, 'features.json')).size;
      console.log(JSON.stringify({ ...r, featuresJsonBytes: bytes }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } else throw new Error(`unknown mode ${mode}: stories | synthetic`);
} finally {
  be.dispose();
}
