"""`pipeline`: can the input pipeline feed the model? Images/s of the pipeline alone against resnet20's step rate.

Three ways to produce augmented training batches (the standard policy: flip + pad-and-crop), on Fashion-MNIST
(28x28x1, real data) and on 32x32x3 images (synthetic, CIFAR-10's shape):
  batched     keras_course.data.make_pipeline: cache -> shuffle -> batch -> augment the whole batch -> prefetch
  per_example the same augmentation mapped over single images before batching (the common tf.data recipe)
  numpy       a plain Python generator doing flip + pad-and-crop in numpy, batch by batch
JSON: {"goal_ratio": 5, "datasets": {NAME: {"train_img_per_s": ..., "pipelines": {KIND: {"img_per_s": ...,
       "ratio_to_training": ...}}}}, "peak_rss_mb": ..., "machine": {...}}
"""

import time

import numpy as np

from bench import common, steps

GOAL_RATIO = 5.0
POLICY = "standard"


def _images_per_second(batches, n_batches, batch_size):
    iterator = iter(batches)
    next(iterator)  # first batch: tracing, cache fill
    start = time.perf_counter()
    seen = 0
    for _ in range(n_batches):
        x, _ = next(iterator)
        seen += len(x)
    return seen / (time.perf_counter() - start)


def _per_example(dataset, batch_size, image_shape, seed=0):
    import tensorflow as tf

    from keras_course.data import augment

    layers = augment.resolve_policy(POLICY, image_shape)

    def one(index, example):
        x, y = example
        example_seed = tf.stack([tf.constant(seed, tf.int32), tf.cast(index, tf.int32)])
        return augment.apply(layers, x[None], example_seed)[0], y

    return (dataset.cache().shuffle(10_000, seed=seed).enumerate().map(one, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size).prefetch(tf.data.AUTOTUNE).repeat())


def _numpy_batches(x, y, batch_size, pad=4, seed=0):
    rng = np.random.default_rng(seed)
    height, width = x.shape[1:3]
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x) - batch_size + 1, batch_size):
            index = order[start:start + batch_size]
            images = x[index].astype(np.float32)
            flip = rng.random(len(images)) < 0.5
            images[flip] = images[flip, :, ::-1]
            padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
            dy, dx = rng.integers(0, 2 * pad + 1, (2, len(images)))
            images = np.stack([p[a:a + height, b:b + width] for p, a, b in zip(padded, dy, dx)])
            yield images, y[index]


def _datasets(quick):
    import tensorflow as tf

    from keras_course import data

    train, _, _, _ = data.load("fashion_mnist", limit=2000 if quick else None)
    x, y = data.to_numpy(train)
    yield "fashion_mnist", train, x, y
    rng = np.random.default_rng(0)
    n = 2000 if quick else 50_000
    x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, n)
    yield "synthetic_32x32x3", tf.data.Dataset.from_tensor_slices((x, y)), x, y


def run(quick=False, batch_size=128):
    from keras_course import data

    common.pin_tensorflow_threads()
    n_batches = 10 if quick else 100
    result = {"goal_ratio": GOAL_RATIO, "policy": POLICY, "batch_size": batch_size, "quick": quick,
              "machine": common.machine(), "datasets": {}}
    for name, dataset, x, y in _datasets(quick):
        shape = tuple(x.shape[1:])
        model = steps.compiled("resnet20", shape)
        train_rate = steps.train_rate(model, shape, batch_size=batch_size, steps=3 if quick else 20,
                                      repeats=1 if quick else 3)
        pipelines = {
            "batched": data.make_pipeline(dataset, batch_size=batch_size, training=True, augment=POLICY).repeat(),
            "per_example": _per_example(dataset, batch_size, shape),
            "numpy": _numpy_batches(x, y, batch_size),
        }
        rows = {}
        for kind, batches in pipelines.items():
            rate = _images_per_second(batches, n_batches, batch_size)
            rows[kind] = {"img_per_s": round(rate, 1), "ratio_to_training": round(rate / train_rate, 2)}
        result["datasets"][name] = {"train_img_per_s": round(train_rate, 1), "pipelines": rows}
    result["peak_rss_mb"] = common.peak_rss_mb()
    return result


def show(result):
    print(f"policy {result['policy']!r}, batch {result['batch_size']}; goal: pipeline >= "
          f"{result['goal_ratio']:g}x resnet20's training rate")
    for name, row in result["datasets"].items():
        print(f"{name}: resnet20 trains at {row['train_img_per_s']:.0f} img/s")
        for kind, p in row["pipelines"].items():
            print(f"  {kind:<12} {p['img_per_s']:>10.0f} img/s  {p['ratio_to_training']:>6.1f}x")
