// Hugging Face tokenizer.json through @huggingface/tokenizers (pure JS, no dependencies), with
// tokenizer_config.json when present. encode() adds no special tokens: the caller prepends BOS.
// The BOS id is resolved against the tokenizer (openHfTokenizer): the token the tokenizer declares as its BOS
// wins over config.json's bos_token_id, with a warning when they disagree, and a config without one no longer
// falls back to GPT-2's 50256 whatever the vocabulary.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTok } from '@huggingface/tokenizers';
import type { Tokenizer } from './tokenizer.js';

export class HfTokenizer implements Tokenizer {
  readonly name = 'hf:tokenizer.json';

  constructor(
    private readonly tok: HfTok,
    readonly vocabSize: number,
    readonly bosId: number,
  ) {}

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids.map(Number);
  }

  decode(ids: readonly number[]): string {
    return this.tok.decode([...ids], { skip_special_tokens: true });
  }
}

type Json = Record<string, unknown>;

function readJson(file: string, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read ${what} (${(err as Error).message}); use the file saved with the model (save_pretrained)`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${file}: ${what} must be a JSON object; use the file saved with the model (save_pretrained)`);
  return v as Json;
}

/** The tokenizer files of a Hugging Face folder, parsed; errors name the file instead of the library's internals. */
function parseTokenizer(dir: string): { tok: HfTok; json: Json; cfg: Json; file: string; cfgFile: string } {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) throw new Error(`${dir}: no tokenizer.json (only the fast-tokenizer format is read; save it with tokenizer.save_pretrained)`);
  const json = readJson(file, 'the tokenizer');
  const cfgFile = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? readJson(cfgFile, 'the tokenizer config') : {};
  if (typeof json['model'] !== 'object' || json['model'] === null) {
    throw new Error(`${file}: not a Hugging Face tokenizer.json (no "model" object); use the tokenizer.json saved with the model (tokenizer.save_pretrained)`);
  }
  try {
    return { tok: new HfTok(json, cfg), json, cfg, file, cfgFile };
  } catch (err) {
    throw new Error(`${file}: not a tokenizer @huggingface/tokenizers can read (${(err as Error).message}); use the tokenizer.json saved with the model (tokenizer.save_pretrained)`);
  }
}

/** The BOS token the tokenizer itself declares: tokenizer_config.json's bos_token, else the first special token of tokenizer.json's post-processor template. */
function declaredBos(json: Json, cfg: Json, file: string, cfgFile: string): { token: string; source: string } | null {
  const b = cfg['bos_token'];
  if (typeof b === 'string') return { token: b, source: `${cfgFile} bos_token` };
  if (b && typeof b === 'object' && typeof (b as Json)['content'] === 'string') return { token: (b as Json)['content'] as string, source: `${cfgFile} bos_token` };
  const templates = (pp: unknown): Json[] => {
    if (!pp || typeof pp !== 'object') return [];
    const o = pp as Json;
    if (o['type'] === 'TemplateProcessing') return [o];
    if (o['type'] === 'Sequence' && Array.isArray(o['processors'])) return (o['processors'] as unknown[]).flatMap(templates);
    return [];
  };
  for (const t of templates(json['post_processor'])) {
    const first = Array.isArray(t['single']) ? (t['single'] as Json[])[0] : undefined;
    const sp = first?.['SpecialToken'] as Json | undefined;
    if (sp && typeof sp['id'] === 'string') return { token: sp['id'] as string, source: `${file} post_processor template` };
  }
  return null;
}

/** The documents' first token by model family's convention, used only when nothing declares one. */
const CONVENTIONAL_BOS: Record<string, string> = { gpt2: '<|endoftext|>', llama: '<s>' };

export interface HfTokenizerOptions {
  vocabSize: number;
  /** config.json's bos_token_id, or null when it has none. */
  configBos: number | null;
  modelType: string;
  warn: (line: string) => void;
}

/** The folder's tokenizer with its BOS id resolved (see the header). */
export function openHfTokenizer(dir: string, o: HfTokenizerOptions): HfTokenizer {
  const { tok, json, cfg, file, cfgFile } = parseTokenizer(dir);
  const modelCfg = join(dir, 'config.json');
  const idOf = (token: string, source: string): number => {
    const id = tok.token_to_id(token);
    if (id === undefined) throw new Error(`${source} names '${token}', which is not a token of ${file}: the tokenizer files are inconsistent; use the ones saved with the model`);
    return Number(id);
  };
  const declared = declaredBos(json, cfg, file, cfgFile);
  let bos: number;
  let source: string;
  if (declared) {
    bos = idOf(declared.token, declared.source);
    source = `${declared.source} '${declared.token}'`;
    if (o.configBos !== null && o.configBos !== bos) {
      o.warn(`warning: ${modelCfg} has bos_token_id ${o.configBos}, but the tokenizer's BOS is '${declared.token}' (id ${bos}, from ${declared.source}); documents start with ${bos}, the token the tokenizer declares (fix config.json to silence this)`);
    }
  } else if (o.configBos !== null) {
    bos = o.configBos;
    source = `${modelCfg} bos_token_id`;
  } else {
    const conv = CONVENTIONAL_BOS[o.modelType];
    const id = conv === undefined ? undefined : tok.token_to_id(conv);
    if (id === undefined) {
      throw new Error(`${modelCfg} has no bos_token_id and the tokenizer declares no BOS token (no bos_token in ${cfgFile}, no template in ${file})${conv ? ` and has no '${conv}'` : ''}: add "bos_token_id": <id of the token documents start with> to config.json`);
    }
    bos = Number(id);
    source = `the ${o.modelType} convention '${conv}'`;
  }
  if (!(Number.isInteger(bos) && bos >= 0 && bos < o.vocabSize)) {
    throw new Error(`the BOS id ${bos} (from ${source}) is outside the model's vocabulary of ${o.vocabSize} (vocab_size in ${modelCfg}): fix bos_token_id in config.json`);
  }
  return new HfTokenizer(tok, o.vocabSize, bos);
}
