// SAE configuration: typed, defaulted, documented, validated once.
export const ARCHS = ['batchtopk', 'topk', 'jumprelu', 'relu', 'matryoshka'] as const;
export type Arch = (typeof ARCHS)[number];

/**
 * Architectures trained with the batch top-k selection and served with a calibrated global threshold theta
 * (exported as SAELens jumprelu): BatchTopK and Matryoshka BatchTopK.
 */
export function hasBatchThreshold(arch: Arch): arch is 'batchtopk' | 'matryoshka' {
  return arch === 'batchtopk' || arch === 'matryoshka';
}

export const NORMALIZE_MODES = ['none', 'layernorm', 'scalar'] as const;
export type NormalizeMode = (typeof NORMALIZE_MODES)[number];

export interface SaeConfig {
  /** Architecture: batchtopk (n*k per batch), topk (k per sample), jumprelu (learned threshold + L0), relu (L1). */
  arch: Arch;
  /** Input dimension d. */
  dIn: number;
  /** Number of latents m. */
  dSae: number;
  /** Active latents per sample: exact for topk, the batch average for batchtopk. */
  k: number;
  /** Dead latents used by the AuxK loss (topk/batchtopk), as the BatchTopK paper's top_k_aux. */
  kAux: number;
  /** AuxK loss weight alpha (paper: 1/32). */
  auxAlpha: number;
  /** A latent is dead after this many tokens without a positive activation (paper's code: 5 batches of 4096). */
  deadTokens: number;
  /** L1 coefficient (relu). */
  l1Coeff: number;
  /** L0 coefficient (jumprelu). */
  l0Coeff: number;
  /**
   * Rectangle-kernel bandwidth of the JumpReLU straight-through estimator, in the units the SAE sees (the
   * normalised input: JumpReLU defaults to --normalize scalar, E||x|| = sqrt(d)). See jumprelu.ts.
   */
  bandwidth: number;
  /** Initial JumpReLU threshold, in the same units as bandwidth. */
  thetaInit: number;
  /**
   * JumpReLU: when > 0, start each latent's threshold from the data instead of thetaInit, at the quantile of
   * its pre-activations on the first batch that gives this L0 overall (jumprelu.ts, initThetaFromData).
   * 0 or absent: thetaInit for every latent.
   */
  thetaInitL0?: number;
  /**
   * Matryoshka: cumulative prefix widths w_1 < w_2 < ... < w_n = dSae (SAELens's matryoshka_widths). Each
   * prefix (latents < w_i, with b_dec) must reconstruct the input on its own. Empty for other architectures.
   */
  matryoshkaWidths: readonly number[];
  /** Matryoshka: the loss weight of each prefix's reconstruction error (empty: defaultMatryoshkaWeights, w_i / dSae). */
  matryoshkaWeights: readonly number[];
}

export const SAE_DEFAULTS: Omit<SaeConfig, 'dIn' | 'dSae'> = {
  arch: 'batchtopk',
  k: 32,
  kAux: 512,
  auxAlpha: 1 / 32,
  deadTokens: 20_480,
  l1Coeff: 1e-3,
  l0Coeff: 1e-3,
  // JumpReLU: measured on the stories260K activations (README, "JumpReLU"): under scalar normalisation the
  // centred pre-activations have a spread of about 0.9, so theta = 0.5 starts with about a fifth of the latents
  // on; bandwidth 0.05 catches enough samples per batch for a usable threshold gradient (0.001, the paper's,
  // catches ~50x fewer and the coefficient barely acts within 1500 steps).
  bandwidth: 0.05,
  thetaInit: 0.5,
  matryoshkaWidths: [],
  matryoshkaWeights: [],
};

