"""Tests of scratchgrad.jit (chapter 06c): bit-for-bit replays, retraces, guards, failures, threads, optimizers."""
import threading
import numpy as np
import pytest
import scratchgrad
from scratchgrad import nn
from scratchgrad.tensor import Tensor, cross_entropy
from scratchgrad.optim import SGD, Adam
from scratchgrad.jit import jit, JitError

rng = np.random.default_rng(0)
X, Y = rng.standard_normal((256, 2)), np.sign(rng.standard_normal((256, 1)))
XD, YD = rng.standard_normal((200, 64)), rng.integers(0, 10, 200)


def mlp_weights(seed=0):
    r = np.random.default_rng(seed)
    return [a for n, m in [(2, 16), (16, 16), (16, 1)] for a in (r.standard_normal((n, m)) / np.sqrt(n), r.standard_normal(m) * 0.1)]


def mlp_step(ps):
    def step(xb, yb):
        for p in ps: p.grad = None
        W1, b1, W2, b2, W3, b3 = ps
        h = (xb @ W1 + b1).tanh()
        h = (h @ W2 + b2).tanh()
        err = h @ W3 + b3 - yb
        loss = (err * err).mean()
        loss.backward()
        return loss
    return step


def digits_net(seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))


def digits_step(net):
    def step(x, y):
        net.zero_grad()
        loss = cross_entropy(net(x), y)
        loss.backward()
        return loss
    return step


def same(a, b): return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def run_pair(make_params, make_step, batches, lr=0.05):
    "Eager and jitted runs side by side: assert loss and every gradient equal bit for bit at every step."
    pe, pj = make_params(), make_params()
    se, sj = make_step(pe), jit(make_step(pj), pj)
    for xb, yb in batches:
        le, lj = se(xb, yb), sj(xb, yb)
        assert same(le.array, lj.array)
        for a, b in zip(pe, pj):
            assert same(a.grad.array, b.grad.array)
            a.array -= lr * a.grad.array; b.array -= lr * b.grad.array
    return sj


def test_mlp_bit_for_bit():
    sj = run_pair(lambda: [Tensor(w) for w in mlp_weights()], mlp_step, [(X[i:i + 32], Y[i:i + 32]) for i in range(0, 192, 32)])
    assert sj.traces == 2          # no gradients at the first call, gradients at the second: two signatures


def test_digits_bit_for_bit():
    nets = []
    def make():
        nets.append(digits_net()); return nets[-1].parameters()
    def make_step(ps):
        return digits_step(nets[-1] if nets[-1].parameters()[0] is ps[0] else nets[-2])
    run_pair(make, make_step, [(XD[i:i + 50], YD[i:i + 50]) for i in range(0, 200, 50)], lr=0.1)


def test_float32_and_new_batch_size_retrace():
    ps = [Tensor(w) for w in mlp_weights()]
    f = jit(mlp_step(ps), ps)
    f(X[:32], Y[:32]); f(X[:32], Y[:32])
    n = f.traces
    f(X[:16], Y[:16])
    assert f.traces == n + 1
    f(X[:32].astype(np.float32), Y[:32].astype(np.float32))
    assert f.traces == n + 2
    f(X[:16], Y[:16])
    assert f.traces == n + 2       # the old signature is still cached


def test_replay_has_no_graph_and_fresh_outputs():
    ps = [Tensor(w) for w in mlp_weights()]
    f = jit(mlp_step(ps), ps)
    losses = [f(X[i:i + 32], Y[i:i + 32]) for i in range(0, 160, 32)]
    assert all(not l.requires_grad and l.op == '' for l in losses)
    eager = mlp_step([Tensor(w) for w in mlp_weights()])
    assert [l.item() for l in losses] == [eager(X[i:i + 32], Y[i:i + 32]).item() for i in range(0, 160, 32)]


def test_value_dependent_branch_is_guarded():
    w = Tensor(np.ones(2))
    def branchy(x):
        w.grad = None
        s = (w * x).sum()
        out = s * 2 if s.item() > 0 else s * -3          # Python control flow on a value
        out.backward()
        return out
    f = jit(branchy, [w])
    for x in [np.array([1.0, 1.0]), np.array([-1.0, -1.0]), np.array([2.0, 1.0]), np.array([-3.0, 0.5])]:
        got = f(x).item()
        s = float(x.sum())
        assert got == (s * 2 if s > 0 else s * -3)
        assert same(w.grad.array, np.asarray(x * (2.0 if s > 0 else -3.0)))


def test_value_read_every_call_stops_with_a_clear_error():
    w = Tensor(np.ones(2))
    f = jit(lambda x: float((w * x).sum()), [w], max_traces=3)
    with pytest.raises(JitError, match=r"call \.item\(\) outside the jitted function"):
        for i in range(10): f(np.array([float(i), 1.0]))


def test_a_step_that_raises_leaves_no_cache_entry_and_no_gradient():
    ps = [Tensor(w) for w in mlp_weights()]
    ps[0].grad = Tensor(np.full((2, 16), 7.0), requires_grad=False)
    def bad(xb, yb):
        mlp_step(ps)(xb, yb)
        raise ValueError('boom')
    f = jit(bad, ps)
    with pytest.raises(ValueError, match='boom'): f(X[:8], Y[:8])
    assert f.cache == {} and f.traces == 0
    assert np.all(ps[0].grad.array == 7.0) and all(p.grad is None for p in ps[1:])
    assert all(type(p.array) is np.ndarray for p in ps)       # the traced arrays were swapped back


