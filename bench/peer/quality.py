"""Quality side of the peer comparison: trains the PyTorch recipe (recipe.py) on an .npy in a given batch
order and evaluates it, and any of our saved SAEs, the same way on held-out rows.

    /usr/bin/python3 bench/peer/quality.py --data X.npy --order order.i32 --eval-start R --m 1024 --k 16 \
        --arch batchtopk --batch 1024 --steps 1500 [--ours DIR ...] [--peer-cache FILE] [--no-peer]

--order holds (steps + 1) * batch int32 row indices: batch 0 initialises our b_dec (our trainer does not
train on it), batches 1..steps are the training batches of both trainers, so both see the same rows in the
same order. Rows >= --eval-start are held out. Evaluation (identical for every model): held-out rows in
full batches of --batch rows, nmse = sum ||x - x_hat||^2 / sum ||x||^2 in the original space, with
  btk   batch top-k (n*k largest of each batch, after ReLU),
  topk  per-row top-k,
  theta JumpReLU at a global threshold: 'theta_lib' = the threshold our trainer saved (ours only),
        'theta_cal' = the mean over --cal-batches training batches of the smallest positive value kept by
        the batch top-k of the final weights (the paper's definition, for the final encoder).
Our SAE directory: params.json {d, m, k, theta} and W_enc.f32 [m, d], b_enc.f32 [m], W_dec.f32 [m, d],
b_dec.f32 [d] (raw little-endian float32). Prints one JSON object per model on stdout.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recipe import SAE, RecipeTrainer, set_threads  # noqa: E402


class Encoder:
    """A trained SAE as (W_enc [d, m], b_enc [m] or None, W_dec [m, d], b_dec [d])."""

    def __init__(self, name, W_enc, b_enc, W_dec, b_dec, k, theta_lib=None):
        self.name, self.W_enc, self.b_enc, self.W_dec, self.b_dec = name, W_enc, b_enc, W_dec, b_dec
        self.k, self.theta_lib = k, theta_lib

    def pre(self, x):
        p = (x - self.b_dec) @ self.W_enc
        return p if self.b_enc is None else p + self.b_enc

    def select(self, pre, mode):
        acts = torch.relu(pre)
        if mode == 'btk':
            t = torch.topk(acts.flatten(), self.k * acts.shape[0])
            return torch.zeros_like(acts.flatten()).scatter(-1, t.indices, t.values).reshape(acts.shape)
        if mode == 'topk':
            t = torch.topk(acts, self.k, dim=-1)
            return torch.zeros_like(acts).scatter(-1, t.indices, t.values)
        return pre * (pre >= mode)  # a threshold (ours keeps pre >= theta)


@torch.no_grad()
def evaluate(enc, X, batch, mode):
    sse = ssq = l0 = 0.0
    n = 0
    for s in range(0, X.shape[0] - batch + 1, batch):
        x = X[s:s + batch]
        f = enc.select(enc.pre(x), mode)
        xh = f @ enc.W_dec + enc.b_dec
        sse += float(((x - xh) ** 2).double().sum())
        ssq += float((x.double() ** 2).sum())
        l0 += float((f > 0).double().sum())
        n += x.shape[0]
    return sse / ssq, l0 / n


@torch.no_grad()
def calibrate(enc, X, order, batch, nb):
    """Paper's theta for these weights: mean over the last nb training batches of the smallest kept value."""
    steps = order.shape[0] // batch - 1
    mins = []
    for b in range(max(1, steps - nb + 1), steps + 1):
        x = X[torch.from_numpy(order[b * batch:(b + 1) * batch].astype(np.int64))]
        f = enc.select(enc.pre(x), 'btk')
        pos = f[f > 0]
        if pos.numel():
            mins.append(float(pos.min()))
    return sum(mins) / len(mins)


def report(enc, X, Xe, order, a):
    r = {'model': enc.name}
    r['nmse_btk'], r['l0_btk'] = evaluate(enc, Xe, a.batch, 'btk')
    r['nmse_topk'], r['l0_topk'] = evaluate(enc, Xe, a.batch, 'topk')
    r['theta_cal'] = calibrate(enc, X, order, a.batch, a.cal_batches)
    r['nmse_theta_cal'], r['l0_theta_cal'] = evaluate(enc, Xe, a.batch, r['theta_cal'])
    if enc.theta_lib:
        r['theta_lib'] = enc.theta_lib
        r['nmse_theta_lib'], r['l0_theta_lib'] = evaluate(enc, Xe, a.batch, enc.theta_lib)
    return r


