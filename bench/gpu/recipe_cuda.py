"""bench/gpu/run.sh's peer: the paper's recipe (bench/peer/recipe.py: SAE, RecipeTrainer) timed on a CUDA GPU.
Same protocol as recipe.py's time_steps (random-normal batch, the same every step, warm-up untimed), with the
model and batch on the GPU and torch.cuda.synchronize() closing each timed step. The recipe's step reads its
loss and metrics back as Python floats every step, as the paper's code does.
Prints one JSON object; {"error": ...} when torch or CUDA is missing (exit status 3).
Run: python3 bench/gpu/recipe_cuda.py --d 768 --m 24576 --k 32 --batch 4096 --steps 10 --warmup 3"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'peer'))


def main():
    p = argparse.ArgumentParser()
    for name, default in (('d', 768), ('m', 3072), ('k', 32), ('batch', 4096), ('steps', 10), ('warmup', 3)):
        p.add_argument('--' + name, type=int, default=default)
    a = p.parse_args()
    try:
        import torch
        from recipe import SAE, RecipeTrainer
    except Exception as e:  # noqa: BLE001 - any import failure means no peer
        print(json.dumps({'error': f'no torch: {e}'}))
        return 3
    if not torch.cuda.is_available():
        print(json.dumps({'error': f'torch {torch.__version__} sees no CUDA device'}))
        return 3
    dev = torch.device('cuda')
    g = torch.Generator().manual_seed(0)
    x = torch.randn(a.batch, a.d, generator=g).to(dev)
    sae = SAE(a.d, a.m, a.k).to(dev)
    tr = RecipeTrainer(sae)
    for _ in range(a.warmup):
        tr.step(x)
    torch.cuda.synchronize()
    ts = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        tr.step(x)
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    mean = sum(ts) / len(ts)
    print(json.dumps({
        'side': 'torch-cuda', 'torch': torch.__version__, 'gpu': torch.cuda.get_device_name(0),
        'd': a.d, 'm': a.m, 'k': a.k, 'batch': a.batch, 'steps': a.steps, 'warmup': a.warmup,
        'mean_s': mean, 'min_s': min(ts), 'tokens_per_s': a.batch / mean,
    }))
    return 0


if __name__ == '__main__':
    sys.exit(main())
