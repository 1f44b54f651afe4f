"""save/load round trips and all-or-nothing failures; fit, evaluate, History; end-to-end training."""
import numpy as np
import pytest

from scratchgrad.tensor import Tensor
from scratchgrad.data import DataLoader, Split
from scratchgrad.nn import (MLP, SGD, Adam, Dropout, Linear, ReLU, Sequential, cross_entropy, evaluate, fit,
                            format_table, load, load_state_dict, mse, save, state_dict, binary_cross_entropy_with_logits,
                            softmax_experiment)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_save_load_round_trip_is_bit_exact(tmp_path, dtype):
    a, b = MLP(5, [7, 3], generator=1, dtype=dtype), MLP(5, [7, 3], generator=2, dtype=dtype)
    for p in a.parameters(): p.array[...] = np.random.default_rng(0).standard_normal(p.shape) * 1e-30  # subnormal-ish values too
    path = save(a, tmp_path / 'model.npz')
    assert path.name == 'model.npz'
    arrays_before = [p.array for p in b.parameters()]
    load(b, path)
    for (na, pa), (nb, pb), arr in zip(a.named_parameters(), b.named_parameters(), arrays_before):
        assert na == nb and pa.dtype == pb.dtype and pa.array.tobytes() == pb.array.tobytes()
        assert pb.array is arr                                 # loaded in place: optimizers keep working


def _mutations():
    return {
        'missing key': lambda s: s.pop('2.bias'),
        'extra key': lambda s: s.__setitem__('3.weight', np.zeros(2, np.float32)),
        'wrong shape (last entry)': lambda s: s.__setitem__('2.bias', np.zeros(4, np.float32)),
        'wrong dtype (last entry)': lambda s: s.__setitem__('2.bias', s['2.bias'].astype(np.float64)),
        'renamed': lambda s: s.__setitem__('2.b', s.pop('2.bias')),
    }


@pytest.mark.parametrize('what', list(_mutations()))
def test_failed_load_changes_nothing(tmp_path, what):
    src, dst = MLP(4, [6, 3], generator=0), MLP(4, [6, 3], generator=9)
    state = state_dict(src)
    _mutations()[what](state)
    np.savez(tmp_path / 'bad.npz', **state)
    before = state_dict(dst)
    with pytest.raises(ValueError, match='Nothing was loaded'):
        load(dst, tmp_path / 'bad.npz')
    for k, v in state_dict(dst).items(): np.testing.assert_array_equal(v, before[k])
    with pytest.raises(ValueError, match='Nothing was loaded'):
        load_state_dict(dst, state)


def test_load_refuses_pickles_and_junk(tmp_path):
    m = MLP(2, [2])
    np.savez(tmp_path / 'obj.npz', **{'0.weight': np.array([object()], dtype=object), '0.bias': np.zeros(2, np.float32)})
    with pytest.raises(ValueError, match='not a readable .npz archive'):
        load(m, tmp_path / 'obj.npz')
    (tmp_path / 'junk.npz').write_text('hello')
    with pytest.raises(ValueError, match='not a readable .npz archive'):
        load(m, tmp_path / 'junk.npz')
    with pytest.raises(FileNotFoundError, match='no such file'):
        load(m, tmp_path / 'absent.npz')


def test_fit_history_and_modes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)); y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = Sequential(Linear(4, 16, generator=0, dtype=np.float64), ReLU(), Dropout(0.1, generator=0),
                       Linear(16, 2, generator=1, dtype=np.float64))
    hist = fit(model, Adam(model.parameters(), lr=0.02), cross_entropy, DataLoader(X, y, batch_size=16, shuffle=True),
               epochs=30, eval_data={'train': (X, y)}, progress=False)
    assert len(hist) == 30 and len(hist.batch_losses) == 30 * 4
    assert list(hist.final) == ['epoch', 'train_loss', 'train_err']
    assert hist['train_err'][-1] <= 0.05 < hist['train_err'][0] + 0.06
    assert model.training                                      # fit leaves the model in training mode
    model.eval()
    evaluate(model, X, y, cross_entropy)
    assert not model.training                                  # evaluate restores the mode it found
    assert hist.table().splitlines()[0] == '| Epoch | Train Loss | Train Err |'


