"""Chapter 05g (scratchgrad.conv): conv2d and the pools against naive loops (hypothesis, float64), gradcheck to the
second order on every argument, PyTorch's values and gradients (skipped without torch), the functional grad, every
error, the exercise's check, the layers (init, names, nn.Conv2d) and a checkpoint round trip."""
import io, json, os, re, contextlib, warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, assume, strategies as st

import scratchgrad.conv as C
from scratchgrad.conv import (conv2d, conv2d_input_grad, conv2d_weight_grad, max_pool2d, avg_pool2d,
                              Conv2d, MaxPool2d, AvgPool2d, Flatten)
import scratchgrad.tensor as T
from scratchgrad.tensor import Tensor, gradcheck, gradients
from scratchgrad import nn
from scratchgrad.nn import Sequential, ReLU, Linear

NBS = Path(__file__).resolve().parents[1] / 'nbs'
FAMILY = {'conv2d', 'conv2d_input_grad', 'conv2d_weight_grad', 'max_pool2d', 'avg_pool2d'}


# ---------------------------------------------------------------- naive references

def conv_loops(x, w, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    O, _, kh, kw = w.shape
    Ho, Wo = (xp.shape[2] - kh) // stride[0] + 1, (xp.shape[3] - kw) // stride[1] + 1
    y = np.zeros((x.shape[0], O, Ho, Wo))
    for n in range(x.shape[0]):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    y[n, o, i, j] = np.sum(xp[n, :, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw] * w[o])
    return y


def pool_loops(x, k, s, reduce):
    Ho, Wo = (x.shape[2] - k[0]) // s[0] + 1, (x.shape[3] - k[1]) // s[1] + 1
    y = np.zeros(x.shape[:2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            y[:, :, i, j] = reduce(x[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]], axis=(2, 3))
    return y


pairs = lambda lo, hi: st.tuples(st.integers(lo, hi), st.integers(lo, hi))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), size=pairs(1, 7), k=pairs(1, 3),
       stride=pairs(1, 3), padding=pairs(0, 2), seed=st.integers(0, 1000))
def test_conv2d_matches_loops(n, c, o, size, k, stride, padding, seed):
    assume(all(kk <= ss + 2 * p for kk, ss, p in zip(k, size, padding)))
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, c, *size)), rng.standard_normal((o, c, *k))
    y = conv2d(x, w, stride=stride, padding=padding)
    np.testing.assert_allclose(y.array, conv_loops(x, w, stride, padding), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)           # the two VJP primitives are the adjoints: <g, A x> = <A^T g, x> = <w-bar, w>
    xbar = conv2d_input_grad(g, w, stride=stride, padding=padding, size=size).array
    wbar = conv2d_weight_grad(x, g, stride=stride, padding=padding, kernel=k).array
    np.testing.assert_allclose(np.sum(g * y.array), np.sum(xbar * x), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.sum(g * y.array), np.sum(wbar * w), rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), size=pairs(1, 7), k=pairs(1, 3), stride=st.one_of(st.none(), pairs(1, 3)),
       seed=st.integers(0, 1000))
def test_pools_match_loops(n, c, size, k, stride, seed):
    assume(k[0] <= size[0] and k[1] <= size[1])
    x = np.random.default_rng(seed).standard_normal((n, c, *size))
    s = k if stride is None else stride
    np.testing.assert_allclose(max_pool2d(x, k, stride).array, pool_loops(x, k, s, np.max))
    np.testing.assert_allclose(avg_pool2d(x, k, stride).array, pool_loops(x, k, s, np.mean), rtol=1e-12)


# ---------------------------------------------------------------- gradients, to the second order

