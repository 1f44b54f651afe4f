"""The reverse pass of `scratchgrad.tensor`: ordering, accumulation, release, grad mode, the functional `grad`,
higher-order derivatives, and (when installed) agreement with PyTorch."""
import sys
import numpy as np
import pytest
from fastcore.test import test_fail as expect_fail

import scratchgrad.tensor as T
from scratchgrad.tensor import (Tensor, backward, cross_entropy, enable_grad, gradients, is_grad_enabled, no_grad,
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


def _tap(log):
    "An identity primitive (not registered in the table) whose VJP logs which node it ran for."
    def vjp(g, out, x):
        log.append(out)
        return (g,)
    return T.Primitive('tap', lambda x: x.copy(), vjp)


@pytest.mark.parametrize('seed', range(20))
def test_reverse_pass_runs_each_vjp_once_after_all_its_consumers(seed):
    # random DAGs whose nodes are built in an order unrelated to any depth-first walk from the output
    rng = np.random.default_rng(seed)
    log = []
    tap = _tap(log)
    xs = [Tensor(rng.standard_normal(3)) for _ in range(3)]
    nodes = list(xs)
    consumers = {}
    for _ in range(25):
        i, j = rng.integers(0, len(nodes), 2)
        a, b = nodes[i], nodes[j]
        n = T.apply(tap, a * b if rng.random() < 0.5 else a + b)
        for parent in {id(a), id(b)}: consumers.setdefault(parent, []).append(n)
        nodes.append(n)
    out = sum(nodes[3:], Tensor(np.zeros(3))).sum()
    reached = {id(n) for n in toposort([out])}
    out.backward()
    when = {id(n): k for k, n in enumerate(log)}
    assert len(when) == len(log) == len(nodes) - 3                     # every tap ran exactly once...
    for k, n in enumerate(log):                                        # ...after the taps of all its consumers
        assert all(when[id(c)] < k for c in consumers.get(id(n), []) if id(c) in reached)


def test_reverse_pass_order_is_creation_order_not_walk_order():
    a = Tensor(2.0)
    c = a * 2                       # created first, consumed twice, last
    b = a * 3
    e = c * b + c
    e.backward()
    assert a.grad.item() == 12 * 2.0 + 2
    assert all(n.parents == () for n in (b, c, e))                     # each node released after its VJP


def test_several_roots_one_feeding_another_duplicates_and_leaves():
    x = Tensor(2.0); y = x * x; z = y * 3
    backward([y, z])                                                   # z's contribution reaches y before y runs
    assert x.grad.item() == 2 * 2.0 + 6 * 2.0
    x = Tensor(2.0); y = x * x
    backward([y, y])                                                   # the same root twice: seeds add up
    assert x.grad.item() == 8.0
    x = Tensor(2.0)
    backward([x, x * 1.0])                                             # a leaf as a root
    assert x.grad.item() == 2.0
    x = Tensor(2.0); y = x * x; z = y * 3
    assert gradients([z, y], x).item() == 16.0                              # the pruned path, roots in either order


def test_custom_primitive_through_apply_is_released_with_the_graph():
    calls = []
    def vjp(g, out, x):
        calls.append(out)
        return (g * (out * (1 - out)),)
    prim = T.Primitive('sigmoid_custom', lambda x: 1 / (1 + np.exp(-x)), vjp)
    x = Tensor(np.array([-1.0, 0.5, 2.0]))
    y = T.apply(prim, x)
    assert y.parents == (x,) and y._prim is prim
    y.sum().backward()
    s = 1 / (1 + np.exp(-x.array))
    np.testing.assert_allclose(x.grad.array, s * (1 - s), rtol=1e-12)
    assert y.parents == () and y._prim is None and len(calls) == 1   # released with the graph
    with no_grad(): z = T.apply(prim, x)
    assert z.parents == () and not z.requires_grad


def test_cross_entropy_gradient_retained_graph_and_second_order():
    rng = np.random.default_rng(0)
    z = Tensor(rng.standard_normal((6, 4)))
    y = np.array([0, 3, 1, 2, 2, 0])
    loss = cross_entropy(z, y)
    p = np.exp(z.array - z.array.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    g1 = gradients(loss, z, retain_graph=True)
    g2 = gradients(loss, z)
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(g1.array, (p - onehot) / 6, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(g1.array, g2.array)
    (gz,) = [gradients(cross_entropy(z, y), z, create_graph=True)]          # second order flows through z
    (hz,) = [gradients((gz * gz).sum(), z)]
    assert np.abs(hz.array).sum() > 0


def test_reuse_accumulates_and_parents_keep_repeats():
    x = Tensor([1.0, 2.0])
    y = x * x
    assert y.parents == (x, x)
    (g,) = gradients(y.sum(), [x])
    np.testing.assert_array_equal(g.array, [2.0, 4.0])


def test_backward_accumulates_into_leaves_and_grad_does_not():
    x = Tensor([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [3 + 2, 3 + 4])
    g = gradients((x * 5).sum(), x)
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
    gradients(z, x); expect_fail(lambda: gradients(z, x), contains='already freed')
    w = x * 3
    gradients(w, x, retain_graph=True); assert gradients(w, x).item() == 3.0


def test_grad_of_interior_nodes_and_unused_inputs():
    x = Tensor([1.0, 2.0]); u = Tensor(3.0)
    h = x * 2
    y = (h * h).sum()
    gh, gx, gu = gradients(y, [h, x, u])
    np.testing.assert_array_equal(gh.array, 2 * h.array); np.testing.assert_array_equal(gx.array, 8 * x.array)
    assert gu.item() == 0.0 and gu.shape == ()


def test_grad_outputs_that_require_grad_are_recorded():
    x = Tensor([1.0, -2.0, 0.5]); v = Tensor([0.3, 0.1, -0.2])
    u = Tensor(np.zeros(3))                                 # J^T u, then d/du <J^T u, v> = J v (the double-VJP trick)
    y = x.tanh() * x
    (jtu,) = gradients(y, [x], grad_outputs=u, create_graph=True)
    (jv,) = gradients((jtu * v).sum(), [u])
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
    g = gradients((x2 ** 3), x2)                                # no create_graph: the gradient is a constant
    assert not g.requires_grad and g.parents == ()
    g2 = gradients((x2 ** 3), x2, create_graph=True)
    assert g2.requires_grad and g2.op


def test_higher_order_and_hvp():
    x = Tensor(np.linspace(-2, 2, 5))
    t = np.tanh(x.array)
    d1 = gradients(x.tanh().sum(), x, create_graph=True)
    d2 = gradients(d1.sum(), x, create_graph=True)
    d3 = gradients(d2.sum(), x, create_graph=True)
    d4 = gradients(d3.sum(), x)
    np.testing.assert_allclose(d1.array, 1 - t ** 2)
    np.testing.assert_allclose(d2.array, -2 * t * (1 - t ** 2))
    np.testing.assert_allclose(d3.array, (6 * t ** 2 - 2) * (1 - t ** 2))
    np.testing.assert_allclose(d4.array, 8 * t * (2 - 3 * t ** 2) * (1 - t ** 2))
    xs = Tensor(np.linspace(-1, 1, 4))
    A = np.arange(16.0).reshape(4, 4); A = A + A.T
    f = lambda v: 0.5 * (v @ (A @ v)) + v.exp().sum()
    (g,) = gradients(f(xs), [xs], create_graph=True)
    H = np.stack([gradients((g * e).sum(), xs, retain_graph=True).array for e in np.eye(4)])
    np.testing.assert_allclose(H, A + np.diag(np.exp(xs.array)))


def test_backward_create_graph_gives_differentiable_grad():
    x = Tensor(1.5)
    (x ** 3).backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = gradients(x.grad, [x])
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
    (dx,) = gradients((x * x).sum(), [x], create_graph=True)
    assert 'mul' in graph.draw_graph(dx).source


def test_against_pytorch():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    X, W1, W2 = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    y = np.array([0, 1, 1, 0, 1])
    ts = [Tensor(W1), Tensor(W2)]
    loss = cross_entropy((X @ ts[0]).tanh() @ ts[1], y)
    g1, g2 = gradients(loss, ts)
    tw = [torch.tensor(w, requires_grad=True) for w in (W1, W2)]
    tl = torch.nn.functional.cross_entropy(torch.tanh(torch.tensor(X) @ tw[0]) @ tw[1], torch.tensor(y))
    tl.backward()
    assert loss.item() == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(g1.array, tw[0].grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(g2.array, tw[1].grad.numpy(), rtol=1e-10)
