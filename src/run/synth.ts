// `batchtopk synth --out <file>`: writes a synthetic activation set (.npy, float32, [rows, d]) streamed
// row block by row block, and beside it its ground truth: <stem>.dictionary.npy [features, d].
import * as path from 'node:path';
import { NpyWriter, writeNpy } from '../data/npy.js';
import { DataError } from '../data/errors.js';
import { SyntheticModel, type SynthConfig } from '../synth.js';
import { resolveOptions, type Schema } from './schema.js';

export interface SynthOptions {
  out: string;
  rows: number;
  dIn: number;
  /** Ground-truth features. */
  features: number;
  meanActive: number;
  seed: number;
}

export const SYNTH_SCHEMA: Schema<SynthOptions> = {
  out: { kind: 'string', arg: 'file', help: 'Output .npy file (the dictionary goes to <stem>.dictionary.npy)' },
  rows: { kind: 'int', min: 1, arg: 'n', default: 100_000, help: 'Rows (tokens)' },
  dIn: { kind: 'int', min: 1, arg: 'd', default: 64, help: 'Activation dimension' },
  features: { kind: 'int', min: 1, arg: 'f', default: 128, help: 'Ground-truth features' },
  meanActive: { kind: 'number', min: 0, arg: 'a', default: 6, help: 'Mean active features per sample' },
  seed: { kind: 'int', min: 0, max: 0xffffffff, arg: 'n', default: 0, help: 'Seed' },
};

/** The other settings of the synthetic model (synth.ts SYNTH_DEFAULTS) may be given too. */
export function runSynth(given: Partial<SynthOptions> & Pick<SynthOptions, 'out'>, extra: Partial<SynthConfig> = {}): { data: string; dictionary: string; rows: number; dIn: number; nFeatures: number } {
  const o = resolveOptions(SYNTH_SCHEMA, given);
  if (!o.out.endsWith('.npy')) throw new DataError(`${o.out}: synth writes .npy files; give a path ending in .npy`);
  const { out, rows, features, ...cfg } = o;
  const model = new SyntheticModel({ ...extra, ...cfg, nFeatures: features });
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
