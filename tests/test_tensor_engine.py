"""The reverse pass of `scratchgrad.tensor`: ordering, accumulation, release, grad mode, the functional `grad`,
higher-order derivatives, and (when installed) agreement with PyTorch."""
import sys
import numpy as np
import pytest
from fastcore.test import test_fail as expect_fail

import scratchgrad.tensor as T
from scratchgrad.tensor import (Tensor, backward, cross_entropy, enable_grad, grad, is_grad_enabled, no_grad,
                                set_grad_enabled, toposort)


def test_long_chain_no_recursion_limit():
    x = Tensor(1.0)
    y = x
    for _ in range(100_000): y = y * 1.00001 + 0.0
    assert len(toposort([y])) == 200_001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.00001 ** 100_000, rtol=1e-9)


def test_toposort_parents_first_and_deterministic():
    a, b = Tensor(1.0, name='a'), Tensor(2.0, name='b')
    c = a * b; d = c + a; e = d * c
    order = toposort([e])
    pos = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for p in n.parents:
            if p.requires_grad: assert pos[id(p)] < pos[id(n)]
    assert [n.op or n.name for n in order] == [n.op or n.name for n in toposort([e])]
    assert len(order) == 5


def test_reuse_accumulates_and_parents_keep_repeats():
    x = Tensor([1.0, 2.0])
    y = x * x
    assert y.parents == (x, x)
    (g,) = grad(y.sum(), [x])
    np.testing.assert_array_equal(g.array, [2.0, 4.0])


def test_backward_accumulates_into_leaves_and_grad_does_not():
    x = Tensor([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [3 + 2, 3 + 4])
    g = grad((x * 5).sum(), x)
    np.testing.assert_array_equal(g.array, [5, 5]); np.testing.assert_array_equal(x.grad.array, [5, 7])
    assert not x.grad.requires_grad


def test_graph_released_unless_retained():
    x = Tensor(2.0)
    y = x * x
    y.backward(retain_graph=True); y.backward()
    assert x.grad.item() == 8.0
    assert y.parents == () and y.op == 'mul'              # released, op kept for drawing
    expect_fail(lambda: y.backward(), contains='retain_graph=True')
    z = x * 3
    grad(z, x); expect_fail(lambda: grad(z, x), contains='already freed')
    w = x * 3
    grad(w, x, retain_graph=True); assert grad(w, x).item() == 3.0


def test_grad_of_interior_nodes_and_unused_inputs():
    x = Tensor([1.0, 2.0]); u = Tensor(3.0)
    h = x * 2
    y = (h * h).sum()
    gh, gx, gu = grad(y, [h, x, u])
    np.testing.assert_array_equal(gh.array, 2 * h.array); np.testing.assert_array_equal(gx.array, 8 * x.array)
    assert gu.item() == 0.0 and gu.shape == ()


def test_grad_outputs_that_require_grad_are_recorded():
    x = Tensor([1.0, -2.0, 0.5]); v = Tensor([0.3, 0.1, -0.2])
    u = Tensor(np.zeros(3))                                 # J^T u, then d/du <J^T u, v> = J v (the double-VJP trick)
    y = x.tanh() * x
    (jtu,) = grad(y, [x], grad_outputs=u, create_graph=True)
    (jv,) = grad((jtu * v).sum(), [u])
    J = np.diag(1 - np.tanh(x.array) ** 2) * x.array + np.diag(np.tanh(x.array))
    np.testing.assert_allclose(jv.array, J @ v.array)


def test_grad_mode():
    x = Tensor(1.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2
        with enable_grad(): z = x * 2
    assert not y.requires_grad and y.parents == () and z.requires_grad
    f = set_grad_enabled(False)(lambda t: t * 2)
    assert not f(x).requires_grad and is_grad_enabled()
    x2 = Tensor(3.0)
    g = grad((x2 ** 3), x2)                                # no create_graph: the gradient is a constant
    assert not g.requires_grad and g.parents == ()
    g2 = grad((x2 ** 3), x2, create_graph=True)
    assert g2.requires_grad and g2.op


def test_higher_order_and_hvp():
    x = Tensor(np.linspace(-2, 2, 5))
    t = np.tanh(x.array)
    d1 = grad(x.tanh().sum(), x, create_graph=True)
    d2 = grad(d1.sum(), x, create_graph=True)
    d3 = grad(d2.sum(), x, create_graph=True)
    d4 = grad(d3.sum(), x)
    np.testing.assert_allclose(d1.array, 1 - t ** 2)
    np.testing.assert_allclose(d2.array, -2 * t * (1 - t ** 2))
    np.testing.assert_allclose(d3.array, (6 * t ** 2 - 2) * (1 - t ** 2))
    np.testing.assert_allclose(d4.array, 8 * t * (2 - 3 * t ** 2) * (1 - t ** 2))
    xs = Tensor(np.linspace(-1, 1, 4))
    A = np.arange(16.0).reshape(4, 4); A = A + A.T
    f = lambda v: 0.5 * (v @ (A @ v)) + v.exp().sum()
    (g,) = grad(f(xs), [xs], create_graph=True)
    H = np.stack([grad((g * e).sum(), xs, retain_graph=True).array for e in np.eye(4)])
    np.testing.assert_allclose(H, A + np.diag(np.exp(xs.array)))


def test_backward_create_graph_gives_differentiable_grad():
    x = Tensor(1.5)
    (x ** 3).backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = grad(x.grad, [x])
    assert g2.item() == pytest.approx(6 * 1.5)


def test_subclass_results():
    class Box(Tensor):
        pass
    class Param(Tensor):
        pass
    Box._result_class = Box
    b, p = Box(1.0), Param(2.0)
    assert type(b * 2) is Box and type(2 * b) is Box      # ops on a Box return Boxes
    assert type(p * 2) is Tensor                           # ... on other subclasses, plain Tensors
    assert type(np.ones(1) + b) is Box


def test_draw_graph_protocol():
    graph = pytest.importorskip('scratchgrad.graph')
    x = Tensor(np.ones((2, 3)), name='x')
    y = (x @ np.ones((3, 4))).relu().sum()
    g = graph.draw_graph(y)
    src = g.source
    assert 'matmul' in src and 'relu' in src and 'sum' in src and 'x' in src
    (dx,) = grad((x * x).sum(), [x], create_graph=True)
    assert 'mul' in graph.draw_graph(dx).source


def test_against_pytorch():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    X, W1, W2 = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    y = np.array([0, 1, 1, 0, 1])
    ts = [Tensor(W1), Tensor(W2)]
    loss = cross_entropy((X @ ts[0]).tanh() @ ts[1], y)
    g1, g2 = grad(loss, ts)
    tw = [torch.tensor(w, requires_grad=True) for w in (W1, W2)]
    tl = torch.nn.functional.cross_entropy(torch.tanh(torch.tensor(X) @ tw[0]) @ tw[1], torch.tensor(y))
    tl.backward()
    assert loss.item() == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(g1.array, tw[0].grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(g2.array, tw[1].grad.numpy(), rtol=1e-10)
