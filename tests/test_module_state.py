"""A module's state: copies (deepcopy, pickle), Sequential subclasses, cycles, shared Tensors, Dropout's generator."""
import contextlib, copy, pickle, signal

import numpy as np
import pytest

from scratchgrad.tensor import Tensor
from scratchgrad.nn import MLP, Dropout, Linear, Module, ReLU, Sequential, manual_seed
from scratchgrad.optim import SGD
from scratchgrad.checkpoint import load, load_state_dict, save, state_dict


@contextlib.contextmanager
def deadline(seconds=5):
    "Fail (instead of hanging, or filling the memory) if the block takes longer than `seconds`."
    def stop(*_): raise TimeoutError(f"still running after {seconds} s: an endless traversal?")
    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try: yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ---- 1. copies: deepcopy and pickle give independent parameters with equal values -------------------------------

class Net(Module):
    "Layers, a shared parameter, a constant, a Dropout with its own generator and one using the default generator."
    def __init__(self):
        self.body = MLP(3, [4, 2], generator=0)
        self.drop = Dropout(0.5, generator=1)
        self.drop_default = Dropout(0.3)
        self.tied = self.body[0].weight                      # the same Tensor under two names
        self.const = Tensor(np.arange(2.0), requires_grad=False)
    def forward(self, x): return self.drop_default(self.drop(self.body(x))) + self.const


def _copies():
    return {'deepcopy': copy.deepcopy, 'pickle': lambda m: pickle.loads(pickle.dumps(m))}


@pytest.mark.parametrize('how', list(_copies()))
def test_a_copy_has_equal_and_independent_parameters(how):
    net = Net()
    net(np.ones((5, 3))).sum().backward()                    # gradients present, graph released
    twin = _copies()[how](net)
    assert type(twin) is Net and type(twin.drop) is Dropout
    pairs = list(zip(net.named_tensors(remove_duplicate=False), twin.named_tensors(remove_duplicate=False)))
    assert len(pairs) == 6
    for (na, a), (nb, b) in pairs:
        assert na == nb and a.dtype == b.dtype and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.array, b.array)
        assert a is not b and not np.shares_memory(a.array, b.array)
    assert twin.tied is twin.body[0].weight                  # sharing inside the copy is kept
    assert len(twin.parameters()) == len(net.parameters())
    before = state_dict(net)
    opt = SGD(twin.parameters(), lr=0.5)                      # training the copy leaves the original alone
    twin.zero_grad(); twin(np.ones((5, 3))).sum().backward(); opt.step()
    for k, v in state_dict(net).items(): np.testing.assert_array_equal(v, before[k])
    assert not np.array_equal(state_dict(twin)['body.0.bias'], before['body.0.bias'])


@pytest.mark.parametrize('how', list(_copies()))
def test_a_copied_dropout_draws_the_same_masks_from_its_own_generator(how):
    d = Dropout(0.5, generator=3)
    d(np.ones(10))                                           # advance the generator a little
    twin = _copies()[how](d)
    x = np.ones((4, 50))
    np.testing.assert_array_equal(twin(x).array, d(x).array)        # same state ...
    twin(x)                                                          # ... but not the same generator
    assert not np.array_equal(twin(x).array, d(x).array)


# ---- 2. a Sequential subclass's own attributes are trained, saved and switched to eval mode ----------------------

class Head(Sequential):
    def __init__(self):
        super().__init__(Linear(3, 4, generator=0), ReLU())
        self.extra = Linear(4, 2, generator=1)
        self.scale = Tensor(2.0)
        self.drop = Dropout(0.2, generator=0)
    def forward(self, x): return self.drop(self.extra(super().forward(x))) * self.scale


def test_sequential_subclass_attributes_are_found():
    h = Head()
    assert [n for n, _ in h.named_parameters()] == ['scale', '0.weight', '0.bias', 'extra.weight', 'extra.bias']
    assert [n for n, _ in h.named_modules()] == ['', '0', '1', 'extra', 'drop']
    assert list(state_dict(h)) == ['scale', '0.weight', '0.bias', 'extra.weight', 'extra.bias']
    h.eval(); assert not h.extra.training and not h.drop.training
    h.train(); assert h.extra.training and h.drop.training
    w = h.extra.weight.array.copy()
    opt = SGD(h.parameters(), lr=0.1)
    h(np.ones((2, 3))).sum().backward(); opt.step()
    assert not np.array_equal(h.extra.weight.array, w)         # trained
    assert '(extra): Linear(in_features=4, out_features=2, bias=True)' in repr(h)
    assert len(h) == 2 and h[0] is h.layers[0]                  # still a sequence of its layers


