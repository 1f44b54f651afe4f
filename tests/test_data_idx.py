"""IDX reader/writer and load_mnist, on small files these tests write themselves (no download)."""
import gzip, struct, subprocess, sys, textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import scratchgrad.data, scratchgrad.idx
from scratchgrad.data import MNIST_FILES, load_mnist, parse_idx, read_idx
from scratchgrad.idx import write_idx

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def hand_made_idx(arr):
    "IDX bytes built from the format description, independently of write_idx."
    arr = np.asarray(arr)
    header = bytes([0, 0, CODES[arr.dtype.type], arr.ndim]) + b''.join(struct.pack('>I', n) for n in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder('>')).tobytes()


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(IDX_DTYPES).flatmap(lambda dt: hnp.arrays(
    dt, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4),
    elements={'allow_nan': False} if np.dtype(dt).kind == 'f' else None)))
def test_parse_matches_hand_made_bytes(arr):
    back = parse_idx(hand_made_idx(arr))
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    assert back.flags.writeable and back.dtype.isnative


@pytest.mark.parametrize('name', ['a-idx3-ubyte', 'a-idx3-ubyte.gz'])
@pytest.mark.parametrize('dtype', IDX_DTYPES)
def test_write_read_round_trip(tmp_path, name, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8: arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = write_idx(tmp_path / name, arr)
    assert (p.read_bytes()[:2] == b'\x1f\x8b') == name.endswith('.gz')
    back = read_idx(p)
    assert back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)


def test_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(6, dtype=np.uint8)
    (tmp_path / 'labels').write_bytes(gzip.compress(hand_made_idx(arr)))
    np.testing.assert_array_equal(read_idx(tmp_path / 'labels'), arr)


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match='convert with .astype'):
        write_idx(tmp_path / 'x', np.arange(3, dtype=np.int64))


GOOD = hand_made_idx(np.arange(12, dtype=np.uint8).reshape(3, 4))


@pytest.mark.parametrize('buf, message', [
    (b'', 'needs at least 4 bytes, found 0'),
    (GOOD[:3], 'needs at least 4 bytes, found 3'),
    (b'\x00\x01' + GOOD[2:], 'wrong magic number 0x00010802'),
    (b'PK\x03\x04' + GOOD[4:], 'wrong magic number 0x504B0304'),
    (bytes([0, 0, 0x07, 2]) + GOOD[4:], 'wrong magic number 0x00000702'),
    (GOOD[:7], 'header announces 2 dimensions (12 header bytes) but the file has only 7 bytes'),
    (GOOD[:-1], 'is truncated: shape (3, 4) of uint8 needs 12 data bytes, found 11'),
    (GOOD[:12], 'needs 12 data bytes, found 0'),
    (GOOD + b'\x00\x00', 'longer than its header says'),
])
def test_corrupt_idx_is_a_clear_error(buf, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        parse_idx(buf)


def test_truncated_gzip_and_missing_file(tmp_path):
    (tmp_path / 'x.gz').write_bytes(gzip.compress(GOOD)[:-5])
    with pytest.raises(ValueError, match='cannot be decompressed'):
        read_idx(tmp_path / 'x.gz')
    with pytest.raises(FileNotFoundError, match='no such file'):
        read_idx(tmp_path / 'absent')


def fake_mnist(folder, n_train=5, n_test=3, gz=True, dotted=False):
    rng = np.random.default_rng(1)
    arrays = {}
    for key, stem in MNIST_FILES.items():
        n = n_train if key.startswith('train') else n_test
        arr = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if 'images' in key
               else rng.integers(0, 10, n, dtype=np.uint8))
        name = stem.replace('-idx', '.idx') if dotted else stem
        (folder / (name + ('.gz' if gz else ''))).write_bytes(
            gzip.compress(hand_made_idx(arr)) if gz else hand_made_idx(arr))
        arrays[key] = arr
    return arrays


@pytest.mark.parametrize('gz, dotted', [(True, False), (False, False), (True, True)])
def test_load_mnist(tmp_path, gz, dotted):
    arrays = fake_mnist(tmp_path, gz=gz, dotted=dotted)
    d = load_mnist(tmp_path)
    assert d.X_train.shape == (5, 784) and d.X_test.shape == (3, 784)
    assert d.X_train.dtype == np.float32 and d.y_test.dtype == np.int64
    np.testing.assert_array_equal(d.X_train * 255, arrays['train_images'].reshape(5, -1).astype(np.float32))
    np.testing.assert_array_equal(d.y_test, arrays['test_labels'])


