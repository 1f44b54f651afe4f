"""DataLoader, splits and the offline datasets."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scratchgrad.data import DataLoader, every_kth_split, load_digits, load_moons, train_test_split


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), bs=st.integers(1, 50), shuffle=st.booleans(), drop_last=st.booleans(), seed=st.integers(0, 5))
def test_loader_covers_each_example_once(n, bs, shuffle, drop_last, seed):
    X, y = np.arange(n)[:, None] * 2.0, np.arange(n)
    dl = DataLoader(X, y, batch_size=bs, shuffle=shuffle, seed=seed, drop_last=drop_last)
    for _ in range(2):
        batches = list(dl)
        assert len(batches) == len(dl)
        assert all(len(yb) == bs for _, yb in batches[:-1])
        assert all(1 <= len(yb) <= bs for _, yb in batches[-1:])
        if drop_last: assert all(len(yb) == bs for _, yb in batches)
        seen = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
        for xb, yb in batches: np.testing.assert_array_equal(xb[:, 0], 2.0 * yb)   # rows stay paired
        assert len(set(seen.tolist())) == len(seen)                               # no repeats
        assert len(seen) == (n // bs * bs if drop_last else n)
        if not shuffle: np.testing.assert_array_equal(seen, np.arange(len(seen)))


def test_loader_seeding():
    y = np.arange(50)
    epochs = lambda dl: [np.concatenate(list(dl)) for _ in range(3)]
    a, b = epochs(DataLoader(y, batch_size=7, shuffle=True, seed=3)), epochs(DataLoader(y, batch_size=7, shuffle=True, seed=3))
    for ea, eb in zip(a, b): np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(a[0], a[1])
    c = epochs(DataLoader(y, batch_size=7, shuffle=True, seed=4))
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize('args, kwargs, message', [
    ((np.zeros((5, 2)), np.zeros(4)), {}, 'X has 5, y has 4'),
    ((np.zeros(3), np.zeros(3), np.zeros(2)), {}, 'array 0 has 3, array 1 has 3, array 2 has 2'),
    ((np.zeros(3),), {'batch_size': -1}, 'positive integer'),
    ((np.zeros(3),), {'batch_size': True}, 'positive integer'),
    ((np.float64(1.0),), {}, '0-d array'),
])
def test_loader_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(*args, **kwargs)


def test_every_kth_split_is_stratified():
    y = np.repeat(np.arange(3), [10, 7, 5])
    m = every_kth_split(y, k=5)
    assert np.bincount(y[m]).tolist() == [2, 1, 1]


def test_train_test_split_partition():
    X, y = np.arange(30).reshape(15, 2), np.arange(15) % 3
    s = train_test_split(X, y, test_frac=0.2, seed=1)
    assert np.bincount(s.y_test).tolist() == [1, 1, 1]
    assert sorted(np.concatenate([s.X_train[:, 0], s.X_test[:, 0]]).tolist()) == X[:, 0].tolist()
    with pytest.raises(ValueError, match='X has 15, y has 14'):
        train_test_split(X, y[:-1])


def test_offline_datasets():
    pytest.importorskip('sklearn')
    d = load_digits()
    assert d.X_train.shape == (1442, 64) and d.X_test.shape == (355, 64)
    assert d.X_train.dtype == np.float32 and 0 <= d.X_test.min() and d.X_test.max() <= 1
    np.testing.assert_array_equal(d.X_test, load_digits().X_test)      # fixed split
    m = load_moons()
    assert m.X_train.shape == (800, 2) and set(np.unique(m.y_test)) == {0, 1}
