"""SGD and Adam against numpy references of their update rules; argument checking; optional PyTorch cross-check."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scratchgrad.tensor import Tensor
from scratchgrad.nn import Linear, MLP, Module
from scratchgrad.optim import SGD, Adam


def quartic_grad(theta):          # gradient of sum(theta^4)/4 + sum(theta)
    return theta ** 3 + 1.0


def run(opt_cls, theta0, steps, **kw):
    w = Tensor(theta0.copy())
    opt = opt_cls([w], **kw)
    for _ in range(steps):
        opt.zero_grad()
        (((w * w) * (w * w)).sum() / 4 + w.sum()).backward()
        opt.step()
    return w.array


def ref_sgd(theta, steps, lr, momentum=0.0, weight_decay=0.0):
    v = None
    for _ in range(steps):
        g = quartic_grad(theta) + weight_decay * theta
        if momentum: v = g if v is None else momentum * v + g; g = v
        theta = theta - lr * g
    return theta


def ref_adam(theta, steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    m = s = np.zeros_like(theta)
    for t in range(1, steps + 1):
        g = quartic_grad(theta) + weight_decay * theta
        m = betas[0] * m + (1 - betas[0]) * g
        s = betas[1] * s + (1 - betas[1]) * g * g
        theta = theta - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(s / (1 - betas[1] ** t)) + eps)
    return theta


theta0 = np.array([0.5, -0.8, 0.1, 1.2])


@settings(max_examples=30, deadline=None)
@given(lr=st.floats(1e-3, 0.2), momentum=st.sampled_from([0.0, 0.5, 0.9]), wd=st.sampled_from([0.0, 1e-2]),
       steps=st.integers(1, 8))
def test_sgd_matches_reference(lr, momentum, wd, steps):
    np.testing.assert_allclose(run(SGD, theta0, steps, lr=lr, momentum=momentum, weight_decay=wd),
                               ref_sgd(theta0, steps, lr, momentum, wd), rtol=1e-12, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(lr=st.floats(1e-4, 0.1), b1=st.sampled_from([0.0, 0.9]), b2=st.sampled_from([0.9, 0.999]),
       wd=st.sampled_from([0.0, 1e-2]), steps=st.integers(1, 8))
def test_adam_matches_reference(lr, b1, b2, wd, steps):
    np.testing.assert_allclose(run(Adam, theta0, steps, lr=lr, betas=(b1, b2), weight_decay=wd),
                               ref_adam(theta0, steps, lr, (b1, b2), 1e-8, wd), rtol=1e-10, atol=1e-13)


def test_parameters_without_gradient_are_skipped_and_keep_their_adam_clock():
    a, b = Tensor([1.0]), Tensor([1.0])
    opt = Adam([a, b], lr=0.1)
    (a * a).sum().backward(); opt.step()          # b has no gradient yet
    assert b.array[0] == 1.0 and a.array[0] == pytest.approx(0.9)
    opt.zero_grad(); (b * b).sum().backward(); opt.step()
    assert b.array[0] == pytest.approx(0.9)       # b's first step is a full first step (bias correction t=1)


def test_an_optimizer_keeps_only_state_its_update_reads():
    "No write-only bookkeeping: a step counter nothing read was a second, disagreeing clock beside Adam's per-parameter t."
    w = Tensor([1.0])
    assert set(vars(SGD([w], lr=0.1, momentum=0.9))) == {'params', 'lr', 'momentum', 'weight_decay', 'velocity'}
    assert set(vars(Adam([w]))) == {'params', 'lr', 'betas', 'eps', 'weight_decay', 'm', 's', 't'}


def test_updates_are_in_place_and_keep_dtype():
    lin = Linear(3, 2, generator=0)
    w_array = lin.weight.array
    opt = SGD(lin.parameters(), lr=0.1)
    lin(np.ones((4, 3), dtype=np.float64)).sum().backward()   # float64 input -> float64 gradients
    opt.step()
    assert lin.weight.array is w_array and lin.weight.dtype == np.float32


def test_grad_arrays_are_not_modified():
    w = Tensor([1.0, 2.0])
    opt = SGD([w], lr=0.1, momentum=0.9, weight_decay=0.1)
    (w * w).sum().backward()
    g = w.grad.array.copy()
    opt.step(); opt.step()
    np.testing.assert_array_equal(w.grad.array, g)


def test_duplicates_are_updated_once():
    w = Tensor([1.0])
    opt = SGD([w, w], lr=0.1)
    (w * w).sum().backward(); opt.step()
    assert w.array[0] == pytest.approx(0.8)


@pytest.mark.parametrize('make, exc, message', [
    (lambda: SGD([Tensor(1.0)], lr=0), ValueError, 'lr must be a positive number, got 0'),
    (lambda: SGD([Tensor(1.0)], lr=-1e-3), ValueError, 'lr must be a positive number'),
    (lambda: SGD([Tensor(1.0)], lr=float('inf')), ValueError, 'lr must be a positive number'),
    (lambda: SGD([Tensor(1.0)], lr=None), ValueError, 'lr must be a positive number, got None'),
    (lambda: SGD([Tensor(1.0)], lr=np.array([0.1])), ValueError, 'lr must be a positive number'),
    (lambda: Adam([Tensor(1.0)], lr=False), ValueError, 'lr must be a positive number, got False'),
    (lambda: SGD([Tensor(1.0), [1.0]], lr=0.1), TypeError, 'parameter 1 is a list, not a Tensor'),
    (lambda: Adam([np.float64(1.0)], lr=0.1), TypeError, 'parameter 0 is a float64, not a Tensor'),
    (lambda: SGD([Tensor(1.0, requires_grad=False)], lr=0.1), ValueError, 'requires_grad=False'),
    (lambda: SGD(MLP(2, [2]), lr=0.1), TypeError, 'model.parameters()'),
    (lambda: SGD(iter([]), lr=0.1), ValueError, 'empty list of parameters'),
    (lambda: SGD([Tensor(1.0)], lr=0.1, momentum=-0.5), ValueError, 'momentum must be a non-negative number'),
    (lambda: SGD([Tensor(1.0)], lr=0.1, weight_decay=-1), ValueError, 'weight_decay must be a non-negative number'),
    (lambda: Adam([Tensor(1.0)], betas=(0.9,)), ValueError, 'betas must be two numbers'),
    (lambda: Adam([Tensor(1.0)], eps=0), ValueError, 'eps must be a positive number'),
])
def test_bad_arguments(make, exc, message):
    with pytest.raises(exc) as e:
        make()
    assert message in str(e.value)


def test_against_torch_if_available():
    torch = pytest.importorskip('torch')
    for ours, theirs, kw in [(SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
                             (Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.01))]:
        w = torch.tensor(theta0.copy(), requires_grad=True)
        opt = theirs([w], **kw)
        for _ in range(5):
            opt.zero_grad(); (w ** 4 / 4 + w).sum().backward(); opt.step()
        np.testing.assert_allclose(run(ours, theta0, 5, **kw), w.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize('make', [lambda w: w * 2, lambda w: w.T, lambda w: w.reshape(-1), lambda w: w[0]])
def test_optimizers_refuse_non_leaf_tensors(make):
    w = Tensor(np.ones((2, 2)))
    for opt in (SGD, Adam):
        with pytest.raises(ValueError, match='is the result of an operation .* not a leaf Tensor'):
            opt([w, make(w)], lr=0.1)


@pytest.mark.parametrize('make', [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)])
def test_step_over_a_retained_graph_is_refused_before_any_change(make):
    "An in-place step while a retained graph still needs the parameters would make its next backward() wrong."
    a = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = Tensor(np.array([[0.5, -1.0]]), requires_grad=True)
    opt = make([b, a])
    loss = (a * a).sum() + (b * b).sum()
    loss.backward(retain_graph=True)
    before = (a.array.copy(), b.array.copy())
    with pytest.raises(RuntimeError, match=r'parameter \d \(shape \(\d.*\)\) is read-only'):
        opt.step()
    np.testing.assert_array_equal(a.array, before[0]); np.testing.assert_array_equal(b.array, before[1])
    loss.backward()                                   # the retained graph still gives the right gradient: 2a + 2a
    np.testing.assert_allclose(a.grad.array, 4 * before[0])
    del loss
    opt.step()                                        # released: the normal loop goes on
    assert not np.array_equal(a.array, before[0])


# ---- who holds a parameter read-only: each message names the holder and the fix ----------------------------------

class Cache(Module):
    "A module that keeps its last output, a common way to inspect activations."
    def __init__(self): self.w = Tensor(np.ones(3), name='w')
    def forward(self, x):
        out = x * self.w
        self.last = out                                  # keeps the graph of `out` alive, and with it `w` read-only
        return out


OPTIMIZERS = {'SGD': lambda ps: SGD(ps, lr=0.1, momentum=0.9), 'Adam': lambda ps: Adam(ps, lr=0.1)}


@pytest.mark.parametrize('name', list(OPTIMIZERS))
def test_step_names_a_module_attribute_that_keeps_a_graph(name):
    m = Cache(); opt = OPTIMIZERS[name](m.parameters())
    m(np.ones(3)).sum().backward()
    m(np.full(3, 2.0))                                   # a prediction with grad on: its result is dropped, not m.last
    with pytest.raises(RuntimeError) as e:
        opt.step()
    msg = str(e.value)
    assert f"{name}.step: parameter 0 (shape (3,), named 'w') is read-only" in msg
    assert '`Cache.last`' in msg and 'out.detach()' in msg and 'no_grad()' in msg
    assert 'retain_graph' not in msg and 'del loss' not in msg      # the caller holds nothing: don't blame it
    np.testing.assert_array_equal(m.w.array, np.ones(3))             # refused before any change
    m.last = m.last.detach()                                         # the fix it names works
    opt.step()
    assert not np.array_equal(m.w.array, np.ones(3))


@pytest.mark.parametrize('name', list(OPTIMIZERS))
def test_step_after_create_graph_names_the_gradient_graph(name):
    w = Tensor([1.0, 2.0], name='w'); opt = OPTIMIZERS[name]([w])
    loss = (w * w * w).sum()
    loss.backward(create_graph=True)
    del loss                                             # only the gradient's own graph holds w now
    with pytest.raises(RuntimeError) as e:
        opt.step()
    msg = str(e.value)
    assert f"{name}.step: parameter 0 (shape (2,), named 'w') is read-only" in msg
    assert 'its gradient (.grad), recorded by backward(create_graph=True)' in msg
    assert 'p.grad = p.grad.detach()' in msg and 'retain_graph=True' not in msg
    np.testing.assert_array_equal(w.array, [1.0, 2.0])
    for p in opt.params: p.grad = p.grad.detach()          # the fix it names works
    opt.step()
    assert w.array[0] < 1.0


@pytest.mark.parametrize('name', list(OPTIMIZERS))
def test_step_names_the_variable_that_keeps_a_retained_graph(name):
    w = Tensor([1.0, 2.0]); opt = OPTIMIZERS[name]([w])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError) as e:
        opt.step()
    msg = str(e.value)
    assert 'the variable `loss`' in msg and 'del loss' in msg and 'retain_graph' in msg


def test_step_on_an_array_made_read_only_by_hand():
    w = Tensor([1.0, 2.0]); opt = SGD([w], lr=0.1)
    (w * w).sum().backward()
    w.array.setflags(write=False)                          # not a graph: someone else made it read-only
    with pytest.raises(RuntimeError, match=r'No recorded graph holds it.*\.array\.copy\(\)'):
        opt.step()