def test_load_mnist_missing_files_names_them_and_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(tmp_path)
    msg = str(e.value)
    assert str(tmp_path.resolve()) in msg and 'does not download' in msg
    for stem in MNIST_FILES.values(): assert stem in msg
    fake_mnist(tmp_path)
    (tmp_path / 't10k-labels-idx1-ubyte.gz').unlink()
    with pytest.raises(FileNotFoundError, match='missing t10k-labels-idx1-ubyte in'):
        load_mnist(tmp_path)


def test_load_mnist_checks_contents(tmp_path):
    fake_mnist(tmp_path)
    write_idx(tmp_path / 't10k-labels-idx1-ubyte.gz', np.arange(4, dtype=np.uint8))
    with pytest.raises(ValueError, match='images has 3, labels has 4'):
        load_mnist(tmp_path)
    write_idx(tmp_path / 't10k-labels-idx1-ubyte.gz', np.array([1, 2, 12], dtype=np.uint8))
    with pytest.raises(ValueError, match='digit labels 0..9'):
        load_mnist(tmp_path)
    write_idx(tmp_path / 'train-images-idx3-ubyte.gz', np.zeros((5, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r'shape \(n, 28, 28\)'):
        load_mnist(tmp_path)


def test_gzip_header_is_checked_before_the_payload_is_decompressed(tmp_path, monkeypatch):
    bomb = tmp_path / 'bomb.gz'
    bomb.write_bytes(gzip.compress(struct.pack('>HBBI', 0, 0x08, 1, 10) + bytes(20_000_000)))
    handed_out = []
    class CountingGzip(gzip.GzipFile):
        def read(self, size=-1):
            out = super().read(size); handed_out.append(len(out)); return out
    monkeypatch.setattr(gzip, 'open', lambda p, mode='rb': CountingGzip(p, mode))
    with pytest.raises(ValueError, match='bomb.gz is longer than its header says'):
        read_idx(bomb)
    assert sum(handed_out) <= 4 + 4 + 10 + 1                 # header, the 10 announced bytes, one more: not 20 MB
    (tmp_path / 'wrong.gz').write_bytes(gzip.compress(b'PK\x03\x04' + bytes(5_000_000)))
    handed_out.clear()
    with pytest.raises(ValueError, match='wrong magic number 0x504B0304'):
        read_idx(tmp_path / 'wrong.gz')
    assert sum(handed_out) == 4


@pytest.mark.parametrize('payload', [b'\x1f\x8b' + bytes(30), b'\x1f\x8b\x08\x00' + bytes(6) + b'\xff' * 40])
def test_corrupt_gzip_errors_name_the_file(tmp_path, payload):
    (tmp_path / 'corrupt-idx1-ubyte.gz').write_bytes(payload)
    with pytest.raises(ValueError, match='corrupt-idx1-ubyte.gz looks gzipped but cannot be decompressed'):
        read_idx(tmp_path / 'corrupt-idx1-ubyte.gz')


def test_dimension_overflow_is_a_corrupt_header(tmp_path):
    buf = struct.pack('>HBB4I', 0, 0x0E, 4, *[2**32 - 1] * 4)
    (tmp_path / 'huge.idx').write_bytes(buf)
    with pytest.raises(ValueError, match=r'huge.idx announces shape \(4294967295, 4294967295, 4294967295, 4294967295\) '
                                         r'of float64, \d+ bytes of data, more than this machine can address'):
        read_idx(tmp_path / 'huge.idx')
    (tmp_path / 'big.idx').write_bytes(struct.pack('>HBB2I', 0, 0x08, 2, 100_000, 100_000) + bytes(10))
    with pytest.raises(ValueError, match='is truncated: shape \\(100000, 100000\\) of uint8 needs 10000000000 data bytes, found 10'):
        read_idx(tmp_path / 'big.idx')         # 10 GB announced, 10 bytes present: refused without allocating 10 GB


@pytest.mark.parametrize('labels, message', [
    (np.array([0, -1, 2], np.int8), 'as unsigned integers \\(IDX type 0x08\\) in one dimension, found int8'),
    (np.array([0, 1.5, 2], np.float32), 'found float32 of shape \\(3,\\)'),
    (np.array([[0, 1, 2]], np.uint8), 'found uint8 of shape \\(1, 3\\)'),
    (np.array([0, 10, 2], np.uint8), 'should hold digit labels 0..9, found 10 at position 1'),
])
def test_load_mnist_checks_label_types_and_values(tmp_path, labels, message):
    fake_mnist(tmp_path)
    write_idx(tmp_path / 't10k-labels-idx1-ubyte.gz', labels)
    with pytest.raises(ValueError, match=message):
        load_mnist(tmp_path)


@pytest.mark.parametrize('images', [np.zeros((3, 28, 28), np.float32), np.zeros((3, 28, 28), np.int8)])
def test_load_mnist_checks_image_dtype(tmp_path, images):
    fake_mnist(tmp_path)
    write_idx(tmp_path / 't10k-images-idx3-ubyte.gz', images)
    with pytest.raises(ValueError, match=f'should hold uint8 images of shape \\(n, 28, 28\\), found {images.dtype}'):
        load_mnist(tmp_path)


def test_write_idx_is_atomic(tmp_path, monkeypatch):
    import scratchgrad.files as files
    p = write_idx(tmp_path / 'a-idx1-ubyte', np.arange(3, dtype=np.uint8))
    def boom(src, dst): raise KeyboardInterrupt
    monkeypatch.setattr(files.os, 'replace', boom)
    with pytest.raises(KeyboardInterrupt):
        write_idx(p, np.arange(5, dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(p), np.arange(3))
    assert [q.name for q in tmp_path.iterdir()] == ['a-idx1-ubyte']


@pytest.mark.parametrize('shape', [(2**32, 0), (0, 3, 2**32 + 5)])
def test_write_idx_refuses_a_side_the_format_cannot_store(tmp_path, shape):
    arr = np.zeros(shape, np.uint8)                  # zero entries: no memory needed to test the limit
    with pytest.raises(ValueError, match=rf"write_idx: IDX stores each side in 32 bits \(at most 4294967295\), "
                                         rf"but the array of uint8 has shape \({shape[0]}, "):
        write_idx(tmp_path / 'x-idx', arr)
    assert list(tmp_path.iterdir()) == []
    edge = np.zeros((2**32 - 1, 0), np.uint8)        # the largest side that fits
    assert read_idx(write_idx(tmp_path / 'edge-idx', edge)).shape == edge.shape


def test_write_idx_refuses_more_axes_than_the_format_can_count():
    from scratchgrad.idx import _idx_header          # numpy arrays have at most 64 axes: test the header directly
    with pytest.raises(ValueError, match=r"write_idx: IDX stores at most 255 axes \(one byte\), but the array of "
                                         r"uint8 has 256"):
        _idx_header((1,) * 256, np.dtype(np.uint8))
    assert _idx_header((1,) * 255, np.dtype(np.uint8))[:4] == bytes([0, 0, 8, 255])


@pytest.mark.parametrize('dtype', [np.int64, np.bool_, np.complex64, object, 'U3', np.float16])
def test_write_idx_names_an_unsupported_dtype(tmp_path, dtype):
    with pytest.raises(TypeError, match=rf"write_idx: IDX stores uint8, int8, int16, int32, float32 or float64, "
                                        rf"not {np.dtype(dtype)}"):
        write_idx(tmp_path / 'x', np.zeros(2, dtype))


def modules_loaded_by(module: str) -> set:
    """The scratchgrad modules (and sklearn, matplotlib) a fresh Python loads for `import <module>`, without the
    package's __init__ (chapter 07, which imports every module on purpose): the module's own imports, and theirs."""
    pkg_dir = str(Path(scratchgrad.data.__file__).parent)
    code = textwrap.dedent(f"""
        import sys, types
        pkg = types.ModuleType('scratchgrad'); pkg.__path__ = [{pkg_dir!r}]
        sys.modules['scratchgrad'] = pkg
        import {module}
        print(' '.join(m for m in sys.modules if m.startswith('scratchgrad.') or m.split('.')[0] in ('sklearn', 'matplotlib')))
    """)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_loading_mnist_imports_numpy_only():
    "`scratchgrad.data` (05a) reads MNIST itself: it must not load nn, optim, checkpoint, the engine or a later chapter."
    assert modules_loaded_by('scratchgrad.data') == {'scratchgrad.data'}


def test_writing_idx_loads_neither_nn_nor_checkpoint():
    "`scratchgrad.idx` (05z) writes atomically through `scratchgrad.files` (05): no model, optimizer or checkpoint code."
    loaded = modules_loaded_by('scratchgrad.idx')
    assert not loaded & {'scratchgrad.nn', 'scratchgrad.checkpoint'}, sorted(loaded)
    assert loaded == {'scratchgrad.idx', 'scratchgrad.data', 'scratchgrad.files'}


def test_the_appendix_reexports_the_reader_of_chapter_05a():
    assert scratchgrad.idx.read_idx is scratchgrad.data.read_idx and scratchgrad.idx.parse_idx is scratchgrad.data.parse_idx
    assert {'read_idx', 'parse_idx', 'write_idx'} <= set(scratchgrad.idx.__all__)
    assert 'scratchgrad.data' in modules_loaded_by('scratchgrad.idx')
