"""Matryoshka BatchTopK, the saprmarks/dictionary_learning recipe (MatryoshkaBatchTopKTrainer) in PyTorch: our
own code, written from that trainer's description, the peer our Matryoshka trainer is compared against at equal
steps (bench/peer/matryoshka_compare.ts).

What the recipe does (kept):
  * init: W_dec kaiming-uniform [m, d] with unit-norm rows, W_enc = W_dec^T, b_enc = 0, b_dec = the geometric
    median of the first batch (Weiszfeld, 100 iterations).
  * encode: relu((x - b_dec) @ W_enc + b_enc), batch top-(n*k) over the flattened [n, m] acts.
  * loss: x_hat_i = b_dec + the dense product of the latents of groups <= i; l2_i = weight_i * mean over rows of
    the row's summed squared error; loss = mean_i(l2_i) + auxk_alpha * AuxK. Default weights 1/n (the recipe's).
  * AuxK: dead = no firing for dead_tokens tokens (recipe: 10M; here a flag), top-min(d/2, #dead) dead post-ReLU
    acts per row reconstruct the detached residual of the full width through W_dec without b_dec, normalised by
    the residual's variance about its batch mean, NaN -> 0; alpha 1/32.
  * step: backward, remove the decoder-gradient component parallel to each row, clip the global norm to 1, Adam
    (betas 0.9, 0.999), renormalise decoder rows. Threshold: EMA (beta 0.999) of the batch's minimum positive
    selected activation, started after threshold_start steps (first value assigned directly).
Deviations asked for by the comparison: lr given (the recipe's default is 2e-4 / sqrt(m / 2^14) with a
1000-step warm-up; equal-steps runs shorter than the warm-up use a constant lr given on the command line).

CLI: /usr/bin/python3 bench/peer/matryoshka.py --train train.npy --eval eval.npy --m 1024 --k 16
        --widths 128,256,512,1024 [--weights 1,1,1,3] --batch 256 --steps 800 --lr 1e-3 --seed 1 [--dead-tokens N]
Prints one JSON line: held-out nmse under the threshold and under batch top-k, L0, prefix nmse, theta.
"""
import argparse
import json

import numpy as np
import torch


def geometric_median(points, iters=100, tol=1e-5):
    guess = points.mean(dim=0)
    for _ in range(iters):
        prev = guess
        w = 1 / torch.norm(points - guess, dim=1).clamp_min(1e-12)
        w = w / w.sum()
        guess = (w.unsqueeze(1) * points).sum(dim=0)
        if torch.norm(guess - prev) < tol:
            break
    return guess


