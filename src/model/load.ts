// Open a language model from a path: a llama2.c checkpoint (.bin, with its tok<vocab>.bin / tokenizer.bin
// beside it), a folder holding one, or a Hugging Face folder (config.json, safetensors, tokenizer.json; hf.ts). Errors name what was looked for.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadHfWeights } from './hf.js';
import { loadLlama2c } from './llama2c.js';
import { HfTokenizer } from './tok_hf.js';
import { Llama2cTokenizer } from './tok_llama2c.js';
import type { Tokenizer } from './tokenizer.js';
import type { ModelWeights } from './weights.js';

export interface LoadedModel {
  /** A name for manifests and cfg.json (the checkpoint's file or folder name). */
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

export function loadModel(path: string, opts: { tokenizer?: string } = {}): LoadedModel {
  const p = resolve(path);
  if (!existsSync(p)) throw new Error(`model not found: ${path}`);
  if (statSync(p).isDirectory()) {
    const entries = readdirSync(p);
    if (entries.includes('config.json')) {
      const weights = loadHfWeights(p);
      const tokenizer = new HfTokenizer(p, weights.config.vocabSize, weights.config.bosId);
      return { name: basename(p), path: p, weights, tokenizer };
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
  return { name: basename(p).replace(/\.bin$/, ''), path: p, weights, tokenizer };
}
