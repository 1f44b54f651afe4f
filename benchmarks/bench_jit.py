"""jit benchmark: the small-batch step and the MNIST-shaped step, eager and jitted, against hand-written numpy.

Small batch: bench_small_batch's 2-16-16-1 tanh MLP, batch 32, float64 (forward, MSE, backward, then SGD on the
arrays). MNIST-shaped: bench_mnist's 784-100-10 ReLU network, batch 100, float32, cross-entropy. The jitted step
computes the loss and fills .grad; the SGD update runs eagerly after it, as for every engine. PyTorch eager (CPU) is
timed when `import torch` works. BLAS and torch on one thread; engines take turns block by block; per-step time is the
median over blocks. Only ratios from the same run mean anything.

    python benchmarks/bench_jit.py [--blocks 100] [--block 20]
"""
import argparse, os, sys, time
from pathlib import Path
for var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ[var] = '1'
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import scratchgrad                                  # faster VJPs on, as for a reader
from scratchgrad.tensor import Tensor
from scratchgrad.jit import jit
import bench_small_batch as small, bench_mnist as mnist


class JitNet:
    "A step whose loss and gradients come from a jitted function; the SGD update runs eagerly after it."
    def __init__(self, weights, loss_fn, lr, name):
        self.p, self.lr, self.name = [Tensor(w) for w in weights], lr, name
        def step(xb, yb):
            for p in self.p: p.grad = None
            loss = loss_fn(self.p, xb, yb)
            loss.backward()
            return loss
        self.jitted = jit(step, self.p)
    def step(self, xb, yb):
        loss = self.jitted(xb, yb)
        for p in self.p: p.array -= self.lr * p.grad.array
        return loss.item()


def small_loss(ps, xb, yb):
    W1, b1, W2, b2, W3, b3 = ps
    h = (xb @ W1 + b1).tanh()
    h = (h @ W2 + b2).tanh()
    err = h @ W3 + b3 - yb
    return (err * err).mean()


def engines(module, weights, loss_fn, lr):
    out = [module.NumpyNet(weights), module.ScratchgradNet(weights), JitNet(weights, loss_fn, lr, 'scratchgrad jit')]
    try:
        import torch
        torch.set_num_threads(1)
        out.append(module.TorchNet(weights, torch))
    except ImportError:
        print("pytorch: not installed, its column is skipped")
    return out


def timed(engs, X, y, batch, blocks, block):
    "Median seconds per step of each engine, taking turns block by block, and each engine's first loss."
    first = {e.name: e.step(X[:batch], y[:batch]) for e in engs}
    for e in engs: e.step(X[batch:2 * batch], y[batch:2 * batch])      # jit: the checked first replay
    times, n = {e.name: [] for e in engs}, len(X) // batch
    for i in range(blocks):
        k = i % len(engs)
        for e in engs[k:] + engs[:k]:
            start = time.perf_counter()
            for j in range(block):
                b = (i * block + j) % n * batch
                e.step(X[b:b + batch], y[b:b + batch])
            times[e.name].append((time.perf_counter() - start) / block)
    return {k: float(np.median(v)) for k, v in times.items()}, first


def report(title, t, first, goals):
    ref = 'numpy (hand-written)'
    print(f"\n{title}\n{'engine':<24}{'us/step':>10}{'vs numpy':>10}{'first loss':>14}")
    for name, s in t.items(): print(f"{name:<24}{s * 1e6:>10.1f}{s / t[ref]:>9.2f}x{first[name]:>14.8f}")
    ok = True
    for text, value, limit in goals(t):
        met = value <= limit
        ok &= met
        print(f"{text} = {value:.2f}x (goal <= {limit:.2f}x): {'met' if met else 'NOT met'}")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--blocks', type=int, default=100)
    ap.add_argument('--block', type=int, default=20)
    args = ap.parse_args(argv)
    torch_s, torch_m = small.TorchNet.name, mnist.TorchNet.name

    X, y = small.make_data()
    t, first = timed(engines(small, small.init_weights(), small_loss, small.LR), X, y, small.BATCH,
                     args.blocks, args.block)
    def goals_small(t):
        g = [('jit / numpy', t['scratchgrad jit'] / t['numpy (hand-written)'], 2.0)]
        if torch_s in t: g.append(('jit / pytorch eager', t['scratchgrad jit'] / t[torch_s], 0.5))
        return g
    ok = report(f"small batch: 2-16-16-1 tanh, float64, batch {small.BATCH}", t, first, goals_small)

    X, y = mnist.make_data()
    t, first = timed(engines(mnist, mnist.init_weights(), mnist.sg_loss, mnist.LR), X, y, mnist.BATCH,
                     max(args.blocks // 4, 5), args.block)
    ok &= report(f"MNIST-shaped: 784-100-10 ReLU, float32, batch {mnist.BATCH}", t, first,
                 lambda t: [('jit / numpy', t['scratchgrad jit'] / t['numpy (hand-written)'], 1.1)])
    return 0


if __name__ == '__main__':
    sys.exit(main())
