// Adam (Kingma & Ba 2015) over a list of parameter tensors, with the BatchTopK paper's defaults
// (lr 3e-4, betas 0.9/0.99). The update runs in one backend primitive per parameter; the bias
// corrections 1 - beta^t are computed on the host in float64.
import type { Storage } from '../backend/backend.js';
import type { Tensor } from '../tensor.js';

export interface AdamConfig {
  /** Learning rate. */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const ADAM_DEFAULTS: AdamConfig = { lr: 3e-4, beta1: 0.9, beta2: 0.99, eps: 1e-8 };

export interface AdamState {
  step: number;
  /** First and second moments, in parameter order. */
  m: Float32Array[];
  v: Float32Array[];
}

export class Adam {
  readonly cfg: AdamConfig;
  /** Steps taken (t in the bias corrections). */
  t = 0;
  private readonly m: Storage[];
  private readonly v: Storage[];

  constructor(
    readonly params: readonly Tensor[],
    cfg: Partial<AdamConfig> = {},
  ) {
    this.cfg = { ...ADAM_DEFAULTS, ...cfg };
    const { lr, beta1, beta2, eps } = this.cfg;
    if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0)) {
      throw new Error(`Adam: invalid hyper-parameters lr=${lr} beta1=${beta1} beta2=${beta2} eps=${eps}`);
    }
    this.m = params.map((p) => p.backend.alloc(p.size, 'f32'));
    this.v = params.map((p) => p.backend.alloc(p.size, 'f32'));
  }

  /** One update of every parameter that has a gradient; `lr` overrides the configured rate (schedules). */
  step(lr = this.cfg.lr): void {
    this.t++;
    const { beta1, beta2, eps } = this.cfg;
    const h = { lr, beta1, beta2, eps, bc1: 1 - beta1 ** this.t, bc2: 1 - beta2 ** this.t };
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      if (p.grad.size !== p.size) throw new Error(`Adam: gradient of shape [${p.grad.shape}] for parameter [${p.shape}]`);
      p.backend.adam(p.storage, this.m[i]!, this.v[i]!, p.grad.storage, h);
    });
  }

  async getState(): Promise<AdamState> {
    const rd = (s: Storage) => this.params[0]!.backend.read(s) as Promise<Float32Array>;
    return { step: this.t, m: await Promise.all(this.m.map(rd)), v: await Promise.all(this.v.map(rd)) };
  }

  setState(st: AdamState): void {
    if (st.m.length !== this.params.length || st.v.length !== this.params.length) {
      throw new Error(`Adam: state holds ${st.m.length} moments for ${this.params.length} parameters`);
    }
    this.t = st.step;
    this.params.forEach((p, i) => {
      if (st.m[i]!.length !== p.size || st.v[i]!.length !== p.size) throw new Error(`Adam: state size mismatch for parameter ${i} [${p.shape}]`);
      p.backend.write(this.m[i]!, st.m[i]!);
      p.backend.write(this.v[i]!, st.v[i]!);
    });
  }

  dispose(): void {
    this.params.forEach((p, i) => {
      p.backend.free(this.m[i]!);
      p.backend.free(this.v[i]!);
    });
  }
}
