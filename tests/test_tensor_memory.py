"""Memory stays flat over 500 training steps: no graph is kept alive by reference cycles."""
import gc, tracemalloc
import numpy as np

from scratchgrad.tensor import Tensor, cross_entropy, no_grad


def train(steps=500, window=100, keep=None):
    "SGD steps of a 196-64-10 network with the cycle collector off; peak memory and live Tensors per window."
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 196)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    params = [Tensor(rng.standard_normal((196, 64)).astype(np.float32) * 0.1), Tensor(np.zeros(64, np.float32)),
              Tensor(rng.standard_normal((64, 10)).astype(np.float32) * 0.1), Tensor(np.zeros(10, np.float32))]

    def step():
        W1, b1, W2, b2 = params
        loss = cross_entropy((X @ W1 + b1).relu() @ W2 + b2, y)
        for p in params: p.grad = None
        loss.backward(retain_graph=keep is not None)
        if keep is not None: keep.append(loss)              # a deliberate leak, to show the checks catch one
        with no_grad():
            for p in params:   # in place, or (with a retained graph, which holds p read-only) a new array
                if keep is None: p.array -= 0.05 * p.grad.array
                else: p.array = p.array - 0.05 * p.grad.array

    live = lambda: sum(issubclass(type(o), Tensor) for o in gc.get_objects())   # type(): no attribute lookups
    # The collector is off, so a graph kept alive by a reference cycle would pile up. At the end of each window we
    # run it by hand: it must find nothing (no cycles), and running it also empties CPython's free lists (of tuples,
    # floats...), which otherwise fill up to their fixed caps over a couple of thousand steps and look like growth.
    for _ in range(window): step()                          # warm-up: caches and free lists settle first
    gc.collect(); gc.disable(); tracemalloc.start()
    peaks, counts, found = [], [], []
    try:
        for _ in range(steps // window):
            tracemalloc.reset_peak()
            for _ in range(window): step()
            peaks.append(tracemalloc.get_traced_memory()[1]); counts.append(live()); found.append(gc.collect())
    finally:
        tracemalloc.stop(); gc.enable()
    return peaks, counts, sum(found)


def test_memory_flat_over_500_steps():
    peaks, counts, collected = train()
    assert collected == 0, "reference cycles: something waited for the cycle collector"
    assert len(set(counts)) == 1, f"live Tensors grew: {counts}"
    assert max(peaks) <= 1.05 * min(peaks), f"peak memory grew: {peaks}"


def test_the_checks_catch_a_leak():
    peaks, counts, _ = train(steps=200, window=50, keep=[])
    assert counts == sorted(counts) and counts[-1] > counts[0] + 500
    assert peaks[-1] > 1.5 * peaks[0]
