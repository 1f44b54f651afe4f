"""Chapter 07's claims, checked against PyTorch when it is installed (skipped cleanly otherwise)."""
import numpy as np
import pytest

torch = pytest.importorskip('torch')

from scratchgrad import data, losses, nn, no_grad, optim, save, load_state_dict, state_dict  # noqa: E402


def scratch_model(dtype=np.float32):
    return nn.Sequential(nn.Linear(6, 8, generator=0, dtype=dtype), nn.ReLU(), nn.Linear(8, 3, generator=1, dtype=dtype))


def torch_model(state, double=False):
    m = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    if double: m = m.double()
    m.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})   # strict names
    return m


def problem(dtype=np.float32):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 6)).astype(dtype)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)


def test_a_scratchgrad_checkpoint_loads_into_torch_sequential(tmp_path):
    X, _ = problem()
    ours = scratch_model()
    path = save(ours, tmp_path / 'm.npz')
    with np.load(path) as f: theirs = torch_model({k: f[k] for k in f.files})
    with torch.no_grad(): t_out = theirs(torch.from_numpy(X)).numpy()
    with no_grad(): o_out = ours(X).array
    assert np.max(np.abs(t_out - o_out)) < 1e-5


@pytest.mark.parametrize('momentum', [0.0, 0.9])
def test_same_training_trajectory_as_torch_in_float64(momentum):
    X, y = problem(np.float64)
    ours = scratch_model(np.float64)
    theirs = torch_model(state_dict(ours), double=True)
    o_opt = optim.SGD(ours.parameters(), lr=0.1, momentum=momentum)
    t_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=momentum)
    for xb, yb in list(data.DataLoader(X, y, batch_size=20)) * 3:
        o_opt.zero_grad(); losses.cross_entropy(ours(xb), yb).backward(); o_opt.step()
        t_opt.zero_grad(); torch.nn.functional.cross_entropy(theirs(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
        t_opt.step()
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(state_dict(ours)[k], v.numpy(), rtol=1e-10, atol=1e-12)


def test_a_torch_state_dict_loads_back_bit_for_bit():
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    ours = load_state_dict(scratch_model(), {k: v.numpy() for k, v in theirs.state_dict().items()})
    for k, v in theirs.state_dict().items(): assert state_dict(ours)[k].tobytes() == v.numpy().tobytes()
