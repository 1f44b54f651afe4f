"""Overhead of the functional API: `grad(f)(x)` against the Tensor API's forward + backward of the same computation.

Usage: python benchmarks/bench_functional.py [--n 1000] [--repeat 400]

Both sides run the same primitives from the same table (`scratchgrad.tensor.PRIMITIVES`) on 1000-element float64
arrays; the functional side adds the boxes, the trace, numpy's dispatch protocols and the conversion of the result.
The ratio is measured in one run, alternating the two sides so that machine noise hits both alike, and reported as
the ratio of medians (and of minima). Goal: at most 1.3.
"""
import argparse, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing
from scratchgrad.tensor import Tensor
from scratchgrad.autograd import grad, value_and_grad


def f_numpy(x, w, b):
    "A small model-like function of x (10 primitives), written with plain numpy."
    h = np.tanh(x * w + b)
    return np.sum(h * h) + 0.5 * np.sum(np.exp(-x * x)) - np.mean(np.log(1 + x * x))


def f_tensor(x, w, b):
    "The same function with Tensor methods."
    h = (x * w + b).tanh()
    return (h * h).sum() + 0.5 * (-(x * x)).exp().sum() - (1 + x * x).log().mean()


def timings(n, repeat):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
    grad_f = grad(f_numpy)

    def functional():
        return grad_f(x, w, b)

    def tensor_api():
        xt = Tensor(x)
        f_tensor(xt, w, b).backward()
        return xt.grad.array

    np.testing.assert_allclose(functional(), tensor_api(), rtol=1e-12, atol=1e-12)   # same numbers
    for _ in range(20): functional(); tensor_api()                                    # warm up
    t_fun, t_ten = [], []
    for _ in range(repeat):
        s = time.perf_counter(); functional(); t_fun.append(time.perf_counter() - s)
        s = time.perf_counter(); tensor_api(); t_ten.append(time.perf_counter() - s)
    return np.array(t_fun), np.array(t_ten)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--repeat', type=int, default=400)
    a = ap.parse_args()
    t_fun, t_ten = timings(a.n, a.repeat)
    med = np.median(t_fun) / np.median(t_ten)
    best = t_fun.min() / t_ten.min()
    print(f"n = {a.n}, {a.repeat} alternating runs each")
    print(f"Tensor API forward+backward: median {np.median(t_ten)*1e6:8.1f} us   min {t_ten.min()*1e6:8.1f} us")
    print(f"functional grad(f)(x)      : median {np.median(t_fun)*1e6:8.1f} us   min {t_fun.min()*1e6:8.1f} us")
    print(f"ratio functional / Tensor API: {med:.2f} (medians), {best:.2f} (minima)   goal <= 1.30: "
          f"{'met' if med <= 1.3 else 'NOT met'}")


if __name__ == '__main__':
    main()
