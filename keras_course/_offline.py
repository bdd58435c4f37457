"""Where datasets live on this machine, and whether we may try the network for them."""

import os

ENV_DATA_DIR = "KERAS_COURSE_DATA"
ENV_OFFLINE = "KERAS_COURSE_OFFLINE"


def offline():
    """True when KERAS_COURSE_OFFLINE is set to a true value: skip download attempts, fail at once."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def keras_home():
    """Keras's folder for cached downloads: $KERAS_HOME or ~/.keras."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def keras_cache_dir():
    """The folder keras.utils.get_file caches datasets in."""
    return os.path.join(keras_home(), "datasets")


def candidate_dirs(data_dir, *fallbacks):
    """Folders to search, in order: the explicit data_dir, $KERAS_COURSE_DATA, then `fallbacks`."""
    dirs = []
    if data_dir:
        dirs.append(os.fspath(data_dir))
    if os.environ.get(ENV_DATA_DIR):
        dirs.append(os.environ[ENV_DATA_DIR])
    dirs.extend(fallbacks)
    return dirs