rng = np.random.default_rng(0)
r = lambda *shape: rng.standard_normal(shape)
CASES = [  # (name, f, inputs): every argument of every primitive of the family, strides 1/2, padding 0/1, tails
    ('conv s1 p0', lambda x, w: conv2d(x, w) ** 2, (r(2, 2, 5, 4), r(3, 2, 3, 2))),
    ('conv s1 p1 bias', lambda x, w, b: conv2d(x, w, b, padding=1) ** 2, (r(1, 2, 4, 5), r(2, 2, 3, 3), r(2))),
    ('conv s2 p1 tail', lambda x, w: conv2d(x, w, stride=2, padding=1) ** 2, (r(2, 1, 6, 5), r(2, 1, 3, 3))),
    ('conv s2 p0 tail', lambda x, w: conv2d(x, w, stride=2) ** 2, (r(1, 2, 7, 7), r(2, 2, 2, 2))),
    ('conv s(2,1) p(0,1)', lambda x, w: conv2d(x, w, stride=(2, 1), padding=(0, 1)) ** 2, (r(1, 2, 5, 4), r(2, 2, 2, 3))),
    ('input_grad', lambda g, w: conv2d_input_grad(g * g, w, stride=2, padding=1, size=(5, 5)), (r(2, 3, 3, 3), r(3, 2, 2, 2))),
    ('weight_grad', lambda x, g: conv2d_weight_grad(x * x, g, stride=2, kernel=(3, 3)), (r(2, 2, 7, 8), r(2, 3, 3, 3))),
    ('max_pool', lambda x: max_pool2d(x * x, 2) ** 2, (r(2, 2, 5, 5),)),
    ('max_pool overlap', lambda x: max_pool2d(x, 3, stride=1) * x[:, :, :3, :3], (r(1, 2, 5, 5),)),
    ('avg_pool', lambda x: avg_pool2d(x * x, (2, 3), stride=(1, 2)) ** 2, (r(2, 1, 5, 7),)),
    ('avg_pool tail', lambda x: avg_pool2d(x, 3, stride=2) ** 2, (r(1, 2, 6, 6),)),
]


@pytest.mark.parametrize('name,f,xs', CASES, ids=[c[0] for c in CASES])
def test_gradcheck_order_2(name, f, xs):
    assert gradcheck(f, *xs, order=2)


def test_every_primitive_of_the_family_ran_inside_a_passing_gradcheck():
    T.GRADCHECKED.clear()
    for _, f, xs in CASES: gradcheck(f, *xs, order=2)
    assert FAMILY <= T.GRADCHECKED, FAMILY - T.GRADCHECKED
    assert FAMILY <= set(T.PRIMITIVES)


def test_gradcheck_fails_on_a_wrong_conv_vjp(monkeypatch):
    "The checks above can fail: a weight cotangent off by a factor, or the input cotangent's kernel not flipped."
    prim = T.PRIMITIVES['conv2d']
    right = prim.vjp
    monkeypatch.setattr(prim, 'vjp', lambda g, out, x, w, **p: (right(g, out, x, w, **p)[0], right(g, out, x, w, **p)[1] * 1.01))
    with pytest.raises(AssertionError, match='input 1'):
        gradcheck(lambda x, w: conv2d(x, w), r(1, 1, 4, 4), r(1, 1, 3, 3))
    unflipped = lambda g, out, x, w, saved=None, **p: (C.conv2d_input_grad(g, w[:, :, ::-1, ::-1], size=x.shape[2:], **p), None)
    monkeypatch.setattr(prim, 'vjp', unflipped)
    with pytest.raises(AssertionError, match='input 0'):
        gradcheck(lambda x: conv2d(x, np.arange(9.0).reshape(1, 1, 3, 3)), r(1, 1, 4, 4))


