"""MNIST-shaped training benchmark: scratchgrad's Tensor engine against a hand-written numpy forward/backward.

One epoch of SGD (batch 100, learning rate 0.1) on 60,000 x 784 float32 inputs with 10 classes, for a
784 -> 100 -> ReLU -> 10 network with biases and a softmax cross-entropy loss. Every engine starts from the same
initial weights and sees the same batches in the same order. The data are generated offline and seeded: ten random
smooth "prototype" images, each example a noisy copy of its class's prototype (learnable, unlike pure noise).

Timing: BLAS runs on one thread (set before numpy is imported; change with --threads), the engines take turns batch
by batch (so a busy moment on a shared machine hurts all of them alike), and each step is timed by the CPU time of
this process (`time.process_time`), which a neighbour's load barely affects. The epoch time is the fastest of
--repeats epochs. The autodiff engines follow PyTorch's canonical loop: forget the old gradients, forward, backward,
update. (The hand-written numpy step likewise holds no gradient from one step to the next.)

Prints each engine's CPU seconds per epoch, the ratio scratchgrad / numpy (goal <= 1.2, and below PyTorch), the first-batch losses
(must agree to 1e-5), and how far the weights drift apart after the epoch. PyTorch CPU is timed too when `import torch` works (skipped cleanly otherwise). Finally it runs 500
scratchgrad training steps under tracemalloc and prints the peak memory per window of 100 steps, which must stay flat.

    python benchmarks/bench_mnist.py [--repeats 3] [--batches 600] [--no-memory]
"""
import argparse, gc, os, sys, time, tracemalloc
from pathlib import Path

_THREADS = '1'
for i, a in enumerate(sys.argv):             # must happen before numpy starts its BLAS
    if a.startswith('--threads'): _THREADS = a.split('=', 1)[1] if '=' in a else sys.argv[i + 1]
for var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ[var] = _THREADS

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scratchgrad.tensor import Tensor, cross_entropy, no_grad

N, D, H, C, BATCH, LR = 60_000, 784, 100, 10, 100, 0.1


def make_data(seed=0):
    "Seeded digit-like data: noisy copies of 10 smooth random 28x28 prototypes, float32 in [0, 1]."
    rng = np.random.default_rng(seed)
    coarse = rng.random((C, 7, 7))
    protos = np.kron(coarse, np.ones((4, 4))).reshape(C, D)            # blocky 28x28 'digits'
    y = rng.integers(0, C, N)
    X = protos[y] + 0.5 * rng.standard_normal((N, D))
    return np.clip(X, 0, 1).astype(np.float32), y.astype(np.int64)


def init_weights(seed=0):
    "He-initialised float32 weights and zero biases, shared by every engine."
    rng = np.random.default_rng(seed)
    W1 = (rng.standard_normal((D, H)) * np.sqrt(2 / D)).astype(np.float32)
    W2 = (rng.standard_normal((H, C)) * np.sqrt(2 / H)).astype(np.float32)
    return W1, np.zeros(H, np.float32), W2, np.zeros(C, np.float32)


class NumpyNet:
    "Hand-written forward and backward passes in numpy."
    name = 'numpy (hand-written)'
    def __init__(self, weights): self.W1, self.b1, self.W2, self.b2 = [w.copy() for w in weights]
    def weights(self): return self.W1, self.b1, self.W2, self.b2
    def step(self, xb, yb):
        W1, b1, W2, b2 = self.W1, self.b1, self.W2, self.b2
        rows = np.arange(len(yb))
        h = xb @ W1 + b1
        a = np.maximum(h, 0)
        z = a @ W2 + b2
        z = z - z.max(axis=1, keepdims=True)                     # stable log-softmax
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[rows, yb].mean()
        dz = np.exp(logp)                                        # (softmax - onehot) / batch size
        dz[rows, yb] -= 1
        dz /= len(yb)
        dW2, db2 = a.T @ dz, dz.sum(axis=0)
        dh = (dz @ W2.T) * (h > 0)
        dW1, db1 = xb.T @ dh, dh.sum(axis=0)
        lr = np.float32(LR)
        W1 -= lr * dW1; b1 -= lr * db1; W2 -= lr * dW2; b2 -= lr * db2
        return float(loss)


def sg_loss(params, xb, yb):
    "Mean softmax cross-entropy of the 784-100-10 ReLU network, in scratchgrad Tensors."
    W1, b1, W2, b2 = params
    z = (xb @ W1 + b1).relu() @ W2 + b2
    return cross_entropy(z, yb)


class ScratchgradNet:
    "The same network in scratchgrad: forward in Tensors, loss.backward(), SGD on the arrays."
    name = 'scratchgrad'
    def __init__(self, weights): self.params = [Tensor(w) for w in weights]
    def weights(self): return tuple(p.array for p in self.params)
    def step(self, xb, yb):
        for p in self.params: p.grad = None       # zero_grad() first, as in PyTorch's canonical training loop
        loss = sg_loss(self.params, xb, yb)
        loss.backward()
        with no_grad():
            for p in self.params: p.array -= LR * p.grad.array
        return loss.item()