def test_fit_with_progress_bar_runs(capsys):
    X, y = np.zeros((8, 2)), np.zeros(8, dtype=np.int64)
    m = Linear(2, 2, generator=0)
    hist = fit(m, SGD(m.parameters(), lr=0.1), cross_entropy, DataLoader(X, y, batch_size=4), epochs=2, progress=True)
    assert len(hist) == 2


def test_evaluate_matches_full_batch_loss():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((2500, 3)), rng.integers(0, 3, 2500)
    m = Linear(3, 3, generator=0, dtype=np.float64)
    res = evaluate(m, X, y, cross_entropy, batch_size=1000)        # chunks of 1000, 1000, 500
    assert res['loss'] == pytest.approx(cross_entropy(m(X), y).item(), rel=1e-12)
    assert res['err'] == pytest.approx(np.mean(m(X).array.argmax(1) != y))


def test_fit_bad_input():
    m = Linear(2, 1)
    with pytest.raises(TypeError, match='train must be a DataLoader'):
        fit(m, SGD(m.parameters(), lr=0.1), mse, [(np.zeros((2, 2)), np.zeros((2, 1)))])
    with pytest.raises(ValueError, match='epochs must be a positive integer'):
        fit(m, SGD(m.parameters(), lr=0.1), mse, DataLoader(np.zeros((2, 2)), np.zeros((2, 1))), epochs=0)
    with pytest.raises(ValueError, match='X has 3, y has 2'):
        DataLoader(np.zeros((3, 2)), np.zeros(2))


def test_format_table_seed_format():
    rows = [{'epoch': 0, 'train_loss': 0.19770, 'train_err': 0.0601, 'test_loss': 0.19683, 'test_err': 0.0585}]
    assert format_table(rows).splitlines() == ['| Epoch | Train Loss | Train Err | Test Loss | Test Err |',
                                               '|     0 |    0.19770 |   0.06010 |   0.19683 |  0.05850 |']


def test_moons_end_to_end():
    pytest.importorskip('sklearn')
    from scratchgrad.data import load_moons
    d = load_moons()
    m = MLP(2, [16, 16, 1], generator=0, dtype=np.float64)
    hist = fit(m, Adam(m.parameters(), lr=0.02), binary_cross_entropy_with_logits,
               DataLoader(d.X_train, d.y_train, batch_size=100, shuffle=True), epochs=40,
               eval_data={'test': (d.X_test, d.y_test)}, progress=False)
    assert hist.final['test_err'] <= 0.05


def test_softmax_experiment_on_a_synthetic_split(capsys):
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 10)) * 3
    y = rng.integers(0, 3, 400); X = (centers[y] + rng.standard_normal((400, 10))).astype(np.float32)
    hist = softmax_experiment(Split(X[:300], y[:300], X[300:], y[300:]), epochs=3, hidden=20)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == '| Epoch | Train Loss | Train Err | Test Loss | Test Err |' and len(out) == 4
    assert hist.final['test_err'] < 0.1


def test_mnist_experiment_runs_on_small_fake_files(tmp_path, capsys):
    from scratchgrad.data import MNIST_FILES, write_idx
    from scratchgrad.nn import mnist_experiment
    rng = np.random.default_rng(0)
    for key, stem in MNIST_FILES.items():
        n = 200 if key.startswith('train') else 50
        labels = rng.integers(0, 10, n).astype(np.uint8)
        arr = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8) if 'images' in key else labels
        write_idx(tmp_path / (stem + '.gz'), arr)       # random pixels: this checks the plumbing, not learning
    hist = mnist_experiment(tmp_path, epochs=2, progress=False)
    assert len(hist) == 2 and capsys.readouterr().out.startswith('| Epoch | Train Loss |')
    with pytest.raises(FileNotFoundError, match='train-images-idx3-ubyte'):
        mnist_experiment(tmp_path / 'nowhere')
