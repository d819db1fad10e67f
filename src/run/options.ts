// Options several commands share, each described once; a command's schema takes them by name (and may add to
// a description, e.g. `{ ...OPTIONS.data, definesRun: true }`).
import { DEFAULT_SHARDS, SIDE_FILES } from '../data/source.js';
import { TEXT_ENCODINGS } from '../model/text.js';
import type { OptionSpec } from './schema.js';

export const SHARD_HELP = `default: the "shards" list of its manifest.json, else ${DEFAULT_SHARDS}; never ${SIDE_FILES.map((f) => f.glob).join(', ')}`;

export const OPTIONS = {
  sae: { kind: 'string', arg: 'sae-dir', positional: true, help: 'The SAELens folder of the SAE' },
  data: { kind: 'string', arg: 'path', help: 'Activations (.npy, .safetensors or a directory of shards)' },
  tensor: { kind: 'string', arg: 'name', help: 'Tensor to read from .safetensors files holding several' },
  shards: { kind: 'string', arg: 'glob', help: `Which files of a --data directory are shards (${SHARD_HELP})` },
  model: { kind: 'string', arg: 'path', help: 'Language model: a llama2.c checkpoint (.bin, tok*.bin beside it), a folder holding one, or a Hugging Face folder (gpt2/llama: config.json, safetensors, tokenizer.json)' },
  tokenizer: { kind: 'string', arg: 'file', help: 'Tokenizer file, when not beside the checkpoint' },
  text: { kind: 'string', arg: 'file', help: 'Documents: .txt (one per blank-line-separated block) or .jsonl (a "text" field per line)' },
  encoding: {
    kind: 'choice',
    choices: TEXT_ENCODINGS,
    arg: 'e',
    default: 'utf8',
    help: "How the --text file's bytes are read: utf8 refuses invalid UTF-8 (naming the count and first line), utf8-replace replaces it with U+FFFD and warns with the count, latin1 reads each byte as a character",
  },
  quiet: { kind: 'boolean', default: false, help: 'No progress output' },
  batchRows: { kind: 'int', min: 1, arg: 'n', default: 4096, help: 'Tokens per forward pass of the language model' },
} as const satisfies Record<string, OptionSpec>;