class TorchNet:
    "The same network in PyTorch (CPU, float32, autograd, F.cross_entropy, manual SGD)."
    name = 'pytorch (cpu)'
    def __init__(self, weights, torch):
        self.torch = torch
        self.params = [torch.tensor(w, requires_grad=True) for w in weights]
    def weights(self): return tuple(p.detach().numpy() for p in self.params)
    def step(self, xb, yb):
        torch = self.torch
        for p in self.params: p.grad = None
        W1, b1, W2, b2 = self.params
        z = torch.relu(torch.from_numpy(xb) @ W1 + b1) @ W2 + b2
        loss = torch.nn.functional.cross_entropy(z, torch.from_numpy(yb))
        loss.backward()
        with torch.no_grad():
            for p in self.params: p -= LR * p.grad
        return loss.item()


def run_epoch(engines, X, y, n_batches):
    "One epoch for every engine, interleaved batch by batch; CPU seconds per engine and the losses."
    cpu = {e.name: 0.0 for e in engines}
    losses = {e.name: [] for e in engines}
    for i, start in enumerate(range(0, n_batches * BATCH, BATCH)):
        xb, yb = X[start:start + BATCH], y[start:start + BATCH]
        k = i % len(engines)                  # rotate who goes first, so no engine always finds a cold cache
        for e in engines[k:] + engines[:k]:
            c0 = time.process_time()
            losses[e.name].append(e.step(xb, yb))
            cpu[e.name] += time.process_time() - c0
    return cpu, {name: np.array(l) for name, l in losses.items()}


def memory_windows(X, y, weights, steps=500, window=100):
    "Peak traced memory (bytes) of each window of scratchgrad training steps."
    params = [Tensor(w) for w in weights]
    peaks = []
    tracemalloc.start()
    try:
        for w in range(steps // window):
            tracemalloc.reset_peak()
            for i in range(window):
                start = ((w * window + i) * BATCH) % N
                for p in params: p.grad = None
                loss = sg_loss(params, X[start:start + BATCH], y[start:start + BATCH])
                loss.backward()
                with no_grad():
                    for p in params: p.array -= LR * p.grad.array
            peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
    return peaks


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=3, help='interleaved runs per engine; the fastest counts')
    ap.add_argument('--batches', type=int, default=N // BATCH, help='batches per epoch (600 = one full epoch)')
    ap.add_argument('--no-memory', action='store_true', help='skip the 500-step memory check')
    ap.add_argument('--threads', default='1', help='BLAS threads (default 1, see the module docstring)')
    args = ap.parse_args(argv)

    X, y = make_data()
    weights = init_weights()
    print(f"data {X.shape} {X.dtype}, {C} classes; network {D}-{H}-{C} ReLU, batch {BATCH}, "
          f"{args.batches} batches, best of {args.repeats}")

    makers = [NumpyNet, ScratchgradNet]
    try:
        import torch
        torch.set_num_threads(int(_THREADS))
        makers.append(lambda w: TorchNet(w, torch))
    except ImportError:
        print("pytorch: not installed, skipped")

    best = {}
    for r in range(args.repeats):              # fresh engines from the same weights each time; keep the fastest epoch
        engines = [make(weights) for make in makers]
        gc.collect()
        cpu, losses = run_epoch(engines, X, y, args.batches)
        for name, t in cpu.items(): best[name] = min(best.get(name, np.inf), t)
    names = [e.name for e in engines]
    ref = 'numpy (hand-written)'
    final = {e.name: e.weights() for e in engines}

    print(f"\n{'engine':<22}{'CPU s/epoch':>12}{'vs numpy':>10}{'first loss':>13}{'|dloss[0]|':>12}"
          f"{'last loss':>11}{'max |dW|':>10}")
    for name in names:
        dw = max(float(np.max(np.abs(a - b))) for a, b in zip(final[name], final[ref]))
        print(f"{name:<22}{best[name]:>11.2f}s{best[name] / best[ref]:>9.2f}x{losses[name][0]:>13.7f}"
              f"{abs(losses[name][0] - losses[ref][0]):>12.1e}{losses[name][-1]:>11.4f}{dw:>10.1e}")
    first_ok = all(abs(losses[n][0] - losses[ref][0]) < 1e-5 for n in names)
    ratio = best['scratchgrad'] / best[ref]
    print(f"\nscratchgrad / numpy = {ratio:.2f}x (goal <= 1.2x); first-batch losses agree to 1e-5: {first_ok}")
    if 'pytorch (cpu)' in best:
        print(f"scratchgrad / pytorch = {best['scratchgrad'] / best['pytorch (cpu)']:.2f}x")

    if not args.no_memory:
        peaks = memory_windows(X, y, weights)
        print("peak traced memory per 100 steps (MB):", ' '.join(f"{p / 1e6:.2f}" for p in peaks),
              "| flat:", max(peaks[1:]) <= 1.05 * peaks[0])
    return 0 if first_ok else 1


if __name__ == '__main__':
    sys.exit(main())