def test_max_pool_ties_go_to_the_first_entry():
    x = Tensor(np.zeros((1, 1, 4, 4)))
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.array[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    x = Tensor(np.array([[[[1.0, 3.0, 3.0]]]]))                  # overlapping windows share the tie-winner's gradient
    max_pool2d(x, (1, 2), stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [[[[0, 2, 0]]]])


def test_functional_grad_reaches_conv2d_by_name():
    import scratchgrad.numpy as snp
    from scratchgrad.autograd import grad as fgrad
    x, w = r(1, 2, 5, 5), r(2, 2, 3, 3)
    loss = lambda w: snp.sum(snp.conv2d(x, w, stride=(2, 2), padding=(1, 1)) ** 2)
    wt = Tensor(w)
    np.testing.assert_allclose(fgrad(loss)(w), gradients(loss(wt), wt).array, rtol=1e-10)
    np.testing.assert_allclose(snp.conv2d(x, w), conv_loops(x, w, (1, 1), (0, 0)), rtol=1e-10)     # plain values: numpy
    v = r(*w.shape)
    hv = fgrad(lambda w: snp.sum(fgrad(loss)(w) * v))(w)
    np.testing.assert_allclose(hv, (fgrad(loss)(w + 1e-5 * v) - fgrad(loss)(w - 1e-5 * v)) / 2e-5, rtol=1e-5, atol=1e-6)
    y = snp.max_pool2d(x, kernel_size=(2, 2), stride=(2, 2))
    np.testing.assert_allclose(y, pool_loops(x, (2, 2), (2, 2), np.max))


def test_float32_stays_float32():
    conv = Conv2d(1, 2, 3, generator=0)
    x = Tensor(np.ones((2, 1, 5, 5), np.float32))
    y = max_pool2d(conv(x), 2)
    assert y.dtype == np.float32
    y.sum().backward()
    assert conv.weight.grad.dtype == np.float32 and x.grad.dtype == np.float32


# ---------------------------------------------------------------- PyTorch

@pytest.fixture(scope='module')
def torch():
    torch = pytest.importorskip('torch')
    return torch


@pytest.mark.parametrize('stride,padding,size,k', [(1, 0, (6, 6), 3), (1, 1, (5, 7), 3), (2, 1, (7, 7), 3), (2, 0, (7, 6), 2),
                                                   ((2, 1), (0, 2), (6, 5), (3, 2))])
def test_conv2d_matches_torch(torch, stride, padding, size, k):
    F = torch.nn.functional
    k = (k, k) if isinstance(k, int) else k
    x, w, b, u = r(2, 3, *size), r(4, 3, *k), r(4), None
    xs, ws, bs = Tensor(x), Tensor(w), Tensor(b)
    y = conv2d(xs, ws, bs, stride=stride, padding=padding)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = F.conv2d(xt, wt, bt, stride=stride, padding=padding)
    np.testing.assert_allclose(y.array, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    u = r(*y.shape)
    (y * u).sum().backward(); (yt * torch.tensor(u)).sum().backward()
    for ours, theirs in ((xs, xt), (ws, wt), (bs, bt)):
        np.testing.assert_allclose(ours.grad.array, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('k,stride,size', [(2, None, (6, 6)), (3, 2, (7, 8)), ((2, 3), 1, (5, 6)), (2, 3, (7, 7))])
def test_pools_match_torch(torch, k, stride, size):
    F = torch.nn.functional
    x = np.round(r(2, 2, *size), 1)                                # rounded: some ties inside windows
    x[0, 0, :2, :2] = 0.5                                          # and one window of equal entries
    for ours_fn, theirs_fn in ((max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)):
        xs, xt = Tensor(x), torch.tensor(x, requires_grad=True)
        y, yt = ours_fn(xs, k, stride), theirs_fn(xt, k, stride)
        np.testing.assert_allclose(y.array, yt.detach().numpy(), rtol=1e-12, atol=1e-15)
        u = r(*y.shape)
        (y * u).sum().backward(); (yt * torch.tensor(u)).sum().backward()
        np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_conv2d_module_matches_torch_module(torch):
    ours = Conv2d(3, 5, (3, 2), stride=2, padding=1, generator=0, dtype=np.float64)
    theirs = torch.nn.Conv2d(3, 5, (3, 2), stride=2, padding=1, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.array)); theirs.bias.copy_(torch.tensor(ours.bias.array))
    assert tuple(theirs.weight.shape) == ours.weight.shape and tuple(theirs.bias.shape) == ours.bias.shape
    x = r(2, 3, 7, 6)
    np.testing.assert_allclose(ours(x).array, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    fan_in_bound = 1 / np.sqrt(3 * 3 * 2)                          # PyTorch's default init has the same bound
    assert np.abs(theirs.weight.detach().numpy()).max() <= fan_in_bound
    net = Sequential(Conv2d(1, 2, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(2 * 3 * 3, 4))
    tnet = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(18, 4))
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]


# ---------------------------------------------------------------- layers and checkpoints

def test_conv2d_init_and_names():
    conv = Conv2d(4, 6, 3, generator=1)
    bound = 1 / np.sqrt(4 * 9)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.array).max() <= bound and np.abs(p.array).max() > 0.8 * bound
    nn.manual_seed(5); a = Conv2d(2, 3, 3).weight.array
    nn.manual_seed(5); np.testing.assert_array_equal(Conv2d(2, 3, 3).weight.array, a)   # the default generator
    assert Conv2d(2, 3, 3, bias=False).bias is None
    assert nn.Conv2d is Conv2d and nn.MaxPool2d is MaxPool2d and nn.AvgPool2d is AvgPool2d and nn.Flatten is Flatten
    import scratchgrad
    assert scratchgrad.nn.Conv2d is Conv2d
    assert Flatten()(np.zeros((2, 3, 4, 5))).shape == (2, 60)
    assert Flatten(0, 1)(np.zeros((2, 3, 4))).shape == (6, 4)


def test_state_dict_round_trip(tmp_path):
    from scratchgrad.checkpoint import save, load, state_dict
    make = lambda seed: Sequential(Conv2d(1, 4, 3, padding=1, generator=seed), ReLU(), MaxPool2d(2), Flatten(),
                                   Linear(16, 3, generator=seed))
    model, other = make(0), make(1)
    assert list(state_dict(model)) == ['0.weight', '0.bias', '4.weight', '4.bias']
    load(other, save(model, tmp_path / 'cnn'))
    x = r(2, 1, 4, 4).astype(np.float32)
    np.testing.assert_array_equal(other(x).array, model(x).array)
    with pytest.raises(ValueError):
        load(Sequential(Conv2d(1, 5, 3), Flatten()), tmp_path / 'cnn.npz')          # shapes differ: refused


# ---------------------------------------------------------------- errors

X4 = np.zeros((2, 3, 8, 8))
ERRORS = [
    (lambda: conv2d(X4, np.zeros((4, 1, 3, 3))), 'conv2d: x has C=3 channels but w expects 1'),
    (lambda: conv2d(X4[0], np.zeros((4, 3, 3, 3))), 'x must have 4 axes (N, C, H, W), got shape (3, 8, 8); for one image'),
    (lambda: conv2d(X4, np.zeros((3, 3, 3))), 'w must have 4 axes (O, C, kh, kw)'),
    (lambda: conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))), 'the kernel (3, 3) is larger than the padded input (2, 2)'),
    (lambda: conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), padding=1), None),          # fits once padded: no error
    (lambda: conv2d(X4, np.zeros((4, 3, 3, 3)), stride=0), 'conv2d: stride must be a positive int'),
    (lambda: conv2d(X4, np.zeros((4, 3, 3, 3)), stride=(1, 2, 3)), 'stride must be a positive int or a pair'),
    (lambda: conv2d(X4, np.zeros((4, 3, 3, 3)), stride=True), 'stride must be a positive int'),
    (lambda: conv2d(X4, np.zeros((4, 3, 3, 3)), padding=-1), 'conv2d: padding must be a non-negative int'),
    (lambda: conv2d(X4, np.zeros((4, 3, 3, 3)), padding=0.5), 'padding must be a non-negative int'),
    (lambda: conv2d(X4, np.zeros((4, 3, 3, 3)), 2), 'bias must have shape (4,)'),
    (lambda: max_pool2d(np.zeros((1, 1, 2, 2)), 3), 'max_pool2d: the kernel (3, 3) is larger than the padded input (2, 2)'),
    (lambda: max_pool2d(np.zeros((1, 2, 2)), 2), 'max_pool2d: x must have 4 axes'),
    (lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), 0), 'avg_pool2d: kernel_size must be a positive int'),
    (lambda: avg_pool2d(np.zeros((1, 1, 4, 4)), 2, stride=-1), 'avg_pool2d: stride must be a positive int'),
    (lambda: Conv2d(1, 16, 3)(np.zeros((5, 64))), 'reshape flat images first, e.g. X.reshape(-1, 1, 8, 8)'),
    (lambda: Conv2d(3, 16, 3)(np.zeros((2, 1, 8, 8))), 'Conv2d(3, 16): the input must have shape (N, 3, H, W), got (2, 1, 8, 8)'),
    (lambda: Conv2d(0, 16, 3), 'Conv2d: in_channels must be a positive integer'),
    (lambda: Conv2d(1, 16, 0), 'Conv2d: kernel_size must be a positive int'),
    (lambda: Conv2d(1, 16, 3, padding=-2), 'Conv2d: padding must be a non-negative int'),
    (lambda: MaxPool2d(2, stride=0), 'MaxPool2d: stride must be a positive int'),
    (lambda: AvgPool2d((2, 0)), 'AvgPool2d: kernel_size must be a positive int'),
    (lambda: conv2d_input_grad(np.zeros((2, 4, 5, 5)), np.zeros((4, 3, 3, 3)), size=(8, 8)), "is not shaped like conv2d's output"),
    (lambda: conv2d_input_grad(np.zeros((2, 5, 6, 6)), np.zeros((4, 3, 3, 3)), size=(8, 8)), 'g has 5 channels but w has O=4'),
    (lambda: conv2d_weight_grad(X4, np.zeros((2, 4, 7, 7)), kernel=(3, 3)), "is not shaped like conv2d's output"),
    (lambda: Flatten(2, 1)(np.zeros((2, 3, 4))), 'start_dim 2 comes after end_dim 1'),
    (lambda: Flatten(5)(np.zeros((2, 3))), 'out of bounds'),
]


