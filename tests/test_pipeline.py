import numpy as np
import pytest
import tensorflow as tf

from keras_course import data


def _images(n=40, shape=(12, 12, 1)):
    x = np.random.default_rng(0).integers(0, 256, size=(n, *shape)).astype("uint8")
    return tf.data.Dataset.from_tensor_slices((x, np.arange(n, dtype="int32")))


def _epoch(ds, clock, epoch):
    clock.set(epoch)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_each_epoch_is_a_new_permutation_of_every_example():
    clock = data.EpochClock()
    ds = data.make_pipeline(_images(), batch_size=8, training=True, seed=1, clock=clock)
    _, y0 = _epoch(ds, clock, 0)
    _, y1 = _epoch(ds, clock, 1)
    assert sorted(y0) == sorted(y1) == list(range(40))
    assert list(y0) != list(y1)


def test_same_epoch_same_batches_even_in_a_new_pipeline():
    def run(epoch):
        clock = data.EpochClock()
        ds = data.make_pipeline(_images(), batch_size=8, training=True, augment="strong", seed=4, clock=clock)
        return _epoch(ds, clock, epoch)

    x_a, y_a = run(3)
    x_b, y_b = run(3)
    np.testing.assert_array_equal(y_a, y_b)
    np.testing.assert_array_equal(x_a, x_b)


def test_augmentation_differs_between_epochs_so_nothing_is_cached_after_it():
    clock = data.EpochClock()
    ds = data.make_pipeline(_images(), batch_size=40, training=True, augment=["translate:0.3"], seed=0, clock=clock)
    x0, y0 = _epoch(ds, clock, 0)
    x1, y1 = _epoch(ds, clock, 1)
    x0, x1 = x0[np.argsort(y0)], x1[np.argsort(y1)]
    assert not np.allclose(x0, x1)


def test_source_is_read_once_cache_comes_before_shuffle():
    calls = tf.Variable(0)

    def count(x, y):
        calls.assign_add(1)
        return x, y

    clock = data.EpochClock()
    ds = data.make_pipeline(_images().map(count), batch_size=8, training=True, augment="light", clock=clock)
    for epoch in range(3):
        _epoch(ds, clock, epoch)
    assert int(calls.numpy()) == 40


def test_arrays_are_not_copied_into_a_cache_other_sources_are():
    def has_cache(ds):
        return b"CacheDataset" in ds._as_serialized_graph().numpy()

    in_memory = _images()
    for source in (in_memory, in_memory.concatenate(in_memory), in_memory.take(10)):
        assert not has_cache(data.make_pipeline(source, batch_size=8, training=True))
    assert has_cache(data.make_pipeline(in_memory.map(lambda x, y: (x, y)), batch_size=8, training=True))
    assert not has_cache(data.make_pipeline(in_memory.map(lambda x, y: (x, y)), batch_size=8, cache=False))


def test_clock_advances_by_itself_without_the_callback():
    ds = data.make_pipeline(_images(), batch_size=40, training=True, seed=0)
    first = next(iter(ds))[1].numpy()
    second = next(iter(ds))[1].numpy()
    assert list(first) != list(second)


def test_evaluation_pipeline_keeps_order_and_raw_values():
    x = np.arange(10 * 4, dtype="uint8").reshape(10, 2, 2, 1)
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(10)))
    batches = list(data.make_pipeline(ds, batch_size=4, augment="strong"))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x)


def test_cardinality_is_known_for_progress_bars():
    ds = data.make_pipeline(_images(n=41), batch_size=8, training=True)
    assert int(ds.cardinality()) == 6


@pytest.mark.parametrize("training", [True, False])
def test_pipelines_run_without_the_autotuner_whose_thread_stalls_iterator_teardown(training):
    # bench/results/time_to_accuracy_cpu2.json: 7 s stalls before half the epochs with it on (see without_autotune)
    ds = data.make_pipeline(_images(), batch_size=8, training=training, augment="standard")
    assert ds.options().autotune.enabled is False
    assert sum(len(y) for _, y in ds) == 40


# Every policy and step, seeded, per image and within range: tests/test_augment.py.


def test_unknown_policy_suggests_the_closest():
    with pytest.raises(ValueError, match="Did you mean 'strong'"):
        data.resolve_policy("strog")


def test_unknown_step_and_bad_strength():
    with pytest.raises(ValueError, match="augmentation step"):
        data.resolve_policy(["flipp"])
    with pytest.raises(ValueError, match="rotate:abc"):
        data.resolve_policy(["rotate:abc"])


def test_augmenting_non_images_is_refused():
    tabular = tf.data.Dataset.from_tensor_slices((np.zeros((8, 2), "float32"), np.zeros(8, "int32")))
    with pytest.raises(ValueError, match="augment"):
        data.make_pipeline(tabular, batch_size=4, training=True, augment="light")


def test_strength_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        data.resolve_policy(["crop:1.5"])


def test_custom_list_accepts_keras_layers():
    import keras

    ds = data.make_pipeline(_images(shape=(16, 16, 3)), batch_size=8, training=True,
                            augment=[keras.layers.RandomFlip("vertical"), "rotate:0.2"])
    x, _ = next(iter(ds))
    assert x.shape == (8, 16, 16, 3)
    with pytest.raises(ValueError, match="Keras image preprocessing layer"):
        data.resolve_policy([keras.layers.Dense(3)])
