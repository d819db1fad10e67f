// What a harvest folder was made from: the fingerprints (io/fingerprint.ts: size and SHA-256) of the text, the
// model's files and the tokenizer, kept in <out>/inputs.json beside the manifest. A harvest continued in the
// folder must read the same files: one replaced in between would mix two corpora (or two models) in one folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors.js';
import { checkNamedInputs, fingerprintNamed, type NamedInputs } from '../io/fingerprint.js';
import { writeJsonAtomic } from '../io/atomic.js';

export const INPUTS_FILE = 'inputs.json';

/** The files a model path stands for: the checkpoint itself, or a folder's weights, config and tokenizer files. */
export function modelFiles(p: string): string[] {
  if (!fs.statSync(p).isDirectory()) return [p];
  return fs
    .readdirSync(p)
    .filter((n) => /\.(safetensors|bin|json|model)$/.test(n))
    .sort()
    .map((n) => path.join(p, n));
}

/**
 * Record the inputs of a new harvest, or refuse to continue one whose inputs changed. A folder with
 * activation shards but no manifest.json is not ours to continue either.
 */
export function checkHarvestInputs(out: string, files: Record<string, readonly string[]>): void {
  const file = path.join(out, INPUTS_FILE);
  const hasManifest = fs.existsSync(path.join(out, 'manifest.json'));
  if (!hasManifest && fs.existsSync(out) && fs.readdirSync(out).some((n) => /^acts_.*\.npy$/.test(n))) {
    throw new DataError(`${out} holds activation shards but no manifest.json: it is not a harvest this command can continue; choose an empty --out (or remove those shards)`);
  }
  if (hasManifest && fs.existsSync(file)) {
    let was: NamedInputs;
    try {
      was = JSON.parse(fs.readFileSync(file, 'utf8')) as NamedInputs;
    } catch (err) {
      throw new DataError(`${file}: not valid JSON (${(err as Error).message}); delete it to continue without the input check`);
    }
    checkNamedInputs(was, files, 'use the same files to continue this harvest, or another --out');
    return;
  }
  fs.mkdirSync(out, { recursive: true });
  writeJsonAtomic(file, fingerprintNamed(files));
}
