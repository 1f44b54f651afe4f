"""conv2d benchmark: one forward and backward pass (gradients with respect to the input and the kernels), float32.

The loss is sum(conv2d(x, w) * R) for a fixed random array R, so the output's cotangent is R. Two sizes:
digits-sized (N=64, 1 -> 16 channels, 8x8 images, 3x3 kernel, padding 1) and MNIST-sized (N=64, 1 -> 16 channels,
28x28, 5x5 kernel, no padding).

Engines: scratchgrad (`scratchgrad.conv.conv2d`, gradients by `gradients`); two hand-written numpy versions, and the
faster of the two in each run is the floor: one matrix of columns per image, or one for the whole batch (each:
sliding_window_view + im2col + matrix product forward, the hand-derived backward: the kernels' gradient is R's
rows times the input's columns, the input's is col2im of the kernels times R, and the columns are kept from the
forward pass, which an autodiff engine's separate VJP primitives cannot do); and PyTorch eager on the CPU (skipped
cleanly when `import torch` fails). All must agree with numpy on both gradients.

Timing: BLAS and torch on one thread; engines take turns in blocks of --block passes (rotating who goes first), each
block timed with `time.perf_counter`; an engine's time is the median over its blocks. Only ratios measured in the same
run mean anything on a shared machine. The goal: scratchgrad <= 1.5x the floor.

    python benchmarks/bench_conv.py [--blocks 60] [--block 10]
"""
import argparse, os, sys, time
from pathlib import Path
for var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ[var] = '1'
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing
from scratchgrad.tensor import Tensor, gradients
from scratchgrad.conv import conv2d

SIZES = {'digits (64, 1->16, 8x8, 3x3, pad 1)': dict(N=64, C=1, O=16, H=8, k=3, padding=1),
         'MNIST  (64, 1->16, 28x28, 5x5)': dict(N=64, C=1, O=16, H=28, k=5, padding=0)}


def make_case(N, C, O, H, k, padding, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    w = (rng.standard_normal((O, C, k, k)) / np.sqrt(C * k * k)).astype(np.float32)
    Ho = H + 2 * padding - k + 1
    R = rng.standard_normal((N, O, Ho, Ho)).astype(np.float32)
    return x, w, R, padding


class NumpyConv:
    "Hand-written: im2col forward with one matrix of columns per image, hand-derived backward reusing those columns."
    name = 'numpy (per image)'
    def step(self, x, w, R, p):
        N, C, H, W = x.shape
        O, _, kh, kw = w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        win = sliding_window_view(xp, (kh, kw), axis=(2, 3))                   # (N, C, Ho, Wo, kh, kw)
        Ho, Wo = win.shape[2:4]
        cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * kh * kw, Ho * Wo)
        w2 = w.reshape(O, -1)
        y = (w2 @ cols).reshape(N, O, Ho, Wo)                                   # already in the output's layout
        loss = float(np.sum(y * R))
        g = R.reshape(N, O, Ho * Wo)                                            # dL/dy = R
        dw = np.einsum('nop,nkp->ok', g, cols).reshape(w.shape)
        share = (w2.T @ g).reshape(N, C, kh, kw, Ho, Wo)
        dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), np.float32)
        for i in range(kh):
            for j in range(kw):
                dxp[:, :, i:i + Ho, j:j + Wo] += share[:, :, i, j]
        return loss, dxp[:, :, p:p + H, p:p + W], dw


