"""Checkpoints: bit-exact round trips, all-or-nothing loads, frozen parameters, atomic saves that survive failures."""
import errno

import numpy as np
import pytest

import scratchgrad.checkpoint as checkpoint
import scratchgrad.files as files
from scratchgrad.tensor import Tensor
from scratchgrad.nn import MLP
from scratchgrad.checkpoint import load, load_state_dict, save, state_dict
from scratchgrad.files import write_atomically


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
    real_replace = files.os.replace
    def spy(src, dst):
        calls.append((src, dst)); assert target.read_bytes() == b'old'    # the old file stays until the rename
        real_replace(src, dst)
    monkeypatch.setattr(files.os, 'replace', spy)
    write_atomically(target, lambda f: f.write(b'new content'))
    assert target.read_bytes() == b'new content' and len(calls) == 1
    src, dst = calls[0]
    assert src.parent == dst.parent == tmp_path and src.name.startswith('.f.bin.') and not src.exists()


def test_write_atomically_is_still_found_in_checkpoint():
    "It moved to chapter 05 (files); the name under checkpoint, and in its star-import, keeps working."
    assert checkpoint.write_atomically is write_atomically and 'write_atomically' in checkpoint.__all__


def test_save_adds_suffix_and_overwrites(tmp_path):
    a, b = MLP(2, [3]), MLP(2, [3], generator=5)
    p = save(a, tmp_path / 'ck')
    assert p.name == 'ck.npz'
    save(b, p)
    np.testing.assert_array_equal(state_dict(load(MLP(2, [3], generator=8), p))['0.weight'], state_dict(b)['0.weight'])


# ---- all or nothing, also when a target cannot be written ----------------------------------------------------------

def test_a_read_only_target_is_found_before_anything_is_written(tmp_path):
    src, dst = MLP(3, [4, 2], generator=0), MLP(3, [4, 2], generator=1)
    held = (dst[2].bias * 2).sum()            # a live graph that reads the last parameter keeps it read-only
    before = state_dict(dst)
    path = save(src, tmp_path / 'src')
    for attempt in [lambda: load_state_dict(dst, state_dict(src)), lambda: load(dst, path)]:
        with pytest.raises(RuntimeError, match=r"load: cannot write '2.bias' \(shape \(2,\)\): its array is read-only.*"
                                               r"the variable `held`.*Nothing was loaded"):
            attempt()
        for k, v in state_dict(dst).items(): np.testing.assert_array_equal(v, before[k])   # '0.weight' too
    del held
    load(dst, path)
    np.testing.assert_array_equal(dst[0].weight.array, src[0].weight.array)


# ---- load reads the archive's listing and headers first, and only the data it needs --------------------------------

def _add_entry(zf, name, shape, dtype=np.float64, mb=0):
    "Add `name`.npy announcing `shape` to the open zip `zf`, then `mb` MB of zeros streamed (no big array in memory)."
    with zf.open(name + '.npy', 'w', force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, {'descr': np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                 'fortran_order': False, 'shape': shape})
        for _ in range(mb): f.write(bytes(1 << 20))


def _archive(path, state, extra=None):
    "A compressed .npz holding the arrays of `state`, plus the entries `extra(zf)` adds."
    import zipfile
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for k, v in state.items():
            with zf.open(k + '.npy', 'w') as f: np.lib.format.write_array(f, v, allow_pickle=False)
        if extra: extra(zf)
    return path


