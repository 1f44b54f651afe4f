"""Module discovery, Linear, activations, Sequential/MLP, Dropout."""
import numpy as np
import pytest

from scratchgrad.tensor import Tensor
from scratchgrad.nn import (MLP, Dropout, Linear, Module, ReLU, Sequential, Sigmoid, Tanh, manual_seed)


class Block(Module):
    def __init__(self, shared):
        self.lin = Linear(3, 3, generator=0)
        self.shared = shared
        self.frozen = Tensor(np.ones(3), requires_grad=False)
        self.array = np.ones(3)                      # plain arrays are not parameters
    def forward(self, x): return self.lin(x) * self.shared


class Net(Module):
    def __init__(self):
        self.shared = Tensor(np.ones(3), name='shared')
        self.blocks = [Block(self.shared), Block(self.shared)]
        self.head = Sequential(Linear(3, 2, generator=1), ReLU())
    def forward(self, x):
        for b in self.blocks: x = b(x)
        return self.head(x)


def test_discovery_names_and_sharing():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ['shared', 'blocks.0.lin.weight', 'blocks.0.lin.bias', 'blocks.1.lin.weight',
                     'blocks.1.lin.bias', 'head.0.weight', 'head.0.bias']
    assert len({id(p) for p in net.parameters()}) == len(names)
    assert [n for n, _ in net.named_modules()] == ['', 'blocks.0', 'blocks.0.lin', 'blocks.1', 'blocks.1.lin',
                                                  'head', 'head.0', 'head.1']


def test_gradients_reach_every_parameter_and_zero_grad():
    net = Net()
    net(np.random.default_rng(0).standard_normal((4, 3))).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_eval_propagates():
    net = Net()
    assert net.eval() is net
    assert not any(m.training for _, m in net.named_modules())
    net.train()
    assert all(m.training for _, m in net.named_modules())


def test_forward_must_be_defined():
    class Empty(Module): pass
    with pytest.raises(NotImplementedError, match='must define forward'):
        Empty()(1)


@pytest.mark.parametrize('n_in, n_out', [(1, 1), (5, 3), (64, 100)])
def test_linear_init_bounds_and_seeding(n_in, n_out):
    lin = Linear(n_in, n_out, generator=7)
    bound = 1 / np.sqrt(n_in)
    assert lin.weight.shape == (n_out, n_in) and lin.bias.shape == (n_out,)
    assert np.abs(lin.weight.array).max() <= bound and np.abs(lin.bias.array).max() <= bound
    np.testing.assert_array_equal(lin.weight.array, Linear(n_in, n_out, generator=7).weight.array)
    manual_seed(3); a = Linear(n_in, n_out).weight.array.copy()
    manual_seed(3); b = Linear(n_in, n_out).weight.array.copy()
    np.testing.assert_array_equal(a, b)


def test_linear_init_variance():
    w = Linear(400, 400, generator=0).weight.array
    assert abs(w.var() * 3 * 400 - 1) < 0.05          # Var = 1 / (3 fan_in)


def test_linear_forward_batched_and_errors():
    lin = Linear(3, 2, generator=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((2, 5, 3))     # extra leading axes broadcast
    np.testing.assert_allclose(lin(x).array, x @ lin.weight.array.T + lin.bias.array, rtol=1e-12)
    with pytest.raises(ValueError, match=r'must have 3 features, got an input of shape \(2, 4\)'):
        lin(np.ones((2, 4)))
    for bad in [0, -1, 2.5, True]:
        with pytest.raises(ValueError, match='positive integer'):
            Linear(bad, 2)


def test_activations():
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(ReLU()(x).array, np.maximum(x, 0))
    np.testing.assert_allclose(Tanh()(x).array, np.tanh(x))
    np.testing.assert_allclose(Sigmoid()(x).array, 1 / (1 + np.exp(-x)))


def test_mlp_structure():
    m = MLP(4, [8, 8, 3], activation=Tanh, bias=False, generator=0)
    assert [type(l).__name__ for l in m] == ['Linear', 'Tanh', 'Linear', 'Tanh', 'Linear']
    assert [n for n, _ in m.named_parameters()] == ['0.weight', '2.weight', '4.weight']
    assert m(np.zeros((2, 4))).shape == (2, 3)
    with pytest.raises(ValueError, match='at least one layer'):
        MLP(2, [])
    with pytest.raises(TypeError, match='not a Module'):
        Sequential(Linear(2, 2), lambda x: x)


def test_dropout_modes():
    d = Dropout(0.25, generator=0)
    x = Tensor(np.ones((200, 50)))
    y = d(x)
    kept = y.array != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.array[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.array, kept / 0.75)       # gradient flows through the kept entries only
    d.eval()
    np.testing.assert_array_equal(d(x).array, x.array)
    with pytest.raises(ValueError, match=r'p must be in \[0, 1\)'):
        Dropout(1.0)


def test_named_tensors_keep_frozen_parameters_and_constants():
    net = Net()
    all_names = [n for n, _ in net.named_tensors()]
    assert 'blocks.0.frozen' in all_names and 'blocks.0.lin.weight' in all_names
    net.blocks[0].lin.weight.requires_grad = False
    assert 'blocks.0.lin.weight' not in [n for n, _ in net.named_parameters()]
    assert [n for n, _ in net.named_tensors()] == all_names


def test_default_generator_is_per_thread():
    import threading
    manual_seed(5); main_first = Linear(3, 2).weight.array.copy()
    manual_seed(5)
    seen = {}
    def worker():
        seen['fresh'] = Linear(3, 2).weight.array.copy()     # a new thread starts from seed 0
        manual_seed(99)                                      # and its reseeding stays in the thread
    t = threading.Thread(target=worker); t.start(); t.join()
    np.testing.assert_array_equal(Linear(3, 2).weight.array, main_first)
    manual_seed(0); np.testing.assert_array_equal(seen['fresh'], Linear(3, 2).weight.array)