@pytest.mark.parametrize('i', range(len(ERRORS)))
def test_errors_name_the_op_and_the_fix(i):
    fn, message = ERRORS[i]
    if message is None:
        fn(); return
    with pytest.raises(Exception) as e:
        fn()
    assert message in str(e.value), str(e.value)


# ---------------------------------------------------------------- the exercise's check

def cells():
    return json.loads((NBS / '05g_conv.ipynb').read_text(encoding='utf-8'))['cells']


@pytest.fixture(scope='module')
def chapter():
    """Run the chapter's code cells up to the exercise's check: not hidden, slow or answer cells, and not the exported
    ones either (their definitions come from the package: registering the primitives twice would be refused)."""
    import matplotlib; matplotlib.use('Agg')
    ns, here = {'__name__': '__main__', **vars(C)}, os.getcwd()
    os.chdir(NBS)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter('ignore')
            for c in cells():
                src = ''.join(c['source'])
                if c['cell_type'] != 'code' or re.match(r'#\| *(hide|slow|answer|export)', src): continue
                exec(compile(src, '05g_conv.ipynb', 'exec'), ns)
                if 'def check_avg_pool2d' in src: return ns
    finally: os.chdir(here)
    raise AssertionError('no check_avg_pool2d cell')


def verdict(ns, vjp):
    out = io.StringIO()
    with contextlib.redirect_stdout(out): ok = ns['check_avg_pool2d'](vjp)
    return ok, out.getvalue()


