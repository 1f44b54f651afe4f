"""Overhead of the functional API: `grad(f)(x)` against the Tensor API's forward + backward of the same computation.

Usage: python benchmarks/bench_functional.py [--n 1000] [--repeat 400]

Both sides run the same primitives from the same table (`scratchgrad.tensor.PRIMITIVES`) on 1000-element float64
arrays; the functional side adds the boxes, the trace, numpy's dispatch protocols and the conversion of the result.
The ratio is measured in one run, alternating the sides so that machine noise hits them alike, and reported as the
ratio of medians (and of minima). Goal: at most 1.3 for f written in plain numpy (`np.tanh`, `np.sum`, ...), which goes
through numpy's dispatch protocols; the same f written with `snp` functions is shown too.
"""
import argparse, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing
from scratchgrad.tensor import Tensor
from scratchgrad.autograd import grad
import scratchgrad.numpy as snp


def f_numpy(x, w, b):
    "A small model-like function of x (10 primitives), written with plain numpy."
    h = np.tanh(x * w + b)
    return np.sum(h * h) + 0.5 * np.sum(np.exp(-x * x)) - np.mean(np.log(1 + x * x))


def f_snp(x, w, b):
    "The same function written with scratchgrad.numpy (no numpy dispatch protocol on the way)."
    h = snp.tanh(x * w + b)
    return snp.sum(h * h) + 0.5 * snp.sum(snp.exp(-x * x)) - snp.mean(snp.log(1 + x * x))


def f_tensor(x, w, b):
    "The same function with Tensor methods."
    h = (x * w + b).tanh()
    return (h * h).sum() + 0.5 * (-(x * x)).exp().sum() - (1 + x * x).log().mean()


def timings(n, repeat):
    "Alternate the three ways of computing the same gradient; return their timings (seconds), Tensor API last."
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
    grad_numpy, grad_snp = grad(f_numpy), grad(f_snp)

    def tensor_api():
        xt = Tensor(x)
        f_tensor(xt, w, b).backward()
        return xt.grad.array

    runs = {'numpy': lambda: grad_numpy(x, w, b), 'snp': lambda: grad_snp(x, w, b), 'tensor': tensor_api}
    for fn in runs.values():                                               # same numbers, and warm up
        np.testing.assert_allclose(fn(), tensor_api(), rtol=1e-12, atol=1e-12)
        for _ in range(20): fn()
    times = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            s = time.perf_counter(); fn(); times[name].append(time.perf_counter() - s)
    return {name: np.array(t) for name, t in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--repeat', type=int, default=400)
    a = ap.parse_args()
    t = timings(a.n, a.repeat)
    ten = t['tensor']
    print(f"n = {a.n}, {a.repeat} alternating runs each")
    print(f"Tensor API forward+backward   : median {np.median(ten)*1e6:7.1f} us   min {ten.min()*1e6:7.1f} us")
    for name, label in [('numpy', 'grad(f), f in plain numpy'), ('snp', 'grad(f), f in snp')]:
        print(f"{label:30s}: median {np.median(t[name])*1e6:7.1f} us   min {t[name].min()*1e6:7.1f} us   "
              f"ratio {np.median(t[name]) / np.median(ten):.2f} (medians), {t[name].min() / ten.min():.2f} (minima)")
    ratio = np.median(t['numpy']) / np.median(ten)
    print(f"goal: grad of the plain-numpy f <= 1.30x the Tensor API (medians): {ratio:.2f}, "
          f"{'met' if ratio <= 1.3 else 'NOT met'}")

if __name__ == '__main__':
    main()
