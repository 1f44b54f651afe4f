"""scratchgrad for a pip user: train a digits classifier, save it, load it back, and take a derivative."""
import numpy as np
from scratchgrad import Tensor, nn, optim, losses, grad, fit, save, load
from scratchgrad.data import DataLoader, load_digits        # the digits ship with scikit-learn

def make_model(): return nn.Sequential(nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))

data = load_digits()                                        # 8x8 images, 1,442 for training and 355 for testing
model = make_model()
opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
batches = DataLoader(data.X_train, data.y_train, batch_size=100, shuffle=True)
history = fit(model, opt, losses.cross_entropy, batches, epochs=10, eval_data={'test': (data.X_test, data.y_test)})
print(f"test error after 10 epochs: {history.final['test_err']:.2%}")

path = save(model, 'digits.npz')                            # atomic: an old digits.npz survives any failure
clone = load(make_model(), path)
x = Tensor(data.X_test[:5])
assert np.array_equal(clone(x).array, model(x).array)       # the same weights, bit for bit

dtanh = grad(np.tanh)                                       # grad of any numpy function, here tanh' = 1 - tanh^2
print(f"tanh'(0.5) = {dtanh(0.5):.6f}, 1 - tanh(0.5)^2 = {1 - np.tanh(0.5) ** 2:.6f}")
