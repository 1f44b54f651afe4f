"""Moons MLP: notebook 03's scalar engine against the same network built from `scratchgrad.nn.Linear` layers.

Usage: python benchmarks/bench_moons_speed.py [--repeats 3]

Network MLP(2, [8, 8, 1]) (ReLU, ReLU, one logit / sigmoid output), binary cross-entropy, the moons of notebook 03
(1,000 points, noise 0.2, 800/200 split). Both engines start from the same weights (the scalar model's, copied
into the Linear layers). Measured in one run:

1. notebook 03's recipe (batches of 32 in the same shuffled order, SGD with lr decaying 0.5 -> 0.02, 20 epochs) in
   both engines: the final weights must agree (same computation), and the ratio of the times per epoch;
2. full-batch Adam (lr 0.05) on Tensors until the test accuracy reaches that of recipe 1 (checked every 5 steps,
   checks included in the time), against (a) the scalar engine's whole 20-epoch run and (b) the time the scalar run
   takes to first reach that accuracy (its per-epoch evaluations excluded).

Tensor timings are the best of --repeats runs; the scalar run is done once (it takes seconds). Prints ratios.
"""
import argparse, math, random, sys, time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scratchgrad.mlp import ScalarMLP, binary_cross_entropy, accuracy_scalar  # noqa: E402
from scratchgrad.backprop import get_gradient                   # noqa: E402
from scratchgrad.variable import var_sum                        # noqa: E402
from scratchgrad.data import load_moons                         # noqa: E402
from scratchgrad.tensor import no_grad                          # noqa: E402
from scratchgrad.nn import MLP                                  # noqa: E402
from scratchgrad.optim import SGD, Adam                         # noqa: E402
from scratchgrad.losses import binary_cross_entropy_with_logits # noqa: E402
from scratchgrad.train import accuracy, format_table            # noqa: E402

EPOCHS, BATCH, LR, LR_END, SEED = 20, 32, 0.5, 0.02, 0


def linear_from_scalar(smodel):
    "The ScalarMLP's current weights in an MLP of float64 Linear layers."
    model = MLP(smodel.n_inputs, [len(l.neurons) for l in smodel.layers], dtype=np.float64)
    for lin, layer in zip(model.layers[::2], smodel.layers):
        lin.weight.array[...] = [[w.value for w in n.weights] for n in layer.neurons]
        lin.bias.array[...] = [n.bias.value for n in layer.neurons]
    return model


def scalar_run(X, y, Xte, yte):
    "Notebook 03's fit_scalar loop, evaluating test accuracy after each epoch (excluded from the time)."
    model = ScalarMLP(2, [8, 8, 1], seed=SEED)
    params, rng, order = model.parameters(), random.Random(SEED), list(range(len(X)))
    n_steps, step, elapsed, per_epoch = EPOCHS * math.ceil(len(X) / BATCH), 0, 0.0, []
    for _ in range(EPOCHS):
        t0 = time.perf_counter()
        rng.shuffle(order)
        for start in range(0, len(order), BATCH):
            batch = order[start:start + BATCH]
            loss = var_sum(*[binary_cross_entropy(model(X[i])[0], y[i]) for i in batch]) * (1.0 / len(batch))
            grads = get_gradient(loss)
            lr = LR + (LR_END - LR) * step / max(1, n_steps - 1); step += 1
            for p in params: p.value -= lr * grads.get(p, 0.0)
        elapsed += time.perf_counter() - t0
        per_epoch.append((elapsed, accuracy_scalar(model, Xte, yte)))
    return model, per_epoch


def tensor_03(init, X, y):
    model = linear_from_scalar(init)
    rng, order = random.Random(SEED), list(range(len(X)))
    n_steps, step = EPOCHS * math.ceil(len(X) / BATCH), 0
    opt = SGD(model.parameters(), lr=LR)
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad()
            binary_cross_entropy_with_logits(model(X[idx]), y[idx]).backward()
            opt.lr = LR + (LR_END - LR) * step / max(1, n_steps - 1); step += 1
            opt.step()
    return model


def tensor_adam_until(init, d, target, lr=0.05, check_every=5, max_steps=5000):
    model = linear_from_scalar(init)
    opt = Adam(model.parameters(), lr=lr)
    for step in range(1, max_steps + 1):
        opt.zero_grad()
        binary_cross_entropy_with_logits(model(d.X_train), d.y_train).backward()
        opt.step()
        if step % check_every == 0:
            with no_grad(): acc = accuracy(model(d.X_test), d.y_test)
            if acc >= target: return model, step, acc
    raise RuntimeError(f'full-batch Adam did not reach {target} in {max_steps} steps')


def best_of(fn, repeats):
    best, out = float('inf'), None
    for _ in range(repeats):
        t0 = time.perf_counter(); out = fn(); best = min(best, time.perf_counter() - t0)
    return best, out


def main(repeats):
    d = load_moons()
    Xl, yl, Xtel, ytel = d.X_train.tolist(), d.y_train.tolist(), d.X_test.tolist(), d.y_test.tolist()
    init = ScalarMLP(2, [8, 8, 1], seed=SEED)

    smodel, per_epoch = scalar_run(Xl, yl, Xtel, ytel)
    scalar_total, acc_scalar = per_epoch[-1]
    t_03, tmodel = best_of(lambda: tensor_03(init, d.X_train, d.y_train), repeats)
    for a, b in zip(tmodel.parameters(), linear_from_scalar(smodel).parameters()):
        np.testing.assert_allclose(a.array, b.array, rtol=1e-8, atol=1e-10)
    acc_03 = accuracy(tmodel(d.X_test), d.y_test)
    assert acc_03 == acc_scalar, (acc_03, acc_scalar)

    t_fast, (_, steps, acc_fast) = best_of(lambda: tensor_adam_until(init, d, acc_scalar), repeats)
    t_first = next(t for t, acc in per_epoch if acc >= acc_scalar)
    epoch_first = next(i + 1 for i, (_, acc) in enumerate(per_epoch) if acc >= acc_scalar)

    print(f'scalar engine, notebook 03 recipe: {scalar_total:.2f} s for {EPOCHS} epochs, test accuracy {acc_scalar:.3f} '
          f'(first reached after epoch {epoch_first}, {t_first:.2f} s)')
    print(f'Tensor engine, same recipe: {t_03 * 1e3:.1f} ms, same final weights (rtol 1e-8), accuracy {acc_03:.3f}')
    print(f'Tensor engine, full-batch Adam: {t_fast * 1e3:.1f} ms, {steps} steps, accuracy {acc_fast:.3f}')
    rows = [{'comparison': 'same recipe (batch 32), per epoch', 'speed-up': f'{scalar_total / t_03:.1f}x'},
            {'comparison': "to the same test accuracy, vs 03's full 20-epoch run", 'speed-up': f'{scalar_total / t_fast:.1f}x'},
            {'comparison': 'to the same test accuracy, vs the scalar run first reaching it', 'speed-up': f'{t_first / t_fast:.1f}x'}]
    print(format_table(rows))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=3)
    main(ap.parse_args().repeats)