class Matryoshka(torch.nn.Module):
    def __init__(self, d, m, k, widths, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        bound = (6.0 / d) ** 0.5  # kaiming_uniform_ on [m, d]: fan_in = d
        w_dec = torch.empty(m, d).uniform_(-bound, bound, generator=g)
        w_dec = w_dec / w_dec.norm(dim=1, keepdim=True)
        self.W_dec = torch.nn.Parameter(w_dec)
        self.W_enc = torch.nn.Parameter(w_dec.t().clone())
        self.b_enc = torch.nn.Parameter(torch.zeros(m))
        self.b_dec = torch.nn.Parameter(torch.zeros(d))
        self.k, self.widths = k, widths
        self.threshold = -1.0

    def post_relu(self, x):
        return torch.relu((x - self.b_dec) @ self.W_enc + self.b_enc)

    def batch_topk(self, acts):
        flat = acts.flatten()
        top = flat.topk(self.k * acts.shape[0], sorted=False)
        return torch.zeros_like(flat).scatter_(-1, top.indices, top.values).reshape(acts.shape)

    def prefixes(self, f):
        """x_hat of every prefix, narrowest first (b_dec included)."""
        out, acc, lo = [], self.b_dec.expand(f.shape[0], -1), 0
        for hi in self.widths:
            acc = acc + f[:, lo:hi] @ self.W_dec[lo:hi]
            out.append(acc)
            lo = hi
        return out


def train(args):
    torch.manual_seed(args.seed)
    x_all = torch.from_numpy(np.load(args.train).astype(np.float32))
    n, d = x_all.shape
    widths = [int(w) for w in args.widths.split(',')]
    weights = [float(w) for w in args.weights.split(',')] if args.weights else [1.0 / len(widths)] * len(widths)
    sae = Matryoshka(d, args.m, args.k, widths, args.seed)
    opt = torch.optim.Adam(sae.parameters(), lr=args.lr, betas=(0.9, 0.999))
    since = torch.zeros(args.m)
    batch = lambda i: x_all[((i * args.batch) % (n - args.batch)):((i * args.batch) % (n - args.batch)) + args.batch]
    with torch.no_grad():
        sae.b_dec.copy_(geometric_median(batch(0)))
    for step in range(args.steps):
        x = batch(step)
        acts = sae.post_relu(x)
        f = sae.batch_topk(acts)
        if step > args.threshold_start:
            with torch.no_grad():
                pos = f[f > 0]
                mn = float(pos.min()) if pos.numel() else 0.0
                sae.threshold = mn if sae.threshold < 0 else 0.999 * sae.threshold + 0.001 * mn
        l2 = torch.stack([w * (x - xh).pow(2).sum(-1).mean() for w, xh in zip(weights, sae.prefixes(f))])
        x_hat = sae.prefixes(f)[-1]
        with torch.no_grad():
            fired = (f > 0).any(0)
            since += x.shape[0]
            since[fired] = 0
        dead = since >= args.dead_tokens
        aux = torch.zeros(())
        if int(dead.sum()) > 0:
            k_aux = min(d // 2, int(dead.sum()))
            resid = (x - x_hat).detach()
            masked = torch.where(dead[None], acts, torch.full_like(acts, -float('inf')))
            va, ia = masked.topk(k_aux, sorted=False)
            aux_acts = torch.zeros_like(acts).scatter_(-1, ia, va)
            rec = aux_acts @ sae.W_dec
            denom = (resid - resid.mean(0, keepdim=True)).pow(2).sum(-1).mean()
            aux = ((resid - rec).pow(2).sum(-1).mean() / denom).nan_to_num(0.0)
        loss = l2.mean() + args.aux_alpha * aux
        opt.zero_grad()
        loss.backward()
        with torch.no_grad():
            w = sae.W_dec
            g = sae.W_dec.grad
            g -= (g * w).sum(1, keepdim=True) * w
        torch.nn.utils.clip_grad_norm_(sae.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            sae.W_dec /= sae.W_dec.norm(dim=1, keepdim=True)
    return sae


@torch.no_grad()
def evaluate(sae, x):
    acts = sae.post_relu(x)
    out = {}
    for name, f in (('threshold', acts * (acts > sae.threshold)), ('batchtopk', sae.batch_topk(acts))):
        xs = sae.prefixes(f)
        total = x.pow(2).sum()
        out[name] = {
            'nmse': float((x - xs[-1]).pow(2).sum() / total),
            'l0': float((f > 0).float().sum(1).mean()),
            'prefixNmse': [float((x - xh).pow(2).sum() / total) for xh in xs],
        }
    out['theta'] = sae.threshold
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--train', required=True)
    p.add_argument('--eval', required=True)
    p.add_argument('--m', type=int, required=True)
    p.add_argument('--k', type=int, required=True)
    p.add_argument('--widths', required=True)
    p.add_argument('--weights', default='')
    p.add_argument('--batch', type=int, default=256)
    p.add_argument('--steps', type=int, default=800)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--aux-alpha', type=float, default=1 / 32)
    p.add_argument('--dead-tokens', type=int, default=10_000_000)
    p.add_argument('--threshold-start', type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(2)
    sae = train(a)
    x_eval = torch.from_numpy(np.load(a.eval).astype(np.float32))
    print(json.dumps(evaluate(sae, x_eval)))


if __name__ == '__main__':
    main()