def test_two_threads_two_steps():
    results, errors = {}, []
    def worker(k):
        try:
            ps = [Tensor(w) for w in mlp_weights(seed=k)]
            f = jit(mlp_step(ps), ps)
            ref = mlp_step([Tensor(w) for w in mlp_weights(seed=k)])
            for i in range(20):
                xb, yb = X[8 * i:8 * i + 8 + k], Y[8 * i:8 * i + 8 + k]
                assert same(f(xb, yb).array, ref(xb, yb).array)
            results[k] = True
        except Exception as e: errors.append(e)
    threads = [threading.Thread(target=worker, args=(k,)) for k in (1, 2)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors, errors
    assert results == {1: True, 2: True}


def test_same_jit_from_two_threads_replaying_at_once():
    ps = [Tensor(w) for w in mlp_weights()]
    f = jit(mlp_step(ps), ps, check=False)
    ref = mlp_step([Tensor(w) for w in mlp_weights()])
    expected = {i: ref(X[8 * i:8 * i + 16], Y[8 * i:8 * i + 16]).array for i in range(10)}
    f(X[:16], Y[:16]); f(X[:16], Y[:16])
    errors = []
    def worker():
        for _ in range(30):
            for i in range(10):
                if not same(f(X[8 * i:8 * i + 16], Y[8 * i:8 * i + 16]).array, expected[i]): errors.append(i)
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors


@pytest.mark.parametrize('opt_class, kw', [(SGD, dict(lr=0.1, momentum=0.9)), (Adam, dict(lr=0.01))])
def test_optimizers_after_the_jitted_step(opt_class, kw):
    def train(use_jit):
        ps = [Tensor(w) for w in mlp_weights()]
        step = jit(mlp_step(ps), ps) if use_jit else mlp_step(ps)
        opt = opt_class(ps, **kw)
        for i in range(8):
            step(X[16 * i:16 * i + 16], Y[16 * i:16 * i + 16]); opt.step()
        return [p.array for p in ps]
    for a, b in zip(train(False), train(True)): assert same(a, b)


def test_accumulating_gradients_across_calls():
    w = Tensor(np.array([1.0, 2.0]))
    f = jit(lambda x: (w * x).sum().backward(), [w])
    for i in range(4): f(np.array([1.0, float(i)]))
    assert same(w.grad.array, np.array([4.0, 6.0]))


def test_optimizer_inside_is_refused():
    ps = [Tensor(w) for w in mlp_weights()]
    def inside(xb, yb):
        loss = mlp_step(ps)(xb, yb)
        for p in ps: p.array -= 0.1 * p.grad.array
        return loss
    with pytest.raises(JitError, match='run the optimizer'): jit(inside, ps)(X[:8], Y[:8])


def test_undeclared_parameter_is_refused():
    hidden = Tensor(np.ones(2), name='hidden')
    with pytest.raises(JitError, match="named 'hidden' that is not among the params"):
        jit(lambda x: (hidden * x).sum().backward())(np.ones(2))


def test_randomness_is_caught_at_the_checked_replay():
    w = Tensor(np.ones(3))
    r = np.random.default_rng(0)
    f = jit(lambda x: (w * (x + r.standard_normal(3))).sum(), [w])
    f(np.ones(3))
    with pytest.raises(JitError, match='random numbers'): f(np.ones(3))


def test_copy_of_the_input_is_recorded():
    w = Tensor(np.ones(2))
    def step(x):
        w.grad = None
        t = Tensor(x, requires_grad=False)          # Tensor() copies with np.array
        loss = (w * t).sum(); loss.backward()
        return loss
    f = jit(step, [w])
    for x in [np.array([1.0, 2.0]), np.array([3.0, 5.0]), np.array([-1.0, 4.0])]:
        assert f(x).item() == x.sum() and same(w.grad.array, x)


def test_bad_arguments_name_the_fix():
    with pytest.raises(JitError, match='argument 0 is a list'): jit(lambda a: a)([1, 2])
    t = Tensor(np.ones(2))
    with pytest.raises(JitError, match='not a leaf'): jit(lambda a: a)(t * 2)
    with pytest.raises(TypeError, match=r'params\[0\] is a ndarray'): jit(lambda a: a, [np.ones(2)])


def test_dead_code_is_dropped():
    f = jit(lambda x: (np.tanh(x).sum(), np.exp(x).sum())[0])
    f(np.ones(3))
    entry = next(iter(f.cache.values()))[0]
    assert entry.program.n_ops == 2 and 'exp' not in entry.program.source
    assert entry.program.n_recorded == 4                      # what a replay without the pass would run


def test_cnn_bit_for_bit():
    net = None
    def make():
        nonlocal net
        nn.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 10))
        return net
    n1, n2 = make(), make()
    s1, s2 = digits_step(n1), jit(digits_step(n2), n2)
    imgs = rng.standard_normal((40, 1, 8, 8))
    for i in range(0, 40, 10):
        l1, l2 = s1(imgs[i:i + 10], YD[i:i + 10]), s2(imgs[i:i + 10], YD[i:i + 10])
        assert same(l1.array, l2.array)
        for a, b in zip(n1.parameters(), n2.parameters()):
            assert same(a.grad.array, b.grad.array)
            a.array -= 0.1 * a.grad.array; b.array -= 0.1 * b.grad.array
