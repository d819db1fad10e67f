// The two data sets the Matryoshka quality checks train on (spec/sae/matryoshka_real.spec.ts,
// bench/matryoshka_defaults.ts, bench/peer/matryoshka_compare.ts): the stories260K residual stream (non-BOS rows;
// training rows shuffled once, the last 16,384 held out) and the synthetic set (src/synth.ts, d 64, 512
// true features, mean 8 active; 200k training rows, 16,384 held out).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readMatrix } from '../../src/data/source.js';
import { Rng } from '../../src/rng.js';
import { SyntheticModel } from '../../src/synth.js';

export interface RowSets {
  train: Float32Array;
  held: Float32Array;
  d: number;
}

export const EVAL_ROWS = 16_384;

export function realRows(): RowSets {
  const DATA = path.resolve(import.meta.dirname, '../../../shared/data/stories260K');
  const acts = readMatrix(path.join(DATA, 'resid2_f16.npy'));
  const b = fs.readFileSync(path.join(DATA, 'positions_u16.npy'));
  const pos = new Uint16Array(b.buffer.slice(b.byteOffset + 10 + b.readUInt16LE(8), b.byteOffset + b.length));
  const d = acts.cols;
  const rows: number[] = [];
  for (let r = 0; r < acts.rows; r++) if (pos[r] !== 0) rows.push(r);
  const trainRows = rows.slice(0, rows.length - EVAL_ROWS);
  new Rng(3).shuffle(trainRows);
  const take = (list: number[]) => {
    const out = new Float32Array(list.length * d);
    list.forEach((r, i) => out.set(acts.data.subarray(r * d, (r + 1) * d), i * d));
    return out;
  };
  return { train: take(trainRows), held: take(rows.slice(rows.length - EVAL_ROWS)), d };
}

export function synthRows(): RowSets {
  const s = new SyntheticModel({ dIn: 64, nFeatures: 512, meanActive: 8, seed: 7 });
  return { train: s.rows(0, 200_000), held: s.rows(50_000_000, EVAL_ROWS), d: 64 };
}
