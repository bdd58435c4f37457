import gzip
import os
import time

import numpy as np
import pytest

from keras_course import data
from keras_course.data import mnist_like

ARRAY_SETS = ["sine", "and", "or", "xor", "moons", "circles", "spirals", "blobs", "x_vs_o", "digits"]


@pytest.mark.parametrize("name", ARRAY_SETS)
def test_generated_datasets_have_consistent_shapes_and_types(name):
    train, val, test, info = data.load(name)
    assert info.task in data.TASKS
    for split, ds in (("train", train), ("val", val), ("test", test)):
        x, y = data.to_numpy(ds)
        assert x.shape[1:] == info.input_shape
        assert len(x) == len(y) == info.sizes[split] > 0
        if info.task == "regression":
            assert y.dtype == np.float32 and y.shape[1:] == (info.num_classes,)
        else:
            assert y.dtype == np.int32 and set(np.unique(y)) <= set(range(info.num_classes))
            assert len(info.class_names) == info.num_classes
    if info.is_image:
        assert x.dtype == np.uint8 and info.value_range == (0, 255)


def test_validation_split_depends_on_seed_only():
    a = data.to_numpy(data.load("moons", seed=1)[1])[0]
    b = data.to_numpy(data.load("moons", seed=1)[1])[0]
    c = data.to_numpy(data.load("moons", seed=2)[1])[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    train = data.to_numpy(data.load("moons", seed=1)[0])[0]
    overlap = {tuple(r) for r in train} & {tuple(r) for r in a}
    assert not overlap, "validation examples leak into training"


def test_test_split_is_independent_of_seed_and_fraction():
    t1 = data.to_numpy(data.load("spirals", seed=0)[2])[0]
    t2 = data.to_numpy(data.load("spirals", seed=5, val_fraction=0.3)[2])[0]
    np.testing.assert_array_equal(t1, t2)


def test_limit_keeps_at_most_limit_examples():
    train, val, test, info = data.load("digits", limit=100)
    assert info.sizes["train"] + info.sizes["val"] == 100 and info.sizes["test"] == 100


def test_fashion_mnist_loads_from_disk():
    train, val, test, info = data.load("fashion_mnist", limit=500)
    x, y = data.to_numpy(test)
    assert info.input_shape == (28, 28, 1) and info.num_classes == 10
    assert info.class_names[0] == "T-shirt/top" and x.dtype == np.uint8
    assert os.path.isdir(info.source) or "download" in info.source


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype("uint8").tobytes())


def test_idx_files_in_data_dir_are_read(tmp_path):
    rng = np.random.default_rng(0)
    for stem, shape in (("train-images-idx3-ubyte", (30, 28, 28)), ("train-labels-idx1-ubyte", (30,)),
                        ("t10k-images-idx3-ubyte", (10, 28, 28)), ("t10k-labels-idx1-ubyte", (10,))):
        _write_idx(tmp_path / f"{stem}.gz", rng.integers(0, 10, size=shape))
    train, val, test, info = data.load("mnist", data_dir=str(tmp_path))
    assert info.source == str(tmp_path) and info.sizes == {"train": 27, "val": 3, "test": 10}


def test_truncated_idx_file_is_reported(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + b"\x00" * 10)
    with pytest.raises(ValueError, match="truncated"):
        mnist_like.read_idx(str(path))


@pytest.fixture
def nothing_on_disk(monkeypatch, tmp_path):
    monkeypatch.setattr(mnist_like, "DEBIAN_DIRS", {"fashion_mnist": [], "mnist": []})
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("KERAS_COURSE_DATA", raising=False)


def test_missing_dataset_offline_fails_fast_with_the_fix(nothing_on_disk, monkeypatch):
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.load("fashion_mnist")
    assert time.perf_counter() - start < 1.0
    message = str(error.value)
    assert "\n" not in message and "apt-get install dataset-fashion-mnist" in message and "data_dir" in message


def test_failed_download_becomes_a_one_line_error(nothing_on_disk, monkeypatch):
    def unreachable(name):
        raise OSError("network is unreachable")

    monkeypatch.setattr(mnist_like, "_download", unreachable)
    with pytest.raises(data.DatasetNotFoundError, match="download failed: OSError"):
        data.load("fashion_mnist")


def test_cifar_missing_offline_names_the_fix(nothing_on_disk, monkeypatch):
    monkeypatch.setenv("KERAS_COURSE_OFFLINE", "1")
    with pytest.raises(data.DatasetNotFoundError, match="cifar10.load_data"):
        data.load("cifar10")


def test_unprepared_tfds_dataset_fails_at_once(tmp_path):
    start = time.perf_counter()
    with pytest.raises(data.DatasetNotFoundError, match="--prepare cats_vs_dogs"):
        data.load("cats_vs_dogs", data_dir=str(tmp_path))
    assert time.perf_counter() - start < 1.0


def test_image_folder_loads_resizes_and_splits(image_folder):
    train, val, test, info = data.load(f"image_folder:{image_folder}", image_size=(16, 16), val_fraction=0.25)
    assert info.class_names == ["bright", "dark"] and info.task == "binary"
    assert info.input_shape == (16, 16, 3)
    x, y = data.to_numpy(train)
    assert x.shape[1:] == (16, 16, 3) and x.dtype == np.uint8
    assert sum(info.sizes.values()) == 24
    xt, yt = data.to_numpy(test)
    # bright images stay bright after resizing: labels follow folders
    assert np.all(xt[yt == 0].mean(axis=(1, 2, 3)) > xt[yt == 1].mean(axis=(1, 2, 3)).max())


def test_image_folder_reports_corrupt_files_by_path(image_folder):
    bad = image_folder / "dark" / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match="broken.jpg"):
        data.load(f"image_folder:{image_folder}")


def test_image_folder_needs_two_classes(image_folder, tmp_path):
    one_class = tmp_path / "one"
    one_class.mkdir()
    (one_class / "dark").symlink_to(image_folder / "dark")
    with pytest.raises(ValueError, match="at least two"):
        data.load(f"image_folder:{one_class}")
    # a folder of images without class folders is unlabelled: it says what would label it
    with pytest.raises(ValueError, match="no class sub-folders.*one sub-folder per class"):
        data.load(f"image_folder:{image_folder / 'dark'}")


def test_image_folder_missing_path():
    with pytest.raises(data.DatasetNotFoundError, match="does not exist"):
        data.load("image_folder:/no/such/folder")


@pytest.mark.parametrize("kwargs, argument", [
    ({"name": "fashion-mnist"}, "fashion_mnist"),
    ({"name": "moons", "val_fraction": 1.5}, "val_fraction"),
    ({"name": "moons", "val_fraction": -0.1}, "val_fraction"),
    ({"name": "moons", "val_fraction": 1}, "val_fraction"),
    ({"name": "moons", "limit": 0}, "limit"),
])
def test_bad_arguments_are_named(kwargs, argument):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=argument):
        data.load(name, **kwargs)


def test_list_datasets_covers_the_registry():
    names = data.list_datasets()
    assert {"sine", "xor", "fashion_mnist", "cifar10", "cats_vs_dogs", "image_folder:PATH"} <= set(names)
