"""Small-batch benchmark, where Python overhead dominates: one SGD step of a 2-16-16-1 tanh MLP on a batch of 32, float64.

This is the regime of every notebook of the tutorial (moons, a few hundred points, tiny layers): each array operation
takes a microsecond or two, so the time goes into the engine's own bookkeeping (recording nodes, the reverse pass,
lifting constants). The step is the canonical loop: forget the old gradients, forward, mean squared error against
targets in {-1, 1}, backward, in-place SGD update of every parameter.

Engines: scratchgrad's Tensor API; PyTorch eager on the CPU (skipped cleanly when `import torch` fails); and a
hand-written numpy forward/backward, printed as the floor (no autodiff engine can beat it by much). They start from the
same weights, see the same batches, and must agree on the first loss to 1e-12.

Timing: BLAS and torch on one thread; the engines take turns in blocks of --block steps (rotating who goes first), each
block timed with `time.perf_counter`; the per-step time of an engine is the median over its blocks. Only ratios measured
in the same run mean anything on a shared machine.

    python benchmarks/bench_small_batch.py [--blocks 200] [--block 20]
"""
import argparse, os, sys, time
from pathlib import Path
for var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ[var] = '1'
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing
from scratchgrad.tensor import Tensor, no_grad

SIZES, BATCH, LR = (2, 16, 16, 1), 32, 0.05


def make_data(n=1024, seed=0):
    "Two interleaved half-moons with noise (as sklearn's make_moons), targets in {-1, 1}, float64."
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    X = np.stack([x, y], axis=1) + 0.1 * rng.standard_normal((n, 2))
    return X, np.where(upper, 1.0, -1.0)[:, None]


def init_weights(seed=0):
    "Xavier-like float64 weights and zero biases for the 2-16-16-1 network, shared by every engine."
    rng = np.random.default_rng(seed)
    ws = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        ws += [rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in), np.zeros(fan_out)]
    return ws


class NumpyNet:
    "Hand-written forward and backward passes in numpy: the floor."
    name = 'numpy (hand-written)'
    def __init__(self, weights): self.p = [w.copy() for w in weights]
    def step(self, xb, yb):
        W1, b1, W2, b2, W3, b3 = self.p
        h1 = np.tanh(xb @ W1 + b1)
        h2 = np.tanh(h1 @ W2 + b2)
        err = h2 @ W3 + b3 - yb
        loss = np.mean(err * err)
        dz = 2 * err / err.size
        dh2 = (dz @ W3.T) * (1 - h2 * h2)
        dh1 = (dh2 @ W2.T) * (1 - h1 * h1)
        grads = [xb.T @ dh1, dh1.sum(0), h1.T @ dh2, dh2.sum(0), h2.T @ dz, dz.sum(0)]
        for w, g in zip(self.p, grads): w -= LR * g
        return float(loss)


class ScratchgradNet:
    "The same network with scratchgrad Tensors: forward, loss.backward(), in-place SGD on the arrays."
    name = 'scratchgrad'
    def __init__(self, weights): self.p = [Tensor(w) for w in weights]
    def step(self, xb, yb):
        for w in self.p: w.grad = None
        W1, b1, W2, b2, W3, b3 = self.p
        h = (xb @ W1 + b1).tanh()
        h = (h @ W2 + b2).tanh()
        err = h @ W3 + b3 - yb
        loss = (err * err).mean()
        loss.backward()
        with no_grad():
            for w in self.p: w.array -= LR * w.grad.array
        return loss.item()


class TorchNet:
    "The same network in PyTorch eager mode on the CPU (float64, autograd, manual SGD)."
    name = 'pytorch (cpu, eager)'
    def __init__(self, weights, torch):
        self.torch = torch
        self.p = [torch.tensor(w, requires_grad=True) for w in weights]
    def step(self, xb, yb):
        torch = self.torch
        for w in self.p: w.grad = None
        W1, b1, W2, b2, W3, b3 = self.p
        h = torch.tanh(torch.from_numpy(xb) @ W1 + b1)
        h = torch.tanh(h @ W2 + b2)
        err = h @ W3 + b3 - torch.from_numpy(yb)
        loss = (err * err).mean()
        loss.backward()
        with torch.no_grad():
            for w in self.p: w -= LR * w.grad
        return loss.item()


def engines_available(weights):
    "The engines to time: numpy and scratchgrad always, PyTorch when it imports."
    engines = [NumpyNet(weights), ScratchgradNet(weights)]
    try:
        import torch
        torch.set_num_threads(1)
        engines.append(TorchNet(weights, torch))
    except ImportError:
        print("pytorch: not installed, its column is skipped")
    return engines


def time_blocks(engines, X, y, blocks, block):
    "Per-step seconds of each engine in every block (engines take turns block by block)."
    times = {e.name: [] for e in engines}
    n_batches = len(X) // BATCH
    for i in range(blocks):
        k = i % len(engines)
        for e in engines[k:] + engines[:k]:
            start = time.perf_counter()
            for j in range(block):
                b = (i * block + j) % n_batches * BATCH
                e.step(X[b:b + BATCH], y[b:b + BATCH])
            times[e.name].append((time.perf_counter() - start) / block)
    return {name: np.array(t) for name, t in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--blocks', type=int, default=200, help='timed blocks per engine')
    ap.add_argument('--block', type=int, default=20, help='steps per timed block')
    args = ap.parse_args(argv)
    X, y = make_data()
    weights = init_weights()
    engines = engines_available(weights)
    first = {e.name: e.step(X[:BATCH], y[:BATCH]) for e in engines}      # agreement check (and warm-up)
    ref = NumpyNet.name
    agree = all(abs(v - first[ref]) < 1e-12 for v in first.values())
    times = time_blocks(engines, X, y, args.blocks, args.block)
    print(f"network {'-'.join(map(str, SIZES))} tanh, float64, batch {BATCH}; {args.blocks} blocks of {args.block} steps")
    print(f"{'engine':<24}{'us/step (median)':>18}{'vs numpy':>10}{'first loss':>14}")
    for e in engines:
        med = np.median(times[e.name])
        print(f"{e.name:<24}{med * 1e6:>18.1f}{med / np.median(times[ref]):>9.2f}x{first[e.name]:>14.10f}")
    print(f"first losses agree to 1e-12: {agree}")
    torch_name = TorchNet.name
    if torch_name in times:
        ratio = np.median(times['scratchgrad']) / np.median(times[torch_name])
        print(f"scratchgrad / pytorch per step = {ratio:.2f}x (goal <= 1.00x): {'met' if ratio <= 1 else 'NOT met'}")
    return 0 if agree else 1


if __name__ == '__main__':
    sys.exit(main())
