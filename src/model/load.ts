// Open a language model from a path: a llama2.c checkpoint (.bin, with its tok<vocab>.bin / tokenizer.bin
// beside it), a folder holding one, or a Hugging Face folder (config.json, safetensors, tokenizer.json; hf.ts). Errors name what was looked for.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { loadHfWeights } from './hf.js';
import { loadLlama2c } from './llama2c.js';
import { openHfTokenizer } from './tok_hf.js';
import { Llama2cTokenizer } from './tok_llama2c.js';
import type { Tokenizer } from './tokenizer.js';
import type { ModelWeights } from './weights.js';

export interface LoadModelOptions {
  /** A llama2.c tokenizer file (default: tok<vocab>.bin or tokenizer.bin beside the checkpoint). */
  tokenizer?: string;
  /** The name written to manifests and cfg.json's model_name (default: see modelNameOf). */
  modelName?: string;
  /** Where warnings go (default: stderr): a config BOS that disagrees with the tokenizer's. */
  warn?: (line: string) => void;
}

/**
 * The model's name for cfg.json (SAELens's model_name, which Neuronpedia and TransformerLens look models up
 * by): a Hugging Face cache snapshot (.../models--org--name/snapshots/<hash>) is "org/name", not its hash;
 * otherwise config.json's _name_or_path when it is a hub id rather than a local path; otherwise the folder's
 * (or checkpoint file's) name.
 */
export function modelNameOf(path: string, cfg: Record<string, unknown> | null): string {
  const parts = resolve(path).split(sep);
  const snap = parts.lastIndexOf('snapshots');
  if (snap > 0 && snap === parts.length - 2 && parts[snap - 1]!.startsWith('models--')) {
    return parts[snap - 1]!.slice('models--'.length).split('--').join('/');
  }
  const n = cfg?.['_name_or_path'];
  if (typeof n === 'string' && /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(n) && !existsSync(n)) return n;
  return basename(resolve(path)).replace(/\.bin$/, '');
}

export interface LoadedModel {
  /** A name for manifests and cfg.json (modelNameOf, or the modelName option). */
  name: string;
  path: string;
  weights: ModelWeights;
  tokenizer: Tokenizer;
}

function llama2cTokenizerFor(dir: string, vocab: number, explicit?: string): string {
  if (explicit) return explicit;
  for (const name of [`tok${vocab}.bin`, 'tokenizer.bin']) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`no tokenizer for the llama2.c checkpoint: expected tok${vocab}.bin or tokenizer.bin in ${dir} (or pass --tokenizer)`);
}

export function loadModel(path: string, opts: LoadModelOptions = {}): LoadedModel {
  const p = resolve(path);
  if (!existsSync(p)) throw new Error(`model not found: ${path}`);
  if (statSync(p).isDirectory()) {
    const entries = readdirSync(p);
    if (entries.includes('config.json')) {
      const weights = loadHfWeights(p);
      const cfg = JSON.parse(readFileSync(join(p, 'config.json'), 'utf8')) as Record<string, unknown>; // read once already by loadHfWeights
      const c = weights.config;
      const tokenizer = openHfTokenizer(p, { vocabSize: c.vocabSize, configBos: c.bosId >= 0 ? c.bosId : null, modelType: c.arch, warn: opts.warn ?? ((l) => console.error(l)) });
      c.bosId = tokenizer.bosId;
      return { name: opts.modelName ?? modelNameOf(p, cfg), path: p, weights, tokenizer };
    }
    const bins = entries.filter((e) => e.endsWith('.bin') && !/^tok.*\.bin$/.test(e) && e !== 'tokenizer.bin');
    if (bins.length !== 1) {
      throw new Error(`${path}: not a model folder: expected config.json (Hugging Face) or exactly one llama2.c checkpoint .bin, found ${bins.length === 0 ? 'none' : bins.join(', ')}`);
    }
    return loadModel(join(p, bins[0]!), opts);
  }
  if (!p.endsWith('.bin')) throw new Error(`${path}: not a model: expected a llama2.c .bin checkpoint or a model folder`);
  const weights = loadLlama2c(p);
  const tokenizer = new Llama2cTokenizer(llama2cTokenizerFor(dirname(p), weights.config.vocabSize, opts.tokenizer), weights.config.vocabSize);
  return { name: opts.modelName ?? modelNameOf(p, null), path: p, weights, tokenizer };
}
