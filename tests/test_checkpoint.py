"""Checkpoints: bit-exact round trips, all-or-nothing loads, frozen parameters, atomic saves that survive failures."""
import errno

import numpy as np
import pytest

import scratchgrad.checkpoint as checkpoint
from scratchgrad.tensor import Tensor
from scratchgrad.nn import MLP
from scratchgrad.checkpoint import load, load_state_dict, save, state_dict, write_atomically


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


def test_state_dict_uses_pytorch_names_and_keeps_frozen_parameters(tmp_path):
    a = MLP(3, [4, 2], generator=1)
    a[0].weight.requires_grad = False; a[2].bias.requires_grad = False       # frozen
    assert list(state_dict(a)) == ['0.weight', '0.bias', '2.weight', '2.bias']
    b = MLP(3, [4, 2], generator=2)
    b[0].weight.requires_grad = False; b[2].bias.requires_grad = False
    load(b, save(a, tmp_path / 'frozen'))
    for (na, ta), (nb, tb) in zip(a.named_tensors(), b.named_tensors()):
        assert na == nb and np.array_equal(ta.array, tb.array)              # the frozen weights arrived too
    with np.load(tmp_path / 'frozen.npz') as f: assert sorted(f.files) == sorted(state_dict(a))


def failing_writer(exc, n_bytes=100):
    "An archive writer that writes `n_bytes` of a zip header and zeros, then raises `exc`."
    def write(f, state):
        f.write(b'PK\x03\x04' + bytes(n_bytes - 4)); f.flush()
        raise exc
    return write


@pytest.mark.parametrize('exc', [OSError(errno.ENOSPC, 'No space left on device'), OSError(errno.EFBIG, 'File too large'),
                                 KeyboardInterrupt()], ids=['disk full', 'file-size limit', 'Ctrl-C'])
def test_a_save_that_fails_part_way_keeps_the_old_checkpoint(tmp_path, monkeypatch, exc):
    old = MLP(3, [4, 2], generator=1)
    path = save(old, tmp_path / 'model.npz')
    before = path.read_bytes()
    monkeypatch.setattr(checkpoint, '_write_npz', failing_writer(exc))
    with pytest.raises(type(exc)):
        save(MLP(3, [4, 2], generator=7), path)
    assert path.read_bytes() == before                                      # untouched, byte for byte
    assert [p.name for p in tmp_path.iterdir()] == ['model.npz']           # no temporary file left behind
    monkeypatch.undo()
    restored = load(MLP(3, [4, 2], generator=9), path)
    for k, v in state_dict(old).items(): np.testing.assert_array_equal(state_dict(restored)[k], v)


def test_a_first_save_that_fails_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, '_write_npz', failing_writer(OSError(errno.ENOSPC, 'No space left on device')))
    with pytest.raises(OSError):
        save(MLP(2, [2]), tmp_path / 'new.npz')
    assert list(tmp_path.iterdir()) == []


def test_write_atomically_replaces_in_one_step(tmp_path, monkeypatch):
    target = tmp_path / 'f.bin'
    target.write_bytes(b'old')
    calls = []
    real_replace = checkpoint.os.replace
    def spy(src, dst):
        calls.append((src, dst)); assert target.read_bytes() == b'old'    # the old file stays until the rename
        real_replace(src, dst)
    monkeypatch.setattr(checkpoint.os, 'replace', spy)
    write_atomically(target, lambda f: f.write(b'new content'))
    assert target.read_bytes() == b'new content' and len(calls) == 1
    src, dst = calls[0]
    assert src.parent == dst.parent == tmp_path and src.name.startswith('.f.bin.') and not src.exists()


def test_save_adds_suffix_and_overwrites(tmp_path):
    a, b = MLP(2, [3]), MLP(2, [3], generator=5)
    p = save(a, tmp_path / 'ck')
    assert p.name == 'ck.npz'
    save(b, p)
    np.testing.assert_array_equal(state_dict(load(MLP(2, [3], generator=8), p))['0.weight'], state_dict(b)['0.weight'])
