// The step metrics of a settle window, kept on the device: each step adds its scalars to device accumulators
// (no host wait), and `settle` packs them into one small buffer and reads it once. Nothing here feeds the
// training computation, so when the host reads changes no bit of a run (only what it reports).
//
// Per step: the sums of loss, mse, aux, sparsity, l0 and the Matryoshka prefix mse; over the steps whose batch
// cut theta_b (the smallest positive selected value) is usable, their sum, count and minimum; and the running
// theta estimate's uncorrected EMA and update count, which persist across windows (ThresholdEma's update,
// on the device in float32; its bias correction is applied on the host from the count). A non-finite loss
// makes the loss sum non-finite for the rest of the window, which is how the settle detects divergence
// without a comparison on the device (WGSL may assume no NaN or infinity in comparisons).
import type { Backend } from '../backend/backend.js';
import * as o from '../ops.js';
import { readScalars, scalar, tidy, type Tensor } from '../tensor.js';

/** Stands in for +inf as the minimum of no cut (the kernels report >= 1e38 when no selected value is positive). */
const NO_CUT = 3.0e38;
/** theta_b at or above this is "no positive selected value" (threshold.ts isCut). */
const CUT_LIMIT = 1e38;

/** One step's device scalars (null where the architecture has none). */
export interface StepScalars {
  loss: Tensor;
  mse: Tensor;
  aux: Tensor | null;
  sparsity: Tensor | null;
  l0: Tensor;
  minSelected: Tensor | null;
  prefixMse: Tensor[];
}

/** What one read of the window's accumulators says (sums over the window's steps; float32 accumulation). */
export interface WindowSums {
  loss: number;
  mse: number;
  aux: number;
  sparsity: number;
  l0: number;
  prefixMse: number[];
  /** Steps whose theta_b was a usable cut, their sum and minimum (NO_CUT when none). */
  cuts: number;
  cutSum: number;
  cutMin: number;
  /** The running estimate's uncorrected EMA and the cuts it has seen (the whole run, not the window). */
  ema: number;
  emaCount: number;
  /** Latents dead now. */
  dead: number;
  /** The most steps since a latent that is not dead fired (-1: every latent dead). */
  maxAliveSince: number;
}

const SUMS = ['loss', 'mse', 'aux', 'sparsity', 'l0', 'cutSum', 'cuts', 'cutMin', 'ema', 'emaCount'] as const;
type Slot = (typeof SUMS)[number];

export class StepWindow {
  private readonly acc: Record<Slot, Tensor>;
  private prefix: Tensor[] = [];

  constructor(
    private readonly backend: Backend,
    private emaRate: number,
  ) {
    this.acc = Object.fromEntries(SUMS.map((k) => [k, scalar(backend, 0).keep()])) as Record<Slot, Tensor>;
    backend.fill(this.acc.cutMin.storage, NO_CUT);
  }

  /** Set the running estimate (a restore). Values are stored in float32. */
  setEma(ema: number, count: number, rate: number): void {
    this.emaRate = rate;
    this.backend.fill(this.acc.ema.storage, ema);
    this.backend.fill(this.acc.emaCount.storage, count);
  }

  /**
   * Add one step's scalars: device work only. The accumulators are updated in place (copied into), so the
   * step's new values are temporaries like the step's others: kept tensors allocated every step would stay
   * scattered through the fast CPU backend's heap and keep it from reusing a freed [B,M] block (measured:
   * +250 MB peak at 768/24576/32/4096).
   */
  add(s: StepScalars): void {
    while (this.prefix.length < s.prefixMse.length) this.prefix.push(scalar(this.backend, 0).keep());
    tidy(() => {
      const n: Partial<Record<Slot, Tensor>> = {
        loss: o.add(this.acc.loss, s.loss),
        mse: o.add(this.acc.mse, s.mse),
        l0: o.add(this.acc.l0, s.l0),
      };
      if (s.aux) n.aux = o.add(this.acc.aux, s.aux);
      if (s.sparsity) n.sparsity = o.add(this.acc.sparsity, s.sparsity);
      if (s.minSelected) {
        const v = s.minSelected;
        // cut = 1 when 0 < v < 1e38 (isCut), else 0; v is finite (the kernel's stand-in, not +inf).
        const cut = o.mul(o.step(v), o.addScalar(o.neg(o.ge(v, scalar(this.backend, CUT_LIMIT))), 1));
        const kept = o.mul(v, cut);
        n.cutSum = o.add(this.acc.cutSum, kept);
        n.cuts = o.add(this.acc.cuts, cut);
        n.cutMin = o.minimum(this.acc.cutMin, o.add(kept, o.mulScalar(o.addScalar(o.neg(cut), 1), NO_CUT)));
        // ThresholdEma.update: ema += rate (v - ema) on a cut, nothing otherwise.
        n.ema = o.add(this.acc.ema, o.mul(o.mulScalar(o.sub(v, this.acc.ema), this.emaRate), cut));
        n.emaCount = o.add(this.acc.emaCount, cut);
      }
      for (const [k, t] of Object.entries(n) as [Slot, Tensor][]) this.backend.copy(this.acc[k].storage, t.storage);
      s.prefixMse.forEach((t, i) => this.backend.copy(this.prefix[i]!.storage, o.add(this.prefix[i]!, t).storage));
    });
  }

  /**
   * Read the accumulators (and `dead` and `maxAliveSince`, scalars the caller computed) in one read, then
   * reset the window's sums (the EMA carries on).
   */
  async read(dead: Tensor, maxAliveSince: Tensor): Promise<WindowSums> {
    const v = await readScalars([...SUMS.map((k) => this.acc[k]), dead, maxAliveSince, ...this.prefix]);
    const at = (k: Slot) => v[SUMS.indexOf(k)]!;
    for (const k of SUMS) if (k !== 'ema' && k !== 'emaCount') this.backend.fill(this.acc[k].storage, k === 'cutMin' ? NO_CUT : 0);
    for (const t of this.prefix) this.backend.fill(t.storage, 0);
    return {
      loss: at('loss'),
      mse: at('mse'),
      aux: at('aux'),
      sparsity: at('sparsity'),
      l0: at('l0'),
      prefixMse: Array.from(v.subarray(SUMS.length + 2)),
      cuts: at('cuts'),
      cutSum: at('cutSum'),
      cutMin: at('cutMin'),
      ema: at('ema'),
      emaCount: at('emaCount'),
      dead: v[SUMS.length]!,
      maxAliveSince: v[SUMS.length + 1]!,
    };
  }

  /** The running estimate's state (a checkpoint): one read. */
  async ema(): Promise<{ ema: number; count: number }> {
    const [ema, count] = await readScalars([this.acc.ema, this.acc.emaCount]);
    return { ema: ema!, count: count! };
  }

  dispose(): void {
    for (const k of SUMS) this.acc[k].free();
    this.prefix.forEach((t) => t.free());
  }
}
