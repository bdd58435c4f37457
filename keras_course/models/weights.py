"""Loading weights into zoo models: a local file, or keras.applications' ImageNet files (cache first, offline)."""

import contextlib
import os
import shutil
import tempfile
import warnings

from keras_course import _offline as offline
from keras_course.models import registry


def imagenet_file_name(name, include_top):
    """The file keras.applications caches for `name`'s ImageNet weights (with or without the top): the twin's
    file stem (registry.ModelInfo.imagenet_file) in Keras's naming."""
    return f"{registry.info(name).imagenet_file}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"


def keras_models_cache():
    """The folder keras.applications caches weights files in."""
    return os.path.join(offline.keras_home(), "models")


def check_weights(weights, *, name, include_top, num_classes):
    """Validate the `weights` argument before any layer is built."""
    if weights is None:
        return
    if weights == "imagenet":
        if name not in registry.keras_twins():
            raise ValueError(
                f"`weights='imagenet'` needs a keras.applications twin; {name!r} has none. Twins: "
                f"{', '.join(registry.keras_twins())}. Use weights=None or a weights file. Received: weights='imagenet'"
            )
        if include_top and num_classes != 1000:
            raise ValueError(
                "`weights='imagenet'` with include_top=True needs num_classes=1000 (the ImageNet head); use "
                f"include_top=False with your own head. Received: num_classes={num_classes}"
            )
        return
    if not isinstance(weights, (str, os.PathLike)) or not os.path.isfile(weights):
        raise ValueError(f"`weights` must be None, 'imagenet' or the path of a weights file. Received: weights={weights!r}")


def _imagenet_path(name, include_top):
    path = os.path.join(keras_models_cache(), imagenet_file_name(name, include_top))
    if os.path.isfile(path):
        return path
    reason = f"{offline.ENV_OFFLINE} is set"
    if not offline.offline():
        import keras

        try:  # keras's own download (with its hash check) fills the same cache
            getattr(keras.applications, registry.info(name).keras_twin)(weights="imagenet", include_top=include_top)
        except Exception as error:  # keras raises several kinds on a failed fetch
            reason = f"download failed: {type(error).__name__}"
        if os.path.isfile(path):
            return path
    raise ValueError(
        f"ImageNet weights for {name} not found at {path} ({reason}). To fix: copy "
        f"{imagenet_file_name(name, include_top)} into {keras_models_cache()}, or pass weights=PATH."
    )


LEGACY_BATCH_NORM = "fused_batch_normalization"  # the key of our batch norms in files written before the rename


@contextlib.contextmanager
def readable_weights_file(path):
    """`path`, or, for a `.weights.h5` written when our batch norm was the class FusedBatchNormalization (keyed
    fused_batch_normalization[_k] where the layer is now keyed batch_normalization[_k]), a copy with those keys
    renamed, removed afterwards. A file that mixes both names is left as it is (no renaming could be exact)."""
    import h5py

    path = os.fspath(path)
    if not path.endswith(".weights.h5") or not h5py.is_hdf5(path):
        yield path
        return
    with h5py.File(path, "r") as f:
        legacy = _legacy_groups(f)
    if not legacy:
        yield path
        return
    handle, copy = tempfile.mkstemp(suffix=".weights.h5")
    os.close(handle)
    try:
        shutil.copyfile(path, copy)
        with h5py.File(copy, "r+") as f:
            for group, key in legacy:
                f[group].move(key, key[len("fused_"):])
        yield copy
    finally:
        os.remove(copy)


def _legacy_groups(f):
    """[(layers group, legacy key)] to rename, or [] when there are none or renaming would collide."""
    import h5py

    found, collides = [], False

    def visit(name, item):
        nonlocal collides
        if isinstance(item, h5py.Group) and name.split("/")[-1] == "layers":
            keys = set(item)
            legacy = [k for k in keys if k == LEGACY_BATCH_NORM or k.startswith(LEGACY_BATCH_NORM + "_")]
            collides = collides or any(k[len("fused_"):] in keys for k in legacy)
            found.extend((name, k) for k in legacy)

    f.visititems(visit)
    return [] if collides else found


def load_weights(model, weights, *, name, include_top):
    """Load `weights` (None, 'imagenet' or a path) into `model`; a file that does not fit is a ValueError."""
    if weights is None:
        return model
    path = _imagenet_path(name, include_top) if weights == "imagenet" else os.fspath(weights)
    try:
        with warnings.catch_warnings(record=True) as caught, readable_weights_file(path) as readable:
            warnings.simplefilter("always")
            model.load_weights(readable)
    except Exception as error:  # keras raises ValueError, KeyError or h5py errors for a file of another model
        detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise ValueError(f"`weights` file {path} does not match the architecture of {name}: {detail}") from None
    # Keras only warns when part of a .weights.h5 file finds no home; for us that is a mismatch, never a success.
    skipped = [str(w.message) for w in caught if "skipping" in str(w.message).lower()]
    if skipped:
        raise ValueError(f"`weights` file {path} does not match the architecture of {name}: {skipped[0][:200]}")
    return model
