"""The two-layer softmax network of CMU's Deep Learning Systems course (10-414/714), trained on MNIST with scratchgrad.

    python examples/mnist_softmax.py ~/data/mnist [--epochs 20] [--lr 0.2]

The folder holds the four standard MNIST files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]); nothing is downloaded. The network is
logits = ReLU(X W1) W2 without biases, weights N(0, 1)/sqrt(fan_out), trained with plain SGD on batches of 100 taken in
order, with the settings of the course's homework 0 example run (hidden 100, 20 epochs, learning rate 0.2); one table row
per epoch. Chapter 05e of the book runs the same experiment on scikit-learn's digits (with learning rate 0.1).
"""
import argparse

import numpy as np

from scratchgrad.data import DataLoader, Split, load_mnist
from scratchgrad.losses import cross_entropy
from scratchgrad.nn import Linear, ReLU, Sequential
from scratchgrad.optim import SGD
from scratchgrad.tensor import Tensor
from scratchgrad.train import History, fit

TABLE_COLUMNS = ['epoch', 'train_loss', 'train_err', 'test_loss', 'test_err']


def two_layer_softmax_model(n_inputs: int, hidden: int = 100, n_classes: int = 10, seed: int = 0) -> Sequential:
    "Linear(no bias) -> ReLU -> Linear(no bias), weights N(0,1)/sqrt(fan_out) drawn from `seed`."
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(n_inputs, hidden, bias=False), ReLU(), Linear(hidden, n_classes, bias=False))
    model[0].weight = Tensor((rng.standard_normal((hidden, n_inputs)) / np.sqrt(hidden)).astype(np.float32), name='weight')
    model[2].weight = Tensor((rng.standard_normal((n_classes, hidden)) / np.sqrt(n_classes)).astype(np.float32), name='weight')
    return model


def softmax_experiment(data: Split, epochs: int = 20, lr: float = 0.1, batch_size: int = 100, hidden: int = 100,
                       seed: int = 0, progress: bool = False, print_table: bool = True) -> History:
    "Train the two-layer network on `data` with softmax loss and plain SGD, batches in order; returns the History."
    n_classes = int(max(data.y_train.max(), data.y_test.max())) + 1
    model = two_layer_softmax_model(data.X_train.shape[1], hidden, n_classes, seed=seed)
    return fit(model, SGD(model.parameters(), lr=lr), cross_entropy,
               DataLoader(data.X_train, data.y_train, batch_size=batch_size, shuffle=False), epochs=epochs,
               eval_data={'train': (data.X_train, data.y_train), 'test': (data.X_test, data.y_test)},
               progress=progress, print_table=print_table)


def main(argv=None) -> History:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('folder', help='the folder holding the four MNIST files')
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--lr', type=float, default=0.2, help="SGD's learning rate (default 0.2, as the course's run)")
    a = ap.parse_args(argv)
    return softmax_experiment(load_mnist(a.folder), epochs=a.epochs, lr=a.lr)


if __name__ == '__main__': main()