export function makeSaeConfig(c: Partial<SaeConfig> & Pick<SaeConfig, 'dIn' | 'dSae'>): SaeConfig {
  const cfg: SaeConfig = { ...SAE_DEFAULTS, ...c };
  const bad = (msg: string): never => {
    throw new Error(`sae config: ${msg}`);
  };
  if (!ARCHS.includes(cfg.arch)) bad(`arch must be one of ${ARCHS.join(', ')}, got '${cfg.arch}'`);
  for (const key of ['dIn', 'dSae', 'k', 'kAux', 'deadTokens'] as const) {
    if (!Number.isInteger(cfg[key]) || cfg[key] < 1) bad(`${key} must be a positive integer, got ${cfg[key]}`);
  }
  if ((cfg.arch === 'topk' || hasBatchThreshold(cfg.arch)) && cfg.k > cfg.dSae) bad(`k (${cfg.k}) must be <= dSae (${cfg.dSae})`);
  checkMatryoshka(cfg, bad);
  for (const key of ['auxAlpha', 'l1Coeff', 'l0Coeff'] as const) {
    if (!(cfg[key] >= 0) || !Number.isFinite(cfg[key])) bad(`${key} must be a finite number >= 0, got ${cfg[key]}`);
  }
  if (!(cfg.bandwidth > 0)) bad(`bandwidth must be > 0, got ${cfg.bandwidth}`);
  if (!(cfg.thetaInit > 0)) bad(`thetaInit must be > 0, got ${cfg.thetaInit}`);
  const l0Init = cfg.thetaInitL0 ?? 0;
  if (!(l0Init >= 0 && l0Init < cfg.dSae)) bad(`thetaInitL0 must be >= 0 (0: off) and below dSae (${cfg.dSae}), got ${cfg.thetaInitL0}`);
  return cfg;
}

/** The Matryoshka fields: required and consistent for arch matryoshka, absent otherwise. */
function checkMatryoshka(cfg: SaeConfig, bad: (msg: string) => never): void {
  const w = cfg.matryoshkaWidths;
  const wt = cfg.matryoshkaWeights;
  if (!Array.isArray(w) || !Array.isArray(wt)) bad('matryoshkaWidths and matryoshkaWeights must be arrays of numbers');
  if (cfg.arch !== 'matryoshka') {
    if (w.length || wt.length) bad(`matryoshkaWidths/matryoshkaWeights apply to arch matryoshka only (this is ${cfg.arch}); drop them or set arch matryoshka`);
    return;
  }
  const example = defaultMatryoshkaWidths(cfg.dSae).join(',');
  if (w.length === 0) bad(`arch matryoshka needs matryoshkaWidths: cumulative prefix widths ending at dSae (${cfg.dSae}), e.g. ${example}`);
  w.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 1) bad(`matryoshkaWidths[${i}] must be a positive integer, got ${v}`);
    if (i > 0 && !(v > w[i - 1]!)) bad(`matryoshkaWidths must be strictly increasing, got ${w.join(',')}`);
  });
  if (w[w.length - 1] !== cfg.dSae) bad(`the last matryoshkaWidths entry must equal dSae (${cfg.dSae}), got ${w.join(',')} (e.g. ${example})`);
  if (wt.length && wt.length !== w.length) bad(`matryoshkaWeights has ${wt.length} entries for ${w.length} widths; give one weight per prefix or none`);
  wt.forEach((v, i) => {
    if (!(v >= 0) || !Number.isFinite(v)) bad(`matryoshkaWeights[${i}] must be a finite number >= 0, got ${v}`);
  });
  if (wt.length && !wt.some((v) => v > 0)) bad('matryoshkaWeights must have at least one positive weight');
}

/**
 * Prefix widths m/8, m/4, m/2, m (duplicates and zeros dropped): a default for callers that size dictionaries
 * in bulk (sweeps), where absolute widths do not carry over between sizes. Not applied silently: a Matryoshka
 * config must name its widths.
 */
export function defaultMatryoshkaWidths(dSae: number): number[] {
  return [dSae >> 3, dSae >> 2, dSae >> 1, dSae].filter((v, i, a) => v > 0 && a.indexOf(v) === i);
}

/**
 * The default loss weights of the prefixes: each prefix weighs its share of the dictionary, w_i / dSae, so the
 * full width weighs 1 (plain BatchTopK's loss, with AuxK's alpha against it as there) and a prefix half as wide
 * weighs half as much. With equal weights the full width carries 1/n of the loss and ends 13-15% above plain
 * BatchTopK's nmse at equal steps on stories260K; with these, within 6% (bench/RESULTS.md, "Matryoshka defaults").
 * Used whenever matryoshkaWeights is empty (the run's --matryoshka-weights unset).
 */
export function defaultMatryoshkaWeights(widths: readonly number[]): number[] {
  const m = widths[widths.length - 1]!;
  return widths.map((w) => w / m);
}
