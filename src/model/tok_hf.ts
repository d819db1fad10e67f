// Hugging Face tokenizer.json through @huggingface/tokenizers (pure JS, no dependencies), with
// tokenizer_config.json when present. encode() adds no special tokens: the caller prepends BOS.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTok } from '@huggingface/tokenizers';
import type { Tokenizer } from './tokenizer.js';

export class HfTokenizer implements Tokenizer {
  readonly name = 'hf:tokenizer.json';
  private readonly tok: HfTok;

  constructor(
    dir: string,
    readonly vocabSize: number,
    readonly bosId: number,
  ) {
    const file = join(dir, 'tokenizer.json');
    if (!existsSync(file)) throw new Error(`${dir}: no tokenizer.json`);
    const json = JSON.parse(readFileSync(file, 'utf8')) as object;
    const cfgFile = join(dir, 'tokenizer_config.json');
    const cfg = existsSync(cfgFile) ? (JSON.parse(readFileSync(cfgFile, 'utf8')) as object) : {};
    this.tok = new HfTok(json, cfg);
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids.map(Number);
  }

  decode(ids: readonly number[]): string {
    return this.tok.decode([...ids], { skip_special_tokens: true });
  }
}
