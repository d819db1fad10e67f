// The tokenizer interface the harvest and CE code use, whatever the model format.
export interface Tokenizer {
  /** A short description for manifests (e.g. "llama2c:tok512.bin", "hf:tokenizer.json"). */
  readonly name: string;
  readonly vocabSize: number;
  readonly bosId: number;
  /** Ids of `text` without BOS/EOS (the caller adds BOS). */
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /**
   * Whether no merge can join the characters before index i with those from i on, so that encode(text) starts
   * with encode(text.slice(0, i)) (tokenize_prefix.ts cuts long documents there). Defaults to a space after
   * a non-space (cutBeforeSpace).
   */
  canCutBefore?(text: string, i: number): boolean;
}
