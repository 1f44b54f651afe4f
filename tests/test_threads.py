"""Grad mode, anomaly mode and the trace level of nested `grad` are per thread: two threads that train, evaluate under
no_grad, and take nested functional derivatives for about a second never see each other's state."""
import threading, time
import numpy as np

from scratchgrad.tensor import Tensor, no_grad, enable_grad, is_grad_enabled, detect_anomaly, set_grad_enabled
from scratchgrad.engine import _state
from scratchgrad.autograd import grad
from scratchgrad.numpy import trace_level
import scratchgrad.numpy as snp


def trainer(stop, counts, errors):
    "Forward/backward of a small model, with no_grad evaluations in between; checks every gradient."
    rng = np.random.default_rng(1)
    W = Tensor(rng.standard_normal((3, 2)))
    X = rng.standard_normal((4, 3))
    while not stop.is_set():
        W.grad = None
        loss = ((X @ W) ** 2).sum()
        loss.backward()
        want = 2 * X.T @ (X @ W.array)
        if not np.allclose(W.grad.array, want): errors.append('trainer: wrong gradient')
        with no_grad():
            y = X @ W
            if y.requires_grad or is_grad_enabled(): errors.append('trainer: no_grad did not hold')
        if not is_grad_enabled(): errors.append('trainer: grad mode left off')
        counts['trainer'] += 1


def evaluator(stop, counts, errors):
    "no_grad blocks, its own backward passes, and nested functional grads (third derivative of sin)."
    a = Tensor([1.0, 2.0, 3.0])
    d3 = grad(grad(grad(snp.sin)))
    while not stop.is_set():
        with no_grad():
            if (a * 2).requires_grad: errors.append('evaluator: recorded under no_grad')
            with enable_grad():
                y = (a * a).sum()
            if not y.requires_grad: errors.append('evaluator: enable_grad did not hold')
        y.backward()
        if not np.allclose(a.grad.array, 2 * a.array): errors.append('evaluator: wrong gradient')
        a.grad = None
        v = d3(0.3)
        if not isinstance(v, float) or not np.isclose(v, -np.cos(0.3)): errors.append(f'evaluator: nested grad gave {v!r}')
        if trace_level() != 0: errors.append('evaluator: trace level leaked')
        counts['evaluator'] += 1


def run_threads(seconds=1.0):
    "Run both workers for `seconds`; return their iteration counts and the list of wrong results."
    stop, counts, errors = threading.Event(), {'trainer': 0, 'evaluator': 0}, []
    threads = [threading.Thread(target=f, args=(stop, counts, errors)) for f in (trainer, evaluator)]
    for t in threads: t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads: t.join()
    return counts, errors


def test_two_threads_for_a_second_never_mix_state():
    counts, errors = run_threads(1.0)
    assert errors == [], errors[:5]
    assert counts['trainer'] > 50 and counts['evaluator'] > 50, counts
    assert is_grad_enabled() and not _state.anomaly and trace_level() == 0


def test_a_new_thread_starts_from_the_defaults():
    seen = {}
    def look(): seen.update(grad=is_grad_enabled(), anomaly=_state.anomaly, level=trace_level())
    with no_grad(), detect_anomaly():
        t = threading.Thread(target=look); t.start(); t.join()
    assert seen == {'grad': True, 'anomaly': False, 'level': 0}


def test_switches_restore_when_nested_reused_and_as_decorators():
    off = no_grad()
    with off:
        with off: assert not is_grad_enabled()
        with enable_grad():
            assert is_grad_enabled()
            with off: assert not is_grad_enabled()
            assert is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()

    @no_grad()
    def evaluate(x): return x * 2, is_grad_enabled()
    y, mode = evaluate(Tensor(1.0))
    assert not y.requires_grad and not mode and is_grad_enabled()
    with no_grad():
        @enable_grad()
        def record(x): return x * 2
        assert record(Tensor(1.0)).requires_grad and not is_grad_enabled()
    try:
        with set_grad_enabled(False): raise KeyError
    except KeyError: pass
    assert is_grad_enabled()                                        # restored after an exception too
    results = []
    def worker(): results.extend(evaluate(Tensor(1.0))[1] for _ in range(200))
    ts = [threading.Thread(target=worker) for _ in range(2)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert results == [False] * 400 and is_grad_enabled()        # one decorated function, two threads at once


if __name__ == '__main__':
    counts, errors = run_threads(1.0)
    print(counts, len(errors), 'wrong results', errors[:3])
