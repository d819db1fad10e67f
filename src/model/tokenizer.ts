// The tokenizer interface the harvest and CE code use, whatever the model format.
export interface Tokenizer {
  /** A short description for manifests (e.g. "llama2c:tok512.bin", "hf:tokenizer.json"). */
  readonly name: string;
  readonly vocabSize: number;
  readonly bosId: number;
  /** Ids of `text` without BOS/EOS (the caller adds BOS). */
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}
