"""Small datasets generated on the spot, seeded so every machine sees the same data.

Each generator returns `(x_train, y_train, x_test, y_test, meta)`; `meta` holds the task, class names and extras
that `DatasetInfo` records. Generation uses a fixed seed per dataset, so "moons" is always the same moons; the
`seed` given to `data.load` only chooses the validation split.
"""

import numpy as np
from sklearn import datasets as sk_datasets

TRAIN_SIZE = 1000
TEST_SIZE = 500


def _rng(salt):
    return np.random.default_rng(20260000 + salt)


def sine(noise_std=0.1):
    """y = sin(x) + N(0, noise_std²) for x uniform on [-2π, 2π]: regression (lab T1)."""

    def draw(n, rng):
        x = rng.uniform(-2 * np.pi, 2 * np.pi, size=(n, 1)).astype("float32")
        y = (np.sin(x) + rng.normal(0.0, noise_std, size=x.shape)).astype("float32")
        return x, y

    rng = _rng(1)
    x_train, y_train = draw(TRAIN_SIZE, rng)
    x_test, y_test = draw(TEST_SIZE, rng)
    meta = dict(task="regression", class_names=[], extras={"noise_std": noise_std, "truth": "sin(x)"})
    return x_train, y_train, x_test, y_test, meta


GATES = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}


def logic_gate(gate, noise_std=0.1):
    """Noisy copies of the four corners of the unit square, labelled by the clean corner's truth value."""

    def draw(n, rng):
        corners = rng.integers(0, 2, size=(n, 2))
        x = (corners + rng.normal(0.0, noise_std, size=corners.shape)).astype("float32")
        y = GATES[gate](corners[:, 0], corners[:, 1]).astype("int32")
        return x, y

    rng = _rng(2 + list(GATES).index(gate))
    x_train, y_train = draw(TRAIN_SIZE // 2, rng)
    x_test, y_test = draw(TEST_SIZE // 5, rng)
    meta = dict(task="binary", class_names=["false", "true"], extras={"gate": gate, "noise_std": noise_std})
    return x_train, y_train, x_test, y_test, meta


def _two_class_2d(make, salt, **kwargs):
    x, y = make(n_samples=TRAIN_SIZE + TEST_SIZE, random_state=20260000 + salt, **kwargs)
    x, y = x.astype("float32"), y.astype("int32")
    meta = dict(task="binary", class_names=["class 0", "class 1"], extras=kwargs)
    return x[:TRAIN_SIZE], y[:TRAIN_SIZE], x[TRAIN_SIZE:], y[TRAIN_SIZE:], meta


def moons():
    """Two interleaving half circles (scikit-learn's make_moons), binary (lab T2)."""
    return _two_class_2d(sk_datasets.make_moons, 10, noise=0.15)


def circles():
    """A circle inside a ring (scikit-learn's make_circles), binary (lab T2)."""
    return _two_class_2d(sk_datasets.make_circles, 11, noise=0.08, factor=0.5)


def spirals(num_classes=3, noise_std=0.2):
    """K interleaved spiral arms in 2-D, one class per arm (lab T3): linear models fail, an MLP succeeds."""

    def draw(n, rng):
        y = rng.integers(0, num_classes, size=n)
        radius = rng.uniform(0.05, 1.0, size=n)
        angle = y * (2 * np.pi / num_classes) + radius * 4.0 + rng.normal(0.0, noise_std, size=n)
        x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1).astype("float32")
        return x, y.astype("int32")

    rng = _rng(20)
    x_train, y_train = draw(TRAIN_SIZE, rng)
    x_test, y_test = draw(TEST_SIZE, rng)
    meta = dict(task="multiclass", class_names=[f"arm {k}" for k in range(num_classes)], extras={"noise_std": noise_std})
    return x_train, y_train, x_test, y_test, meta


def blobs(num_classes=4):
    """Gaussian blobs in 2-D (scikit-learn's make_blobs), multiclass."""
    x, y = sk_datasets.make_blobs(
        n_samples=TRAIN_SIZE + TEST_SIZE, centers=num_classes, cluster_std=1.0, random_state=20260030
    )
    x, y = x.astype("float32"), y.astype("int32")
    meta = dict(task="multiclass", class_names=[f"blob {k}" for k in range(num_classes)], extras={})
    return x[:TRAIN_SIZE], y[:TRAIN_SIZE], x[TRAIN_SIZE:], y[TRAIN_SIZE:], meta


X_VS_O_SIZE = 16


def _draw_x_or_o(is_o, rng, size=X_VS_O_SIZE):
    """One size×size uint8 image of an X or an O with a random shift, scale, thickness and noise."""
    rows, cols = np.mgrid[0:size, 0:size].astype("float32")
    centre = (size - 1) / 2 + rng.uniform(-2.0, 2.0, size=2)
    half = rng.uniform(0.28, 0.42) * size
    thickness = rng.uniform(0.6, 1.4)
    dr, dc = rows - centre[0], cols - centre[1]
    if is_o:
        distance = np.abs(np.hypot(dr, dc) - half)
    else:
        inside = (np.abs(dr) <= half) & (np.abs(dc) <= half)
        distance = np.where(inside, np.minimum(np.abs(dr - dc), np.abs(dr + dc)) / np.sqrt(2), np.inf)
    ink = np.clip(1.5 - distance / thickness, 0.0, 1.0)
    image = ink + rng.normal(0.0, 0.08, size=ink.shape)
    return (np.clip(image, 0.0, 1.0) * 255).astype("uint8")[..., None]


def x_vs_o():
    """16×16 grayscale images of X and O, shifted, scaled, with varied stroke and noise (workshop example)."""

    def draw(n, rng):
        y = rng.integers(0, 2, size=n).astype("int32")
        x = np.stack([_draw_x_or_o(bool(label), rng) for label in y])
        return x, y

    rng = _rng(40)
    x_train, y_train = draw(TRAIN_SIZE, rng)
    x_test, y_test = draw(TEST_SIZE, rng)
    meta = dict(task="binary", class_names=["X", "O"], extras={}, value_range=(0, 255))
    return x_train, y_train, x_test, y_test, meta


def digits():
    """scikit-learn's embedded 8×8 handwritten digits, scaled from 0–16 to 0–255 uint8."""
    bunch = sk_datasets.load_digits()
    x = np.round(bunch.images * (255.0 / 16.0)).astype("uint8")[..., None]
    y = bunch.target.astype("int32")
    order = _rng(50).permutation(len(y))
    x, y = x[order], y[order]
    n_test = len(y) // 5
    meta = dict(task="multiclass", class_names=[str(d) for d in range(10)], extras={}, value_range=(0, 255),
                source="scikit-learn load_digits (embedded)")
    return x[n_test:], y[n_test:], x[:n_test], y[:n_test], meta
