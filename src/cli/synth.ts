// `batchtopk synth --out <file>`: writes a synthetic activation set (.npy, float32, [rows, d]) streamed
// row block by row block, and beside it its ground truth: <stem>.dictionary.npy [features, d].
import * as path from 'node:path';
import { NpyWriter, writeNpy } from '../data/npy.js';
import { DataError } from '../data/errors.js';
import { SyntheticModel, type SynthConfig } from '../synth.js';

export interface SynthOptions extends Partial<SynthConfig> {
  out: string;
  rows: number;
}

export function runSynth(o: SynthOptions): { data: string; dictionary: string; rows: number; dIn: number; nFeatures: number } {
  if (!o.out.endsWith('.npy')) throw new DataError(`${o.out}: synth writes .npy files; give a path ending in .npy`);
  if (!Number.isInteger(o.rows) || o.rows < 1) throw new DataError(`--rows must be a positive integer, got ${o.rows}`);
  const { out, rows, ...cfg } = o;
  const model = new SyntheticModel(cfg);
  const d = model.cfg.dIn;
  const w = new NpyWriter(out, rows, d);
  const block = 4096;
  const buf = new Float32Array(block * d);
  for (let start = 0; start < rows; start += block) {
    const n = Math.min(block, rows - start);
    model.rows(start, n, buf);
    w.writeRows(buf.subarray(0, n * d));
  }
  w.close();
  const dictionary = path.join(path.dirname(out), path.basename(out, '.npy') + '.dictionary.npy');
  writeNpy(dictionary, model.dictionary, model.cfg.nFeatures, d);
  return { data: out, dictionary, rows, dIn: d, nFeatures: model.cfg.nFeatures };
}
