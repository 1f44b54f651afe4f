"""A primitive is written in one place: its `defprim` call gives the function, the Tensor method (method=True),
`scratchgrad.numpy`'s function and the functional `grad`'s derivative; `gradcheck` checks it like every other."""
import subprocess, sys

import numpy as np

SCRIPT = r'''
import numpy as np
import scratchgrad.numpy as snp
from scratchgrad import grad
from scratchgrad.tensor import Tensor, defprim, gradcheck, PRIMITIVES
import inspect

cube = defprim('cube_test', lambda x: x ** 3, lambda g, out, x: (3 * g * x * x,), method=True, doc="x cubed.")
x = Tensor([1.0, 2.0])
assert cube(x).op == 'cube_test' and x.cube_test().op == 'cube_test'               # function and method
assert cube.__doc__ == "x cubed." and str(inspect.signature(cube)).startswith('(x)')
assert gradcheck(lambda a: cube(a) * a, np.array([0.5, -1.5]), order=2)             # checked to second order
assert snp.cube_test(2.0) == 8.0 and type(snp.cube_test(np.ones(2))) is np.ndarray   # snp: plain values stay numpy
assert grad(lambda v: snp.cube_test(v))(2.0) == 12.0                                # the functional grad
assert grad(grad(snp.cube_test))(2.0) == 12.0                                       # and its second derivative
plain = defprim('plain_test', np.negative, lambda g, out, x: (-g,))
assert not hasattr(Tensor, 'plain_test')                                            # no method unless asked
print('ok')
'''


def test_a_new_primitive_is_one_defprim_call():
    r = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr


def test_snp_refuses_a_name_that_is_neither_a_function_nor_a_primitive():
    import pytest
    import scratchgrad.numpy as snp
    with pytest.raises(AttributeError, match="no attribute 'cosh'"): snp.cosh


def test_a_function_made_by_defprim_belongs_to_the_module_that_registered_it():
    "Its docs and pickle name the chapter's module (not the engine, where defprim lives), as for a `def` there."
    import pickle
    import scratchgrad.ops as ops, scratchgrad.tensor as T
    for module, fn in ((ops, ops.exp), (ops, ops.matmul), (T, T.tanh), (T, T.log_softmax)):
        assert fn.__module__ == module.__name__ and getattr(module, fn.__name__) is fn
        assert pickle.loads(pickle.dumps(fn)) is fn


def test_the_tensor_methods_come_from_the_table_entries():
    "tanh, sigmoid, sin, cos (04c) and exp, log, relu (04b) are the functions their defprim calls returned."
    import scratchgrad.tensor as T
    for name in ('exp', 'log', 'relu', 'tanh', 'sigmoid', 'sin', 'cos'):
        assert getattr(T.Tensor, name) is getattr(T, name), name
    assert T.Tensor([0.5]).tanh().array == np.tanh(0.5)