def test_sequential_subclass_round_trips_through_a_checkpoint(tmp_path):
    a, b = Head(), Head()
    for p in [a[0].weight, a.extra.weight, a.extra.bias, a.scale]:
        p.array[...] = np.random.default_rng(0).standard_normal(p.shape)
    load(b, save(a, tmp_path / 'head'))
    np.testing.assert_array_equal(b.extra.weight.array, a.extra.weight.array)    # the subclass's own layer too
    assert b.scale.item() == a.scale.item()
    for (na, ta), (nb, tb) in zip(a.named_tensors(), b.named_tensors()):
        assert na == nb; np.testing.assert_array_equal(ta.array, tb.array)


# ---- 3. a child that refers to its parent: every traversal visits each module once --------------------------------

class Block(Module):
    def __init__(self):
        self.lin = Linear(2, 2, generator=0)
        self.drop = Dropout(0.1)
    def forward(self, x): return self.drop(self.lin(x))


class Owner(Module):
    def __init__(self):
        self.w = Tensor(np.ones(2), name='w')
        self.block = Block()
        self.block.owner = self                                # a back-reference, as in a tree with parent links
        self.blocks = [self.block, Block()]
        self.blocks[1].owner = self
    def forward(self, x): return self.blocks[1](self.block(x)) * self.w


def test_traversals_terminate_on_a_cycle(tmp_path):
    m = Owner()
    with deadline():
        assert [n for n, _ in m.named_modules()] == ['', 'block', 'block.lin', 'block.drop', 'blocks.1',
                                                     'blocks.1.lin', 'blocks.1.drop']
        assert [n for n, _ in m.named_parameters()] == ['w', 'block.lin.weight', 'block.lin.bias',
                                                        'blocks.1.lin.weight', 'blocks.1.lin.bias']
        assert len(m.parameters()) == 5 and m.num_parameters() == 2 + 2 * 6
        full = [n for n, _ in m.named_modules(remove_duplicate=False)]
        assert full == ['', 'block', 'block.lin', 'block.drop', 'blocks.0', 'blocks.0.lin', 'blocks.0.drop',
                        'blocks.1', 'blocks.1.lin', 'blocks.1.drop']     # owner is never entered again
        assert list(state_dict(m)) == ['w', 'block.lin.weight', 'block.lin.bias', 'blocks.0.lin.weight',
                                       'blocks.0.lin.bias', 'blocks.1.lin.weight', 'blocks.1.lin.bias']
        m.eval(); assert not m.block.drop.training and not m.blocks[1].drop.training
        m.train(); m.zero_grad()
        text = repr(m)
        load(Owner(), save(m, tmp_path / 'owner'))
        twin = copy.deepcopy(m)
    assert twin.block.owner is twin
    assert text.count('(owner): Owner(<cycle') == 3 and '(lin): Linear' in text


def test_named_modules_of_a_self_reference():
    m = Linear(2, 2)
    m.me = m
    with deadline():
        assert [n for n, _ in m.named_modules()] == ['']
        assert [n for n, _ in m.named_modules(remove_duplicate=False)] == ['']
        assert list(state_dict(m)) == ['weight', 'bias']
        assert repr(m).startswith('Linear(')


# ---- 4. a Tensor reachable under two names is saved under both (as PyTorch does) and loaded once -----------------

def test_state_dict_lists_a_shared_layer_under_every_name():
    lin = Linear(2, 3, generator=0)
    seq = Sequential(lin, ReLU(), lin)
    assert [n for n, _ in seq.named_parameters()] == ['0.weight', '0.bias']
    assert len(seq.parameters()) == 2
    assert [n for n, _ in seq.named_modules()] == ['', '0', '1']
    assert [n for n, _ in seq.named_modules(remove_duplicate=False)] == ['', '0', '1', '2']
    names = [n for n, _ in seq.named_tensors(remove_duplicate=False)]
    assert names == ['0.weight', '0.bias', '2.weight', '2.bias']
    state = state_dict(seq)
    assert list(state) == names                              # PyTorch's keys for the same model
    np.testing.assert_array_equal(state['0.weight'], state['2.weight'])
    assert not np.shares_memory(state['0.weight'], state['2.weight'])


