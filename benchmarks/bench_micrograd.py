"""scratchgrad vs micrograd on micrograd's own demo workload, in one run.

The workload is micrograd's `demo.ipynb`: an MLP(2, [16, 16, 1]) (ReLU hidden layers, linear output) on 100 points
of `make_moons(100, noise=0.1, random_state=1)` with labels -1/+1, the max-margin (hinge) loss
mean(relu(1 - y * score)) plus L2 regularisation 1e-4 * sum(p * p), full-batch SGD for 100 steps with the learning
rate decaying as 1.0 - 0.9 * k / 100.

Python's garbage collector stays ON for every engine. We print steps per second, the ratio to micrograd, the final
accuracy, the share of time spent in the cyclic garbage collector, and the resident memory across the steps
(scratchgrad's graphs are freed by reference counting, so its memory stays flat).

Engines:
  scratchgrad          scratchgrad.mlp.ScalarMLP: each neuron is one `var_dot` node (the package's design)
  scratchgrad-var_sum  the same model with each neuron built from `*` and `var_sum` (n + 1 nodes per neuron)
  micrograd            `pip install micrograd` (skipped when it is not installed)

Usage: python benchmarks/bench_micrograd.py [--steps 100] [--micrograd-steps 100]
(micrograd needs a few minutes for 100 steps; --micrograd-steps 10 measures its speed only.)
"""
import argparse
import gc
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sklearn.datasets import make_moons

from scratchgrad.backprop import get_gradient
from scratchgrad.mlp import ScalarMLP
from scratchgrad.variable import Variable, var_sum

ALPHA = 1e-4


def rss_mb():
    "Resident set size of this process in MB (Linux /proc; None elsewhere)."
    try:
        with open("/proc/self/statm") as f: pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError): return None


class GCTimer:
    "Total time spent inside the cyclic garbage collector, via gc.callbacks."
    def __init__(self): self.total, self.collections, self._t = 0.0, 0, None
    def __call__(self, phase, info):
        if phase == "start": self._t = time.perf_counter()
        elif self._t is not None:
            self.total += time.perf_counter() - self._t
            self.collections += 1
    def __enter__(self): gc.callbacks.append(self); return self
    def __exit__(self, *exc): gc.callbacks.remove(self)


def data():
    X, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    return X.tolist(), (y * 2 - 1).tolist()


# ---- scratchgrad ---------------------------------------------------------------------------------------------------
def forward_var_sum(model, x):
    "The same ScalarMLP with each neuron as n products and one var_sum (micrograd's granularity, but one n-ary sum)."
    h = [Variable(v) for v in x]
    for layer in model.layers:
        h = [var_sum(*[w * xi for w, xi in zip(n.weights, h)], n.bias) for n in layer.neurons]
        if layer.activation == "relu": h = [v.relu() for v in h]
    return h


def scratchgrad_step(model, params, X, y, k, n_steps, forward):
    scores = [forward(model, x)[0] for x in X]
    losses = [(1 - yi * s).relu() for yi, s in zip(y, scores)]
    data_loss = var_sum(*losses) * (1.0 / len(losses))
    reg_loss = ALPHA * var_sum(*[p * p for p in params])
    loss = data_loss + reg_loss
    accuracy = sum((yi > 0) == (s.value > 0) for yi, s in zip(y, scores)) / len(y)
    grads = get_gradient(loss)
    lr = 1.0 - 0.9 * k / n_steps
    for p in params: p.value -= lr * grads[p]
    return loss.value, accuracy


def run_scratchgrad(X, y, n_steps, var_sum_neurons=False):
    model = ScalarMLP(2, [16, 16, 1], output_activation=None, seed=1337)
    params = model.parameters()
    forward = forward_var_sum if var_sum_neurons else (lambda m, x: m(x))
    return timed(lambda k: scratchgrad_step(model, params, X, y, k, n_steps, forward), n_steps)


# ---- micrograd (its demo's training loop) --------------------------------------------------------------------------
def run_micrograd(X, y, n_steps):
    from micrograd.engine import Value
    from micrograd.nn import MLP as MgMLP
    random.seed(1337)
    model = MgMLP(2, [16, 16, 1])

    def step(k):
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * s).relu() for yi, s in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum((p * p for p in model.parameters()))
        loss = data_loss + reg_loss
        accuracy = sum((yi > 0) == (s.data > 0) for yi, s in zip(y, scores)) / len(y)
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters(): p.data -= lr * p.grad
        return loss.data, accuracy

    return timed(step, n_steps)


def timed(step, n_steps):
    "Run `step(k)` for k < n_steps with the GC on; return steps/s, final loss and accuracy, GC share, RSS samples."
    assert gc.isenabled()
    gc.collect()
    marks = sorted({0, n_steps // 4, n_steps // 2, 3 * n_steps // 4, n_steps - 1})
    rss = {}
    with GCTimer() as gct:
        t0 = time.perf_counter()
        for k in range(n_steps):
            loss, acc = step(k)
            if k in marks: rss[k + 1] = rss_mb()
        dt = time.perf_counter() - t0
    return dict(steps_per_s=n_steps / dt, loss=loss, accuracy=acc, gc_share=gct.total / dt,
                collections=gct.collections, rss=rss, steps=n_steps)


def report(name, r, ref=None):
    ratio = f"{r['steps_per_s'] / ref['steps_per_s']:6.1f}x" if ref else "    ref"
    mem = "  ".join(f"{k}:{v:.0f}" for k, v in r["rss"].items()) if None not in r["rss"].values() else "n/a"
    print(f"{name:<20} {r['steps_per_s']:8.2f} steps/s {ratio}   loss {r['loss']:.4f}  accuracy {r['accuracy']:.2f}"
          f" after {r['steps']} steps   GC {100 * r['gc_share']:4.1f}% of the time ({r['collections']} collections)"
          f"   RSS MB by step {mem}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--micrograd-steps", type=int, default=100)
    args = ap.parse_args()
    X, y = data()
    print(f"Python {sys.version.split()[0]}, gc enabled: {gc.isenabled()}, thresholds {gc.get_threshold()}")
    results = {"scratchgrad": run_scratchgrad(X, y, args.steps)}
    results["scratchgrad-var_sum"] = run_scratchgrad(X, y, args.steps, var_sum_neurons=True)
    try:
        import micrograd  # noqa: F401
        results["micrograd"] = run_micrograd(X, y, args.micrograd_steps)
    except ImportError:
        print("micrograd is not installed (pip install micrograd): printing scratchgrad only")
    ref = results.get("micrograd")
    for name, r in results.items():
        report(name, r, ref if ref is not None and name != "micrograd" else None)
    if ref is not None:
        ratio = results["scratchgrad"]["steps_per_s"] / ref["steps_per_s"]
        print(f"\nscratchgrad / micrograd steps per second: {ratio:.1f}x (goal: >= 20x); "
              f"final accuracy {results['scratchgrad']['accuracy']:.2f} vs {ref['accuracy']:.2f}")


if __name__ == "__main__":
    main()
