"""fit, evaluate, History: progress output, degenerate input, end-to-end training; the examples/ scripts."""
import importlib.util, io, sys
from pathlib import Path

import numpy as np
import pytest

from scratchgrad.tensor import Tensor
from scratchgrad.data import DataLoader, MNIST_FILES, Split
from scratchgrad.idx import write_idx
from scratchgrad.nn import MLP, Dropout, Linear, ReLU, Sequential
from scratchgrad.losses import binary_cross_entropy_with_logits, cross_entropy, mse
from scratchgrad.optim import SGD, Adam
from scratchgrad.train import History, evaluate, fit, format_table

EXAMPLES = Path(__file__).resolve().parents[1] / 'examples'


def example(name):
    "Import the script examples/<name>.py as a module (without running its __main__ part)."
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def test_fit_history_and_modes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)); y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = Sequential(Linear(4, 16, generator=0, dtype=np.float64), ReLU(), Dropout(0.1, generator=0),
                       Linear(16, 2, generator=1, dtype=np.float64))
    hist = fit(model, Adam(model.parameters(), lr=0.02), cross_entropy, DataLoader(X, y, batch_size=16, shuffle=True),
               epochs=30, eval_data={'train': (X, y)}, progress=False)
    assert len(hist) == 30 and len(hist.batch_losses) == 30 * 4
    assert list(hist.final) == ['epoch', 'train_loss', 'train_err'] and hist['epoch'] == list(range(1, 31))
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


def test_format_table_layout():
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
    softmax_experiment = example('mnist_softmax').softmax_experiment
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 10)) * 3
    y = rng.integers(0, 3, 400); X = (centers[y] + rng.standard_normal((400, 10))).astype(np.float32)
    hist = softmax_experiment(Split(X[:300], y[:300], X[300:], y[300:]), epochs=3, hidden=20)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == '| Epoch | Train Loss | Train Err | Test Loss | Test Err |' and len(out) == 4
    assert hist.final['test_err'] < 0.1


def test_mnist_experiment_runs_on_small_fake_files(tmp_path, capsys):
    main = example('mnist_softmax').main
    rng = np.random.default_rng(0)
    for key, stem in MNIST_FILES.items():
        n = 200 if key.startswith('train') else 50
        labels = rng.integers(0, 10, n).astype(np.uint8)
        arr = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8) if 'images' in key else labels
        write_idx(tmp_path / (stem + '.gz'), arr)       # random pixels: this checks the plumbing, not learning
    hist = main([str(tmp_path), '--epochs', '2'])
    assert len(hist) == 2 and capsys.readouterr().out.startswith('| Epoch | Train Loss |')
    with pytest.raises(FileNotFoundError, match='train-images-idx3-ubyte'):
        main([str(tmp_path / 'nowhere')])


class FakeTerminal(io.StringIO):
    def isatty(self): return True


def small_problem():
    X = np.random.default_rng(0).standard_normal((40, 2)); y = (X[:, 0] > 0).astype(np.int64)
    m = Linear(2, 2, generator=0, dtype=np.float64)
    return m, SGD(m.parameters(), lr=0.1), DataLoader(X, y, batch_size=10), (X, y)


def test_log_output_is_one_plain_line_per_epoch(monkeypatch):
    m, opt, dl, (X, y) = small_problem()
    out = io.StringIO(); monkeypatch.setattr(sys, 'stdout', out)       # not a terminal: a log file
    hist = fit(m, opt, cross_entropy, dl, epochs=4, eval_data={'test': (X, y)})
    lines = out.getvalue().splitlines()
    assert '\r' not in out.getvalue() and len(lines) == 4
    assert [l.split()[1] for l in lines] == ['1/4', '2/4', '3/4', '4/4'] and hist['epoch'] == [1, 2, 3, 4]
    assert all('train_loss=' in l and 'test_loss=' in l and 'test_err=' in l for l in lines)   # train loss kept
    assert list(hist.final) == ['epoch', 'train_loss', 'test_loss', 'test_err']