def test_shared_tensor_loads_from_both_names_and_refuses_disagreeing_ones():
    def tied(seed):
        lin = Linear(2, 3, generator=seed)
        return Sequential(lin, ReLU(), lin)
    src, dst = tied(0), tied(1)
    load_state_dict(dst, state_dict(src))
    np.testing.assert_array_equal(dst[0].weight.array, src[0].weight.array)
    bad = state_dict(src); bad['2.weight'] = bad['2.weight'] + 1
    before = state_dict(dst)
    with pytest.raises(ValueError, match=r"'0.weight' and '2.weight' are the same Tensor in this model.*differ"):
        load_state_dict(dst, bad)
    for k, v in state_dict(dst).items(): np.testing.assert_array_equal(v, before[k])   # nothing changed


def test_a_shared_tensor_saved_once_still_loads(tmp_path):
    "Checkpoints written before shared Tensors were saved under every name list them once: they still load."
    lin = Linear(2, 3, generator=0)
    src = Sequential(lin, ReLU(), lin)
    np.savez(tmp_path / 'old.npz', **{'0.weight': lin.weight.array, '0.bias': lin.bias.array})
    lin2 = Linear(2, 3, generator=5)
    dst = load(Sequential(lin2, ReLU(), lin2), tmp_path / 'old.npz')
    np.testing.assert_array_equal(dst[2].weight.array, src[2].weight.array)
    only_second = {'2.weight': lin.weight.array, '2.bias': lin.bias.array}     # either name is enough
    load_state_dict(Sequential(lin2, ReLU(), lin2), only_second)
    with pytest.raises(ValueError, match=r"missing parameters \['0.bias', '2.bias'\]"):
        load_state_dict(dst, {'0.weight': lin.weight.array})


def test_a_shared_parameter_in_two_modules_round_trips(tmp_path):
    class Tied(Module):
        def __init__(self, seed):
            self.enc = Linear(3, 3, generator=seed)
            self.dec = Linear(3, 3, generator=seed + 1)
            self.dec.weight = self.enc.weight                 # weight tying
        def forward(self, x): return self.dec(self.enc(x))
    a, b = Tied(0), Tied(7)
    assert list(state_dict(a)) == ['enc.weight', 'enc.bias', 'dec.weight', 'dec.bias']
    load(b, save(a, tmp_path / 'tied'))
    assert b.dec.weight is b.enc.weight
    np.testing.assert_array_equal(b.dec.weight.array, a.enc.weight.array)


# ---- 5. manual_seed makes the masks of an existing Dropout reproducible --------------------------------------------

def test_manual_seed_resets_an_existing_dropout():
    d = Dropout(0.5)                                           # built before seeding
    x = np.ones((8, 20))
    manual_seed(11); first = d(x).array.copy(); second = d(x).array.copy()
    manual_seed(11)
    np.testing.assert_array_equal(d(x).array, first)
    np.testing.assert_array_equal(d(x).array, second)
    assert not np.array_equal(first, second)                   # a fresh mask every call
    manual_seed(0)


def test_dropout_with_its_own_generator_ignores_manual_seed():
    for gen in [4, np.random.default_rng(4)]:
        d, x = Dropout(0.5, generator=gen), np.ones((8, 20))
        manual_seed(1); a = d(x).array.copy()
        manual_seed(1); b = d(x).array.copy()
        assert not np.array_equal(a, b)                        # its generator advanced; manual_seed does not touch it
        ref = np.random.default_rng(4)
        np.testing.assert_array_equal(a, (ref.random(x.shape) >= 0.5) * 2.0)
    manual_seed(0)


def test_dropout_in_a_thread_uses_that_threads_generator():
    import threading
    d, x, got = Dropout(0.5), np.ones((4, 10)), {}
    def worker(): manual_seed(21); got['mask'] = d(x).array.copy()
    t = threading.Thread(target=worker); t.start(); t.join()
    manual_seed(21)
    np.testing.assert_array_equal(got['mask'], d(x).array)
    manual_seed(0)
