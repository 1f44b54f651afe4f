"""Losses from logits: values against float64 references, gradients against finite differences, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from scratchgrad.tensor import Tensor, gradcheck
from scratchgrad.losses import binary_cross_entropy_with_logits, cross_entropy, mse, softplus


def ref_cross_entropy(z, y):
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return lse - z[np.arange(len(y)), y]


@st.composite
def logits_and_labels(draw, scale=st.sampled_from([1.0, 30.0, 1000.0])):
    n, c = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    z = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-1, 1))) * draw(scale)
    y = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return z, y


@settings(max_examples=40, deadline=None)
@given(logits_and_labels())
def test_cross_entropy_value_and_gradient(zy):
    z, y = zy
    np.testing.assert_allclose(cross_entropy(Tensor(z), y, reduction='none').array, ref_cross_entropy(z, y),
                               rtol=1e-10, atol=1e-10)
    zt = Tensor(z)
    cross_entropy(zt, y).backward()
    p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(zt.grad.array, (p - np.eye(z.shape[1])[y]) / len(y), rtol=1e-9, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(logits_and_labels(scale=st.just(2.0)))
def test_cross_entropy_gradcheck_second_order(zy):
    z, y = zy
    assert gradcheck(lambda t: cross_entropy(t, y, reduction='sum'), z, order=2)


def test_cross_entropy_float32_huge_logits_stay_finite():
    z = Tensor(np.array([[1e4, -1e4, 0.0]], dtype=np.float32))
    loss = cross_entropy(z, [1])
    assert np.isfinite(loss.item()) and abs(loss.item() - 2e4) < 1
    loss.backward()
    assert np.isfinite(z.grad.array).all()


@pytest.mark.parametrize('target, message', [
    ([0, 3], 'found 3 at position 1'),
    ([5, 0], 'found 5 at position 0 (1 label(s) out of range)'),
    ([-2, 7], '(2 label(s) out of range)'),
    ([0, 1, 2], 'logits have 2 rows (examples) but target has 3 labels'),
    ([0.0, 1.0], 'integer class labels'),
    ([[0], [1]], 'integer class labels'),
])
def test_cross_entropy_bad_labels(target, message):
    with pytest.raises(ValueError) as e:
        cross_entropy(Tensor(np.zeros((2, 3))), np.array(target))
    assert message in str(e.value)


def test_cross_entropy_accepts_tensor_labels_and_reductions():
    z = np.array([[1.0, 2.0], [3.0, -1.0]])
    y = Tensor(np.array([1, 0]), requires_grad=False)
    ref = ref_cross_entropy(z, np.array([1, 0]))
    assert cross_entropy(Tensor(z), y, reduction='sum').item() == pytest.approx(ref.sum())
    assert cross_entropy(Tensor(z), y).item() == pytest.approx(ref.mean())


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-50, 50)), st.data())
def test_bce_with_logits_value_and_gradient(z, data):
    t = data.draw(hnp.arrays(np.float64, z.shape, elements=st.floats(0, 1)))
    sig = 1 / (1 + np.exp(-z))
    ref = np.logaddexp(0, z) - t * z
    np.testing.assert_allclose(binary_cross_entropy_with_logits(Tensor(z), t, reduction='none').array, ref,
                               rtol=1e-10, atol=1e-12)
    zt = Tensor(z.reshape(-1, 1))
    binary_cross_entropy_with_logits(zt, t, reduction='sum').backward()        # (n, 1) logits with (n,) targets
    np.testing.assert_allclose(zt.grad.array[:, 0], sig - t, rtol=1e-9, atol=1e-12)


def test_bce_extremes_and_kink():
    z = Tensor(np.array([-1000.0, 0.0, 1000.0]))
    loss = binary_cross_entropy_with_logits(z, np.array([1.0, 0.0, 0.0]), reduction='none')
    np.testing.assert_allclose(loss.array, [1000.0, np.log(2), 1000.0])
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.array, [-1.0, 0.5, 1.0])     # sigmoid(z) - t, exact at z = 0
    assert gradcheck(softplus, np.array([[-2.0], [0.0], [3.0]]), order=2)
    assert gradcheck(softplus, np.array([-2.0, 0.0, 3.0]), order=2)


@pytest.mark.parametrize('z_shape, t_shape', [((3, 1), (2,)), ((3,), (3, 1)), ((3, 2), (3,)), ((1, 3), (3, 1))])
def test_shape_mismatch_is_refused(z_shape, t_shape):
    with pytest.raises(ValueError, match='do not match'):
        binary_cross_entropy_with_logits(Tensor(np.zeros(z_shape)), np.zeros(t_shape))
    with pytest.raises(ValueError, match='do not match'):
        mse(Tensor(np.zeros(z_shape)), np.zeros(t_shape))


def test_bce_targets_out_of_range():
    with pytest.raises(ValueError, match=r'targets must be numbers in \[0, 1\]'):
        binary_cross_entropy_with_logits(Tensor(np.zeros(3)), np.array([0, 1, 2]))


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4), elements=st.floats(-10, 10)), st.data())
def test_mse(p, data):
    t = data.draw(hnp.arrays(np.float64, p.shape, elements=st.floats(-10, 10)))
    np.testing.assert_allclose(mse(Tensor(p), t).item(), np.mean((p - t) ** 2), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x: mse(x, t), p)


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        mse(Tensor([1.0]), [1.0], reduction='max')