@pytest.mark.parametrize('name, message', [
    ('big', r"unexpected entries \['big'\]"),
    ('0.weight', r"'0.weight' has shape \(80, 1000, 125\) in the file, \(4, 3\) in the model"),
])
def test_load_refuses_from_the_headers_without_reading_the_data(tmp_path, name, message):
    import tracemalloc
    model = MLP(3, [4, 2], generator=0)
    state = {k: v for k, v in state_dict(model).items() if k != name}
    path = _archive(tmp_path / 'm.npz', state, lambda zf: _add_entry(zf, name, (80, 1000, 125), mb=80))  # 80 MB of zeros
    assert path.stat().st_size < 1_000_000                     # a small file ...
    before = state_dict(model)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message): load(model, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally: tracemalloc.stop()
    assert peak < 4_000_000, f'peak {peak:,} bytes: the 80 MB entry was read'     # ... refused without reading it
    for k, v in state_dict(model).items(): np.testing.assert_array_equal(v, before[k])


def test_load_reads_only_the_entries_the_model_needs(tmp_path, monkeypatch):
    "A spy on the archive: the data of each needed entry is read once, and nothing else is opened past its header."
    import zipfile
    src, dst = MLP(3, [4, 2], generator=0), MLP(3, [4, 2], generator=1)
    path = save(src, tmp_path / 'm')
    read = {}
    real_open = zipfile.ZipFile.open
    def spy(self, name, *a, **kw):
        f = real_open(self, name, *a, **kw)
        real_read = f.read
        def counting_read(n=-1):
            out = real_read(n); read[name] = read.get(name, 0) + len(out); return out
        f.read = counting_read
        return f
    monkeypatch.setattr(zipfile.ZipFile, 'open', spy)
    load(dst, path)
    monkeypatch.undo()
    sizes = {k + '.npy': v.nbytes for k, v in state_dict(src).items()}
    assert set(read) == set(sizes)
    for k, n in read.items(): assert n <= sizes[k] + 2 * 128, (k, n)     # its header (read twice at most) and its data
    for k, v in state_dict(dst).items(): np.testing.assert_array_equal(v, state_dict(src)[k])


@pytest.mark.parametrize('extra, message', [
    (lambda zf: zf.writestr('notes.txt', b'hello'), r"'notes.txt' is not an array \(\.npy\) entry"),
    (lambda zf: _add_entry(zf, '2.bias', (2,), dtype=object), r"'2.bias' holds Python objects"),
    (lambda zf: zf.writestr('2.bias.npy', b'\x93NUMPY\x09\x00junk'), r"'2.bias' is not a readable \.npy entry"),
])
def test_load_refuses_odd_entries_by_their_headers(tmp_path, extra, message):
    model = MLP(3, [4, 2], generator=0)
    state = {k: v for k, v in state_dict(model).items() if k != '2.bias'}
    if 'notes' in message: state['2.bias'] = state_dict(model)['2.bias']
    path = _archive(tmp_path / 'odd.npz', state, extra)
    with pytest.raises(ValueError, match=message): load(model, path)


# ---- paths: a folder is not a checkpoint, a missing folder is named --------------------------------------------------

def test_save_and_load_refuse_a_folder(tmp_path):
    m = MLP(2, [2])
    unrelated = tmp_path / 'ckpts.npz'
    unrelated.write_bytes(b'someone else\'s file')
    for target in [str(tmp_path / 'ckpts') + '/', tmp_path / 'ckpts']:
        if not isinstance(target, str): (tmp_path / 'ckpts').mkdir()
        with pytest.raises(IsADirectoryError, match=r"save: .*ckpts.* is a folder.*give a file name, e\.g\. .*model\.npz"):
            save(m, target)
        assert unrelated.read_bytes() == b'someone else\'s file'
        with pytest.raises(IsADirectoryError, match=r"load: .*ckpts.* is a folder"):
            load(m, target)
    (tmp_path / 'd.npz').mkdir()                                 # a folder with the checkpoint's name
    with pytest.raises(IsADirectoryError, match=r"save: .*d\.npz is a folder"):
        save(m, tmp_path / 'd')
    with pytest.raises(IsADirectoryError, match=r"write_idx: .*ckpts is a folder"):
        from scratchgrad.idx import write_idx
        write_idx(tmp_path / 'ckpts', np.zeros(3, np.uint8))


def test_save_into_a_missing_folder_names_the_folder(tmp_path):
    target = tmp_path / 'runs' / 'today' / 'model.npz'
    with pytest.raises(FileNotFoundError) as e:
        save(MLP(2, [2]), target)
    msg = str(e.value)
    assert f"save: the folder {tmp_path / 'runs' / 'today'} does not exist" in msg and 'mkdir(parents=True' in msg
    assert '.tmp' not in msg
    (tmp_path / 'file').write_bytes(b'x')
    with pytest.raises(NotADirectoryError, match=r"save: .*file is not a folder"):
        save(MLP(2, [2]), tmp_path / 'file' / 'model.npz')


def test_write_atomically_fsyncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    import os, stat
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    def fsync(fd):
        events.append('fsync folder' if stat.S_ISDIR(os.fstat(fd).st_mode) else 'fsync file'); real_fsync(fd)
    def replace(src, dst): events.append('replace'); real_replace(src, dst)
    monkeypatch.setattr(files.os, 'fsync', fsync)
    monkeypatch.setattr(files.os, 'replace', replace)
    save(MLP(2, [2]), tmp_path / 'm.npz')
    assert events == ['fsync file', 'replace', 'fsync folder']


def test_a_folder_that_cannot_be_opened_or_fsynced_does_not_fail_a_finished_save(tmp_path, monkeypatch):
    "The file is written and renamed; fsyncing its folder is the OS's best effort (some file systems refuse it)."
    import os
    real_open, real_fsync = os.open, os.fsync
    def no_folder_open(p, flags, *a):
        if flags & os.O_DIRECTORY: raise PermissionError(13, 'Permission denied')
        return real_open(p, flags, *a)
    monkeypatch.setattr(files.os, 'open', no_folder_open)
    p = save(MLP(2, [2], generator=1), tmp_path / 'a.npz')
    monkeypatch.setattr(files.os, 'open', real_open)
    def einval_for_folders(fd):
        import stat
        if stat.S_ISDIR(os.fstat(fd).st_mode): raise OSError(errno.EINVAL, 'Invalid argument')
        real_fsync(fd)
    monkeypatch.setattr(files.os, 'fsync', einval_for_folders)
    q = save(MLP(2, [2], generator=2), tmp_path / 'b.npz')
    for path, seed in [(p, 1), (q, 2)]:
        np.testing.assert_array_equal(state_dict(load(MLP(2, [2], generator=9), path))['0.weight'],
                                      state_dict(MLP(2, [2], generator=seed))['0.weight'])