def test_check_on_the_stub(chapter):
    ok, msg = verdict(chapter, chapter['avg_pool2d_vjp'])
    assert not ok and msg.startswith('not written yet'), msg


def test_check_accepts_the_answers(chapter):
    ok, msg = verdict(chapter, C._avg_pool2d_vjp)
    assert ok and msg.startswith('right'), msg
    details = [''.join(c['source']) for c in cells() if '<summary>Answer</summary>' in ''.join(c['source'])]
    (block,) = re.findall(r'```python\n(.*?)```', details[0], re.S)
    ns = dict(chapter); exec(block, ns)
    ok, msg = verdict(chapter, ns['avg_pool2d_vjp'])
    assert ok and msg.startswith('right'), msg


def test_check_rejects_wrong_answers_and_names_what_failed(chapter):
    def no_mean(g, out, x, kernel_size=2, stride=None):          # forgets the 1/(kh kw)
        (gx,) = C._avg_pool2d_vjp(g, out, x, kernel_size, stride)
        return (gx * float(np.prod(C._pool_args(x.shape, kernel_size, stride)[0])),)
    ok, msg = verdict(chapter, no_mean)
    assert not ok and msg.startswith('wrong: kernel 2, stride 2') and 'derivative order 1' in msg, msg
    ok, msg = verdict(chapter, lambda g, out, x, kernel_size=2, stride=None: (g,))      # the output's shape
    assert not ok and 'wrong' in msg and 'cotangent of shape (2, 3, 2, 2)' in msg, msg

    def constant(g, out, x, kernel_size=2, stride=None):          # numpy inside: right once, wrong at order 2
        (gx,) = C._avg_pool2d_vjp(g, out, x, kernel_size, stride)
        return (Tensor(gx.array, requires_grad=False),)
    ok, msg = verdict(chapter, constant)
    assert not ok and 'derivative order 2' in msg and 'input x of shape' in msg, msg

    def no_overlap(g, out, x, kernel_size=2, stride=None):        # right only when windows tile the image
        kernel, s, _ = C._pool_args(x.shape, kernel_size, stride)
        up = np.ones((1, 1, *kernel)) / np.prod(kernel)
        spread = (g.reshape(*g.shape[:2], g.shape[2], 1, g.shape[3], 1) * up.reshape(1, 1, 1, kernel[0], 1, kernel[1]))
        full = spread.reshape(*g.shape[:2], g.shape[2] * kernel[0], g.shape[3] * kernel[1])
        pad = np.zeros(x.shape); pad[:, :, :full.shape[2], :full.shape[3]] = 1
        if full.shape != x.shape: return (Tensor(np.zeros(x.shape), requires_grad=False),)
        return (full * pad,)
    ok, msg = verdict(chapter, no_overlap)
    assert not ok and 'wrong: kernel 3, stride 2 on 7x6 (a tail)' in msg, msg


