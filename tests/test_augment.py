"""Augmentation steps and policies: each seeded (same seed, epoch and batch: same images), different across epochs
and across the images of a batch; MixUp and CutMix labels; the resized crop's geometry; the soft-label loss and
accuracy; `keras-course augment`; each bad input."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_course import data, training
from keras_course.cli.main import main
from keras_course.data import augment, augment_ops, label_mixing

GRAY, RGB = (20, 20, 1), (20, 20, 3)


def _batch(shape, n=8, same=False):
    """Random images (or n copies of one, to show what differs per image), float32 in [0, 255]."""
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(1 if same else n, *shape)).astype("float32")
    return tf.constant(np.repeat(images, n, axis=0) if same else images)


def _run(steps, images, seed, labels=None, num_classes=None):
    out = augment.apply(steps, images, tf.constant(seed), labels=labels, num_classes=num_classes)
    return out[0].numpy() if isinstance(out, tuple) else out.numpy()


def _shape_for(name):
    return RGB if augment.STEPS[name].rgb else GRAY


# Steps whose output is the same for every image by design: a fixed threshold.
UNIFORM_BY_DESIGN = {"solarize"}


@pytest.mark.parametrize("name", sorted(augment.STEPS))
def test_every_step_is_a_pure_function_of_the_seed_and_varies_by_epoch_and_image(name):
    shape = _shape_for(name)
    steps = augment.resolve_policy([name], shape)
    mixing = dict(labels=tf.constant(np.arange(8) % 4), num_classes=4) if augment.STEPS[name].mixes_labels else {}
    images = _batch(shape)
    first = _run(steps, images, [3, 7], **mixing)
    np.testing.assert_array_equal(first, _run(augment.resolve_policy([name], shape), images, [3, 7], **mixing))
    assert first.shape == images.shape and first.dtype == np.float32
    if name in UNIFORM_BY_DESIGN:
        assert not np.array_equal(first, images.numpy())
        return
    assert not np.array_equal(first, _run(steps, images, [3, 8], **mixing)), "another epoch or batch, other images"
    if not mixing:  # copies of one image come out different: the randomness is per image
        same = _run(steps, _batch(shape, same=True), [3, 7])
        assert any(not np.array_equal(same[0], same[i]) for i in range(1, 8))


@pytest.mark.parametrize("policy", [*sorted(augment.POLICIES), ["flip", "rotate:0.1", "zoom", "contrast:0.3"]],
                         ids=[*sorted(augment.POLICIES), "steps"])
def test_every_policy_through_the_pipeline_repeats_an_epoch_exactly_and_changes_with_the_next(policy):
    x = np.random.default_rng(1).integers(0, 256, size=(24, *RGB)).astype("uint8")
    dataset = tf.data.Dataset.from_tensor_slices((x, np.arange(24, dtype="int32") % 5))
    clock = data.EpochClock()
    pipe = data.make_pipeline(dataset, batch_size=8, training=True, augment=policy, seed=2, clock=clock,
                              num_classes=5)

    def epoch(number):  # one pipeline (tracing AugMix's graph takes seconds); test_pipeline checks a new one agrees
        clock.set(number)
        xs, ys = zip(*[(a.numpy(), b.numpy()) for a, b in pipe])
        return np.concatenate(xs), np.concatenate(ys)

    x1, y1 = epoch(1)
    x2, _ = epoch(2)
    x1_again, y1_again = epoch(1)
    np.testing.assert_array_equal(x1, x1_again)
    np.testing.assert_array_equal(y1, y1_again)
    assert x1.shape == (24, *RGB) and x1.min() >= 0 and x1.max() <= 255.5
    if policy != "none":
        assert not np.array_equal(x1, x2)
    if data.mixes_labels(policy, RGB):
        assert y1.shape == (24, 5) and np.allclose(y1.sum(axis=1), 1, atol=1e-6)
    else:
        assert y1.shape == (24,)


def _constant_images(n, shape):
    """Image i filled with the value 10 * (i + 1): a mixed pixel tells which images it came from."""
    return tf.constant(np.stack([np.full(shape, 10.0 * (i + 1), "float32") for i in range(n)]))


def test_mixup_labels_sum_to_one_and_equal_the_pixel_blend():
    n = 16
    images, labels = _constant_images(n, GRAY), tf.range(n)
    mixed, soft = label_mixing.MixUp(0.4).mix(images, labels, tf.constant([0, 5]), n)
    mixed, soft = mixed.numpy(), soft.numpy()
    np.testing.assert_allclose(soft.sum(axis=1), 1, atol=1e-6)
    for i in range(n):
        own = soft[i, i]
        partner = int(np.argmax(np.where(np.arange(n) == i, -1, soft[i]))) if own < 1 - 1e-6 else i
        expected = own * 10 * (i + 1) + (1 - own) * 10 * (partner + 1)
        np.testing.assert_allclose(mixed[i], expected, rtol=1e-5)
    assert len({round(float(soft[i, i]), 4) for i in range(n)}) > 1, "lambda is drawn per image"


def test_cutmix_label_weight_is_the_fraction_of_pixels_pasted_on_the_grid():
    n, shape = 16, (13, 11, 1)  # odd sizes: a box rounded on the grid differs from the float box
    images, labels = _constant_images(n, shape), tf.range(n)
    for seed in range(5):
        mixed, soft = label_mixing.CutMix(1.0).mix(images, labels, tf.constant([seed, 1]), n)
        mixed, soft = mixed.numpy(), soft.numpy()
        np.testing.assert_allclose(soft.sum(axis=1), 1, atol=1e-6)
        for i in range(n):
            own_pixels = np.mean(mixed[i] == 10 * (i + 1))
            assert abs(soft[i, i] - own_pixels) < 1e-6 or soft[i, i] == 1.0
            pasted = np.unique(mixed[i][mixed[i] != 10 * (i + 1)])
            assert len(pasted) <= 1, "one partner per image"
            if len(pasted):
                partner = int(pasted[0] / 10) - 1
                np.testing.assert_allclose(soft[i, partner], 1 - own_pixels, atol=1e-6)


def test_mixing_steps_compose_on_soft_labels():
    steps = augment.resolve_policy(["mixup", "cutmix"], GRAY)
    images, soft = augment.apply(steps, _batch(GRAY), tf.constant([1, 1]), labels=tf.constant(np.arange(8) % 3),
                                 num_classes=3)
    assert soft.shape == (8, 3)
    np.testing.assert_allclose(soft.numpy().sum(axis=1), 1, atol=1e-6)


def test_a_resized_crop_of_the_whole_image_is_the_image_and_a_smaller_one_zooms_in():
    images = _batch(GRAY)
    whole = augment_ops.RandomResizedCrop(20, 20, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    np.testing.assert_allclose(whole.augment(images, tf.constant([0, 1])).numpy(), images.numpy(), atol=1e-3)
    # a horizontal ramp: a crop of a quarter of the area spans about half of the ramp's range
    ramp = tf.constant(np.tile(np.linspace(0, 255, 20, dtype="float32")[None, None, :, None], (8, 20, 1, 1)))
    quarter = augment_ops.RandomResizedCrop(20, 20, scale=(0.25, 0.25), ratio=(1.0, 1.0))
    quarter = quarter.augment(ramp, tf.constant([0, 2]))
    spans = quarter.numpy()[:, 0, -1, 0] - quarter.numpy()[:, 0, 0, 0]
    np.testing.assert_allclose(spans, 255 * 9.5 / 19, atol=1.5)


def test_randaugment_and_augmix_choose_per_image_and_keep_grayscale_gray():
    ops = augment_ops.randaugment_ops(0.5, channels=1)
    assert "color" not in ops and "color" in augment_ops.randaugment_ops(0.5, channels=3)
    same = _batch(GRAY, n=16, same=True)
    for step in (augment_ops.RandAugment(0.5, channels=1), augment_ops.AugMix()):
        out = step.augment(same, tf.constant([4, 4])).numpy()
        assert out.shape == same.shape
        distinct = {out[i].tobytes() for i in range(16)}
        assert len(distinct) > 8, f"{type(step).__name__}: one choice for the whole batch"


def test_the_soft_label_loss_and_accuracy_read_soft_rows_and_class_indices_alike():
    loss, metrics = training.loss_and_metrics("multiclass", 3, label_smoothing=0.1, soft_labels=True)
    probabilities = tf.constant([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    rows = tf.constant([[0.6, 0.4, 0.0], [0.0, 0.0, 1.0]])
    smoothed = rows.numpy() * 0.9 + 0.1 / 3
    by_hand = -np.mean(np.sum(smoothed * np.log(probabilities.numpy()), axis=1))
    np.testing.assert_allclose(float(loss(rows, probabilities)), by_hand, rtol=1e-5)
    indices = tf.constant([0, 2])
    np.testing.assert_allclose(float(loss(indices, probabilities)), float(loss(tf.one_hot(indices, 3), probabilities)),
                               rtol=1e-6)
    accuracy = metrics[0]
    accuracy.update_state(rows, tf.constant([[0.2, 0.7, 0.1], [0.1, 0.3, 0.6]]))
    accuracy.update_state(indices, probabilities)
    assert float(accuracy.result()) == pytest.approx(0.75)


def test_a_run_with_label_mixing_trains_evaluates_on_class_indices_and_reloads(tmp_path):
    from keras_course import experiments

    config = experiments.RunConfig(model="cnn4_bn", model_options={"width": 0.25}, dataset="fashion_mnist", limit=256,
                                   epochs=1, batch_size=64, augment="cutmix", val_fraction=0.25, label_smoothing=0.1)
    metrics = experiments.train(config, tmp_path / "run", verbose=0)
    assert 0 <= metrics["test_accuracy"] <= 1 and "confusion_matrix" in metrics
    model = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert isinstance(model.loss, training.compile.SparseCategoricalCrossentropyWithSmoothing)


def test_augment_writes_a_grid_of_originals_and_views(tmp_path, capsys):
    out = tmp_path / "grids" / "cutmix.png"
    assert main(["augment", "--dataset", "fashion_mnist", "--augment", "cutmix", "--n", "6", "--views", "2",
                 "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000
    assert "6 images of fashion_mnist" in capsys.readouterr().out
    image = keras.utils.load_img(out)
    assert image.size[0] > image.size[1], "six columns, three rows"


@pytest.mark.parametrize("arguments,message", [
    (["--augment", "color_jitter"], "'color_jitter' changes colours and needs RGB images"),
    (["--augment", "grayscale,flip"], "'grayscale' changes colours"),
    (["--augment", "randaugmnt"], "Did you mean 'randaugment'?"),
    (["--augment", "blur@1.5"], "probability"),
    (["--augment", "rotate:2"], "'rotate' takes a fraction in (0, 1)"),
    (["--augment", "mixup:0"], "'mixup' takes a alpha in (0, 10]"),
    (["--augment", "flip", "--n", "0"], "--n must be between 1 and 64"),
    (["--augment", "flip", "--views", "9"], "--views must be between 1 and 8"),
    (["--augment", "flip", "--out", "grid.jpg"], "ending in .png"),
])
def test_augment_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path, capsys, arguments, message):
    out = tmp_path / "grid.png"
    arguments = [a if a != "grid.jpg" else str(tmp_path / "grid.jpg") for a in arguments]
    full = ["augment", "--dataset", "fashion_mnist", *arguments]
    if "--out" not in arguments:
        full += ["--out", str(out)]
    assert main(full) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not os.listdir(tmp_path)


def test_a_non_image_dataset_and_a_missing_class_count_are_refused():
    assert main(["augment", "--dataset", "sine", "--augment", "flip", "--out", "never.png"]) == 2
    assert not os.path.exists("never.png")
    x = np.zeros((8, *GRAY), "uint8")
    with pytest.raises(ValueError, match="num_classes"):
        data.make_pipeline(tf.data.Dataset.from_tensor_slices((x, np.zeros(8, "int32"))), batch_size=4, training=True,
                           augment="mixup")
    with pytest.raises(ValueError, match="multiclass"):
        training.loss_and_metrics("binary", 1, soft_labels=True)
