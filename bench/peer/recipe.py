"""The BatchTopK paper's SAE training recipe in PyTorch (our own code, written from
/work/shared/reference/sae-implementations.md and batchtopk-paper.md; it follows the official
bartbussmann/BatchTopK sae.py / training.py step for step). It is the peer our TypeScript trainer is
compared against, for quality (compare_quality.ts) and for speed (the dense step at the paper's shapes).

What "faithful" means here (each point is the official code's behaviour, kept on purpose):
  * encoder: acts = relu((x - b_dec) @ W_enc); b_enc exists but is NOT used by TopK / BatchTopK.
  * selection: batchtopk keeps the n*k largest entries of the flattened [n, m] acts (torch.topk over the
    flattened matrix), topk the k largest per row; the kept values are scattered into a dense [n, m] matrix.
  * decoder: dense x_hat = acts_topk @ W_dec + b_dec.
  * loss: element-mean squared error + AuxK (element mean, times alpha = 1/32). AuxK: latents that have not
    fired (no positive selected value) for >= n_batches_to_dead (5) batches are dead; the top-min(k_aux, #dead)
    of the dead latents' post-ReLU acts per row reconstruct the residual x - x_hat through W_dec[dead] with no
    b_dec. The residual is NOT detached (official behaviour, issue BatchTopK #4); the dead counters are updated
    with the current batch before the AuxK loss is formed.
  * init: W_enc [d, m] kaiming_uniform_ (torch's fan_in is size(1) = m, gain sqrt 2: U(+-sqrt(6/m))),
    W_dec = W_enc^T with unit-norm rows, b_dec = b_enc = 0.
  * step: backward, clip_grad_norm_(1e5) (effectively off), project the decoder gradient onto the tangent
    of the unit sphere and set W_dec to its row-normalised value (BEFORE the optimiser step, so the forward
    sees rows slightly off the sphere), Adam(lr 3e-4, betas (0.9, 0.99), eps 1e-8), zero_grad.
  * input_unit_norm (per-token layer norm, the official default) is an option; off by default here so that
    both trainers see the same raw data in a comparison.

API (importable):
    sae = SAE(d, m, k, arch='batchtopk'|'topk', k_aux=512, aux_alpha=1/32, n_batches_to_dead=5, seed=49)
    tr = RecipeTrainer(sae, lr=3e-4, betas=(0.9, 0.99))
    out = tr.step(x)                      # x: float32 tensor [n, d]; returns a dict of python floats
    sae.reconstruct(x, mode='batchtopk')  # no-grad x_hat, mode 'batchtopk' | 'topk' | ('threshold', theta)
    time_steps(d, m, k, batch, arch=..., steps=..., warmup=...)   # timing entry point, see its doc
CLI (timing): /usr/bin/python3 bench/peer/recipe.py time --d 768 --m 3072 --k 32 --batch 4096 --steps 3 [--json]
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F


def set_threads(n=None):
    """Use every core (the brief: threads = cores); returns the count."""
    n = n or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


class SAE(torch.nn.Module):
    def __init__(self, d, m, k, arch='batchtopk', k_aux=512, aux_alpha=1 / 32, n_batches_to_dead=5,
                 input_unit_norm=False, seed=49, dtype=torch.float32):
        super().__init__()
        if arch not in ('batchtopk', 'topk'):
            raise ValueError(f"arch must be 'batchtopk' or 'topk', got {arch!r}")
        if not (1 <= k <= m):
            raise ValueError(f'need 1 <= k <= m, got k={k} m={m}')
        self.d, self.m, self.k, self.arch = d, m, k, arch
        self.k_aux, self.aux_alpha, self.n_batches_to_dead = k_aux, aux_alpha, n_batches_to_dead
        self.input_unit_norm = input_unit_norm
        g = torch.Generator().manual_seed(seed)
        w_enc = torch.empty(d, m, dtype=dtype)
        bound = (6.0 / m) ** 0.5  # kaiming_uniform_ on [d, m]: fan_in = m, gain sqrt(2)
        w_enc.uniform_(-bound, bound, generator=g)
        self.W_enc = torch.nn.Parameter(w_enc)
        self.b_enc = torch.nn.Parameter(torch.zeros(m, dtype=dtype))  # unused by (Batch)TopK, as official
        w_dec = w_enc.t().clone()
        self.W_dec = torch.nn.Parameter(w_dec / w_dec.norm(dim=-1, keepdim=True))
        self.b_dec = torch.nn.Parameter(torch.zeros(d, dtype=dtype))
        self.register_buffer('num_batches_not_active', torch.zeros(m, dtype=dtype))

    # --- preprocessing (official input_unit_norm) ---
    def preprocess(self, x):
        if not self.input_unit_norm:
            return x, None, None
        mu = x.mean(dim=-1, keepdim=True)
        x = x - mu
        sd = x.std(dim=-1, keepdim=True)
        return x / (sd + 1e-5), mu, sd

    def postprocess(self, xh, mu, sd):
        return xh if mu is None else xh * sd + mu

    def acts(self, x):
        return F.relu((x - self.b_dec) @ self.W_enc)

    def select(self, acts, mode):
        if mode == 'batchtopk':
            t = torch.topk(acts.flatten(), self.k * acts.shape[0], dim=-1)
            return torch.zeros_like(acts.flatten()).scatter(-1, t.indices, t.values).reshape(acts.shape)
        if mode == 'topk':
            t = torch.topk(acts, self.k, dim=-1)
            return torch.zeros_like(acts).scatter(-1, t.indices, t.values)
        if isinstance(mode, tuple) and mode[0] == 'threshold':
            return acts * (acts > mode[1])
        raise ValueError(f'unknown selection mode {mode!r}')

    def forward(self, x):
        x, mu, sd = self.preprocess(x)
        acts = self.acts(x)
        acts_topk = self.select(acts, self.arch)
        x_hat = acts_topk @ self.W_dec + self.b_dec
        # dead bookkeeping with this batch, before AuxK (official order)
        fired = acts_topk.sum(0) > 0
        with torch.no_grad():
            self.num_batches_not_active += (~fired).to(acts.dtype)
            self.num_batches_not_active[fired] = 0
        l2 = (x_hat - x).pow(2).mean()
        aux = self.aux_loss(x, x_hat, acts)
        loss = l2 + aux
        return {
            'loss': loss, 'l2': l2, 'aux': aux, 'x_hat': self.postprocess(x_hat, mu, sd),
            'acts_topk': acts_topk,
            'l0': (acts_topk > 0).float().sum(-1).mean(),
            'min_selected': acts_topk[acts_topk > 0].min() if (acts_topk > 0).any() else acts.new_tensor(float('nan')),
        }

    def aux_loss(self, x, x_hat, acts):
        dead = self.num_batches_not_active >= self.n_batches_to_dead
        n_dead = int(dead.sum())
        if n_dead == 0:
            return x.new_zeros(())
        residual = x - x_hat  # not detached (official)
        a = acts[:, dead]
        t = torch.topk(a, min(self.k_aux, n_dead), dim=-1)
        a_aux = torch.zeros_like(a).scatter(-1, t.indices, t.values)
        rec = a_aux @ self.W_dec[dead]
        return self.aux_alpha * (rec - residual).pow(2).mean()

    @torch.no_grad()
    def reconstruct(self, x, mode='batchtopk'):
        """x_hat for evaluation (no gradient, no dead-counter update); mode as select()."""
        xp, mu, sd = self.preprocess(x)
        a = self.select(self.acts(xp), mode)
        return self.postprocess(a @ self.W_dec + self.b_dec, mu, sd), (a > 0).float().sum(-1).mean().item()

    @torch.no_grad()
    def project_decoder(self):
        """Official make_decoder_weights_and_grad_unit_norm: project the gradient, then renormalise W_dec."""
        wn = self.W_dec / self.W_dec.norm(dim=-1, keepdim=True)
        if self.W_dec.grad is not None:
            self.W_dec.grad -= (self.W_dec.grad * wn).sum(-1, keepdim=True) * wn
        self.W_dec.data = wn


class RecipeTrainer:
    def __init__(self, sae, lr=3e-4, betas=(0.9, 0.99), eps=1e-8, max_grad_norm=1e5):
        self.sae = sae
        self.max_grad_norm = max_grad_norm
        self.opt = torch.optim.Adam(sae.parameters(), lr=lr, betas=betas, eps=eps)
        self.t = 0

    def step(self, x):
        """One training step on x [n, d] (float32); returns python floats loss, l2, aux, l0, dead, min_selected."""
        out = self.sae(x)
        out['loss'].backward()
        torch.nn.utils.clip_grad_norm_(self.sae.parameters(), self.max_grad_norm)
        self.sae.project_decoder()
        self.opt.step()
        self.opt.zero_grad()
        self.t += 1
        return {
            'loss': float(out['loss']), 'l2': float(out['l2']), 'aux': float(out['aux']),
            'l0': float(out['l0']), 'min_selected': float(out['min_selected']),
            'dead': int((self.sae.num_batches_not_active >= self.sae.n_batches_to_dead).sum()),
        }


def peak_rss_mb():
    """Peak resident memory of this process so far (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_steps(d, m, k, batch, arch='batchtopk', steps=3, warmup=1, threads=None, seed=0, x=None):
    """Time the dense training step at (d, m, k, batch) on random-normal inputs (or x [batch, d]).
    Returns dict: threads, torch version, steps, mean/min seconds per step, tokens/s (from the mean),
    peak RSS MiB of the whole process. The warm-up steps are not timed (they also fill Adam's state)."""
    threads = set_threads(threads)
    g = torch.Generator().manual_seed(seed)
    if x is None:
        x = torch.randn(batch, d, generator=g)
    sae = SAE(d, m, k, arch=arch)
    tr = RecipeTrainer(sae)
    for _ in range(warmup):
        tr.step(x)
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        tr.step(x)
        ts.append(time.perf_counter() - t0)
    mean = sum(ts) / len(ts)
    return {
        'd': d, 'm': m, 'k': k, 'batch': batch, 'arch': arch, 'threads': threads,
        'torch': torch.__version__, 'steps': steps, 'warmup': warmup,
        'mean_s': mean, 'min_s': min(ts), 'tokens_per_s': batch / mean, 'peak_rss_mb': peak_rss_mb(),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description='PyTorch BatchTopK recipe: timing entry point')
    sub = p.add_subparsers(dest='cmd', required=True)
    t = sub.add_parser('time', help='time the dense training step on random-normal inputs')
    t.add_argument('--d', type=int, default=768)
    t.add_argument('--m', type=int, default=3072)
    t.add_argument('--k', type=int, default=32)
    t.add_argument('--batch', type=int, default=4096)
    t.add_argument('--arch', default='batchtopk', choices=['batchtopk', 'topk'])
    t.add_argument('--steps', type=int, default=3)
    t.add_argument('--warmup', type=int, default=1)
    t.add_argument('--threads', type=int, default=None)
    t.add_argument('--json', action='store_true', help='print one JSON object')
    a = p.parse_args(argv)
    r = time_steps(a.d, a.m, a.k, a.batch, arch=a.arch, steps=a.steps, warmup=a.warmup, threads=a.threads)
    if a.json:
        print(json.dumps(r))
    else:
        print(f"torch {r['torch']} threads {r['threads']} d={a.d} m={a.m} k={a.k} batch={a.batch} {a.arch}: "
              f"{r['mean_s'] * 1e3:.1f} ms/step (min {r['min_s'] * 1e3:.1f}), {r['tokens_per_s']:.0f} tokens/s, "
              f"peak RSS {r['peak_rss_mb']:.0f} MiB")


if __name__ == '__main__':
    sys.exit(main())