def train_peer(X, order, a):
    d = X.shape[1]
    sae = SAE(d, a.m, a.k, arch=a.arch, seed=a.seed, input_unit_norm=a.peer_unit_norm)
    tr = RecipeTrainer(sae, lr=a.lr)
    t0 = time.time()
    last = None
    for b in range(1, a.steps + 1):
        idx = torch.from_numpy(order[b * a.batch:(b + 1) * a.batch].astype(np.int64))
        last = tr.step(X[idx])
        if a.verbose and b % 250 == 0:
            print(f'peer step {b}: {json.dumps(last)}', file=sys.stderr)
    secs = time.time() - t0
    s = sae
    return Encoder('peer', s.W_enc.detach(), None, s.W_dec.detach(), s.b_dec.detach(), a.k), secs, last


def load_ours(path, k):
    with open(os.path.join(path, 'params.json')) as f:
        meta = json.load(f)
    d, m = meta['d'], meta['m']
    rd = lambda n, shape: torch.from_numpy(np.fromfile(os.path.join(path, n), dtype='<f4').reshape(shape))
    W_enc = rd('W_enc.f32', (m, d)).t().contiguous()
    return Encoder(meta.get('name', os.path.basename(path)), W_enc, rd('b_enc.f32', (m,)), rd('W_dec.f32', (m, d)),
                   rd('b_dec.f32', (d,)), k, meta.get('theta') or None)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--order', required=True)
    p.add_argument('--eval-start', type=int, required=True)
    p.add_argument('--m', type=int, required=True)
    p.add_argument('--k', type=int, required=True)
    p.add_argument('--arch', default='batchtopk', choices=['batchtopk', 'topk'])
    p.add_argument('--batch', type=int, default=1024)
    p.add_argument('--steps', type=int, default=1500)
    p.add_argument('--lr', type=float, default=3e-4)
    p.add_argument('--seed', type=int, default=49)
    p.add_argument('--cal-batches', type=int, default=50)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--ours', action='append', default=[])
    p.add_argument('--peer-cache', default=None, help='JSON file holding the peer result for this exact config')
    p.add_argument('--no-peer', action='store_true')
    p.add_argument('--peer-unit-norm', action='store_true', help="the official per-token layer norm (off: raw data as ours)")
    p.add_argument('--verbose', action='store_true')
    a = p.parse_args()
    threads = set_threads(a.threads)
    X = torch.from_numpy(np.load(a.data, mmap_mode='r').astype(np.float32))
    order = np.fromfile(a.order, dtype='<i4')
    if order.shape[0] != (a.steps + 1) * a.batch:
        sys.exit(f'order holds {order.shape[0]} indices, expected (steps + 1) * batch = {(a.steps + 1) * a.batch}')
    if order.max() >= a.eval_start:
        sys.exit('order reaches into the held-out rows')
    Xe = X[a.eval_start:]
    if not a.no_peer:
        key = hashlib.sha256(json.dumps([vars(a)[k] for k in ('data', 'eval_start', 'm', 'k', 'arch', 'batch', 'steps', 'lr', 'seed',
                                                               'cal_batches', 'peer_unit_norm')]).encode()
                             + open(a.order, 'rb').read()).hexdigest()[:16]
        cached = None
        if a.peer_cache and os.path.exists(a.peer_cache):
            with open(a.peer_cache) as f:
                c = json.load(f)
            cached = c if c.get('key') == key else None
        if cached:
            cached['cached'] = True
            print(json.dumps(cached), flush=True)
        else:
            enc, secs, last = train_peer(X, order, a)
            r = report(enc, X, Xe, order, a)
            r.update(key=key, train_s=secs, threads=threads, torch=torch.__version__, final_step=last)
            if a.peer_cache:
                with open(a.peer_cache, 'w') as f:
                    json.dump(r, f)
            print(json.dumps(r), flush=True)
    for path in a.ours:
        print(json.dumps(report(load_ours(path, a.k), X, Xe, order, a)), flush=True)


if __name__ == '__main__':
    main()
