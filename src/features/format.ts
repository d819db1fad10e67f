// features.json's per-latent entries: what `features` writes (run/features.ts) and the page reads (page.ts).

export interface Example {
  row: number;
  activation: number;
  tokens: string[];
  activations: number[];
  focus: number;
}

export interface LatentEntry {
  index: number;
  density: number;
  count: number;
  max_activation: number;
  mean_activation: number;
  mean_activation_all_rows: number;
  histogram: { edges: number[]; counts: number[] };
  examples: Example[];
  interval_examples: (Example & { band: string })[];
  top_logits?: { token: string; value: number }[];
  bottom_logits?: { token: string; value: number }[];
}
