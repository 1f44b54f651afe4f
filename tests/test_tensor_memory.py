"""Memory stays flat over 500 training steps: no graph is kept alive by reference cycles."""
import gc, tracemalloc
import numpy as np

from scratchgrad.tensor import Tensor, cross_entropy, no_grad


def test_memory_flat_over_500_steps():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 196)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    params = [Tensor(rng.standard_normal((196, 64)).astype(np.float32) * 0.1), Tensor(np.zeros(64, np.float32)),
              Tensor(rng.standard_normal((64, 10)).astype(np.float32) * 0.1), Tensor(np.zeros(10, np.float32))]

    def step():
        W1, b1, W2, b2 = params
        loss = cross_entropy((X @ W1 + b1).relu() @ W2 + b2, y)
        for p in params: p.grad = None
        loss.backward()
        with no_grad():
            for p in params: p.array -= 0.05 * p.grad.array

    live = lambda: sum(isinstance(o, Tensor) for o in gc.get_objects())
    gc.collect(); gc.disable(); tracemalloc.start()
    peaks, counts = [], []
    try:
        for window in range(5):
            tracemalloc.reset_peak()
            for _ in range(100): step()
            peaks.append(tracemalloc.get_traced_memory()[1]); counts.append(live())
    finally:
        tracemalloc.stop(); gc.enable()
    assert gc.collect() == 0, "reference cycles: something waited for the cycle collector"
    assert len(set(counts)) == 1, f"live Tensors grew: {counts}"
    one_step_activations = 64 * 64 * 4 * 4              # a few (64, 64) float32 arrays: what a leaked graph adds per step
    assert max(peaks) - peaks[0] < one_step_activations * 3, f"peak memory grew: {peaks}"
    assert max(peaks[2:]) <= min(peaks[2:]) * 1.02, f"peak memory not flat: {peaks}"