class NumpyConvBatch:
    "Hand-written, the other layout: one matrix of columns for the whole batch (faster for small images here)."
    name = 'numpy (one matrix)'
    def step(self, x, w, R, p):
        N, C, H, W = x.shape
        O, _, kh, kw = w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        win = sliding_window_view(xp, (kh, kw), axis=(2, 3))                   # (N, C, Ho, Wo, kh, kw)
        Ho, Wo = win.shape[2:4]
        cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(C * kh * kw, N * Ho * Wo)
        y = (w.reshape(O, -1) @ cols).reshape(O, N, Ho, Wo).transpose(1, 0, 2, 3)
        loss = float(np.sum(y * R))
        g = R.transpose(1, 0, 2, 3).reshape(O, -1)                              # dL/dy = R, as rows
        dw = (g @ cols.T).reshape(w.shape)
        share = (w.reshape(O, -1).T @ g).reshape(C, kh, kw, N, Ho, Wo)
        dxp = np.zeros((C, N, H + 2 * p, W + 2 * p), np.float32)
        for i in range(kh):
            for j in range(kw):
                dxp[:, :, i:i + Ho, j:j + Wo] += share[:, i, j]
        dx = dxp[:, :, p:p + H, p:p + W].transpose(1, 0, 2, 3)
        return loss, dx, dw


class ScratchgradConv:
    name = 'scratchgrad'
    def step(self, x, w, R, p):
        xt, wt = Tensor(x), Tensor(w)
        loss = (conv2d(xt, wt, padding=p) * R).sum()
        dx, dw = gradients(loss, [xt, wt])
        return loss.item(), dx.array, dw.array


class TorchConv:
    name = 'pytorch (cpu, eager)'
    def __init__(self, torch): self.torch = torch
    def step(self, x, w, R, p):
        torch = self.torch
        xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        loss = (torch.nn.functional.conv2d(xt, wt, padding=p) * torch.from_numpy(R)).sum()
        dx, dw = torch.autograd.grad(loss, [xt, wt])
        return loss.item(), dx.numpy(), dw.numpy()


def engines_available():
    engines = [NumpyConv(), NumpyConvBatch(), ScratchgradConv()]
    try:
        import torch
        torch.set_num_threads(1)
        engines.append(TorchConv(torch))
    except ImportError:
        print("pytorch: not installed, its column is skipped")
    return engines


def agree(engines, case) -> bool:
    "Both gradients of every engine equal numpy's (float32 tolerances)."
    ref = engines[0].step(*case)
    ok = True
    for e in engines[1:]:
        out = e.step(*case)
        ok &= all(np.abs(a - b).max() <= 1e-5 * np.abs(b).max() for a, b in zip(out[1:], ref[1:]))   # float32 sums
        ok &= abs(out[0] - ref[0]) <= 1e-4 * max(1.0, abs(ref[0]))
    return bool(ok)


def time_blocks(engines, case, blocks, block):
    times = {e.name: [] for e in engines}
    for i in range(blocks):
        k = i % len(engines)
        for e in engines[k:] + engines[:k]:
            start = time.perf_counter()
            for _ in range(block): e.step(*case)
            times[e.name].append((time.perf_counter() - start) / block)
    return {name: np.median(t) for name, t in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--blocks', type=int, default=60, help='timed blocks per engine and size')
    ap.add_argument('--block', type=int, default=10, help='forward+backward passes per timed block')
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)          # one BLAS thread even if numpy was imported before the variables above were set
    engines = engines_available()
    all_agree, ratios = True, {}
    print(f"conv2d forward + backward (dL/dx and dL/dw), float32, one thread; {args.blocks} blocks of {args.block}")
    print(f"{'size':<38}{'engine':<24}{'us/pass (median)':>18}{'vs floor':>10}")
    for label, size in SIZES.items():
        case = make_case(**size)
        ok = agree(engines, case)
        all_agree &= ok
        med = time_blocks(engines, case, args.blocks, args.block)
        ref = min(med[NumpyConv.name], med[NumpyConvBatch.name])   # the floor: the faster hand-written layout
        for e in engines:
            print(f"{label:<38}{e.name:<24}{med[e.name] * 1e6:>18.1f}{med[e.name] / ref:>9.2f}x")
        ratios[label] = med[ScratchgradConv.name] / ref
        print(f"{label:<38}gradients agree with numpy: {ok}")
    for label, ratio in ratios.items():
        print(f"scratchgrad / hand-written numpy (faster layout) on {label.split()[0]}: {ratio:.2f}x (goal <= 1.50x): {'met' if ratio <= 1.5 else 'NOT met'}")
    return 0 if all_agree else 1


if __name__ == '__main__':
    sys.exit(main())