def test_the_page_has_an_exercise_with_stub_check_answer():
    cs = cells()
    src = [''.join(c['source']) for c in cs]
    assert any(re.search(r'^def check_avg_pool2d\(', s, re.M) for s in src)
    assert any('<details><summary>Answer</summary>' in s for s in src)
    answers = [s for s in src if s.startswith('#| answer')]
    assert answers and all('_avg_pool2d_vjp' in s or 'check_avg_pool2d' in s for s in answers)


def test_weight_grad_reuses_the_forwards_columns_only_for_the_same_array():
    "The columns kept by conv2d's forward serve its weight cotangent; an equal-shaped other array gets its own."
    x, w = r(2, 3, 6, 5), r(4, 3, 3, 3)
    g = r(2, 4, 3, 3)
    saved = {}
    C._conv2d_fwd(x, w, stride=2, padding=1, saved=saved)
    assert saved['columns'][0] is x
    for x2 in (x, x + 1.0, x[::-1]):           # the same array, other values, a view of the same memory
        got = C._conv2d_weight_grad_fwd(x2, g, stride=2, padding=1, kernel=(3, 3), saved=saved)
        np.testing.assert_allclose(got, C._conv2d_weight_grad_fwd(x2, g, stride=2, padding=1, kernel=(3, 3)), rtol=1e-12)
        np.testing.assert_allclose(got, weight_grad_loops(x2, g, (2, 2), (1, 1), (3, 3)), rtol=1e-10, atol=1e-12)


def test_conv2d_gradients_match_loops_with_kept_columns():
    "End to end through the engine (kept columns), both cotangents equal the loops' adjoint, to second order too."
    x, w = Tensor(r(2, 2, 5, 5)), Tensor(r(3, 2, 3, 3))
    g = r(2, 3, 5, 5)
    dx, dw = gradients((conv2d(x, w, padding=1) * g).sum(), [x, w])
    np.testing.assert_allclose(dw.array, weight_grad_loops(x.array, g, (1, 1), (1, 1), (3, 3)), rtol=1e-10, atol=1e-12)
    xbar = C._conv2d_input_grad_fwd(g, w.array, 1, 1, (5, 5))
    np.testing.assert_allclose(dx.array, xbar, rtol=1e-12)
    assert gradcheck(lambda x, w: conv2d(x, w, padding=1) ** 2, x.array, w.array, order=2)


def weight_grad_loops(x, g, stride, padding, k):
    "w-bar by its definition: sum over n, i, j of g[n,o,i,j] times the padded window's pixel (p, q)."
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    wbar = np.zeros((g.shape[1], x.shape[1], *k))
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            win = xp[:, :, i * stride[0]:i * stride[0] + k[0], j * stride[1]:j * stride[1] + k[1]]
            wbar += np.einsum('no,ncpq->ocpq', g[:, :, i, j], win)
    return wbar