def test_terminal_output_has_a_bar_and_the_same_epoch_numbers(monkeypatch):
    m, opt, dl, _ = small_problem()
    out = FakeTerminal(); monkeypatch.setattr(sys, 'stdout', out)
    fit(m, opt, cross_entropy, dl, epochs=3)
    text = out.getvalue()
    assert '\r' in text and '12/12' in text                            # tqdm's bar over 3 epochs x 4 batches
    assert all(f'epoch {e}/3' in text for e in (1, 2, 3)) and 'epoch 0' not in text


def test_progress_false_is_silent_and_print_table_prints_rows(capsys):
    m, opt, dl, _ = small_problem()
    fit(m, opt, cross_entropy, dl, epochs=2, progress=False)
    assert capsys.readouterr().out == ''
    hist = fit(m, opt, cross_entropy, dl, epochs=2, progress=False, print_table=True)
    assert capsys.readouterr().out.splitlines() == hist.table().splitlines()   # header once, then one row per epoch
    assert hist.table().splitlines()[0] == '| Epoch | Train Loss |'


@pytest.mark.parametrize('make_loader, message', [
    (lambda: DataLoader(np.zeros((0, 2)), np.zeros(0, np.int64)), 'it holds 0 examples'),
    (lambda: DataLoader(np.zeros((3, 2)), np.zeros(3, np.int64), batch_size=4, drop_last=True),
     'drop_last=True drops every batch: 3 examples < batch_size 4'),
])
def test_fit_refuses_loaders_without_batches(make_loader, message):
    m, opt, _, _ = small_problem()
    with pytest.raises(ValueError, match=message):
        fit(m, opt, cross_entropy, make_loader(), progress=False)


def test_empty_eval_sets_and_unreduced_losses_are_refused():
    m, opt, dl, (X, y) = small_problem()
    with pytest.raises(ValueError, match=r"eval_data\['val'\] is empty"):
        fit(m, opt, cross_entropy, dl, eval_data={'val': (X[:0], y[:0])}, progress=False)
    with pytest.raises(ValueError, match='the evaluation set is empty'):
        evaluate(m, X[:0], y[:0], cross_entropy)
    per_example = lambda z, t: cross_entropy(z, t, reduction='none')
    with pytest.raises(ValueError, match=r"shape \(10,\), not a single number.*reduction='mean'"):
        fit(m, opt, per_example, dl, progress=False)
    with pytest.raises(ValueError, match="not reduction='none'"):
        evaluate(m, X, y, per_example)


def test_empty_history():
    with pytest.raises(ValueError, match='the history is empty, there is nothing to plot'):
        History().plot()
    with pytest.raises(ValueError, match='the history is empty'):
        History().final
    assert repr(History()) == 'History(empty)'


def test_train_digits_example_runs(tmp_path, monkeypatch):
    pytest.importorskip('sklearn')
    monkeypatch.chdir(tmp_path)
    out = io.StringIO(); monkeypatch.setattr(sys, 'stdout', out)
    example('train_digits')
    text = out.getvalue()
    assert 'test error after 10 epochs' in text and (tmp_path / 'digits.npz').exists()
    err = float(text.split('test error after 10 epochs: ')[1].split('%')[0])
    assert err < 5.0


def test_mnist_script_uses_the_courses_learning_rate(monkeypatch):
    "The homework's example run trains with learning rate 0.2; the script does too, unless told otherwise."
    mod, seen = example('mnist_softmax'), {}
    monkeypatch.setattr(mod, 'load_mnist', lambda folder: f'split from {folder}')
    monkeypatch.setattr(mod, 'softmax_experiment', lambda data, epochs, lr: seen.update(data=data, epochs=epochs, lr=lr))
    mod.main(['somewhere'])
    assert seen == {'data': 'split from somewhere', 'epochs': 20, 'lr': 0.2}
    mod.main(['somewhere', '--lr', '0.1', '--epochs', '3'])
    assert seen['lr'] == 0.1 and seen['epochs'] == 3
