"""Every private API of TensorFlow, Keras and the standard library that the package reaches, in one place.

Each is one small function saying why no public API does the job. tests/test_private_apis.py checks each
assumption against the installed versions and fails naming the function and what changed, so an upgrade fails
loudly there instead of quietly somewhere else; setup.cfg bounds the versions they were checked with
(tensorflow 2.21, keras 3.15, keras-tuner 1.4). Two more live beside the code they patch, checked by the same
test: ExactBackupAndRestore overrides BackupAndRestore's `_save_model` and reads its `_current_epoch`
(training/callbacks.py), and the search replaces keras-tuner's `Oracle._random_values` (experiments/search.py).
"""

__all__ = ["cifar_load_batch", "detach_graph_seed", "fit_restart_epoch", "inbound_nodes", "in_memory_dataset",
           "is_functional", "learning_rate_variable", "option_actions", "patch_tf2onnx_for_numpy2", "producer",
           "tensorflow_trainer_modules", "tflite_ops"]


def producer(tensor):
    """The layer that made a symbolic Keras tensor. Keras 3 has no public accessor; its own Functional code
    reads `_keras_history`."""
    return tensor._keras_history.operation


def inbound_nodes(layer):
    """The nodes where `layer` is called (each with its parent nodes and call arguments); Keras 3 exposes them
    only as `_inbound_nodes`."""
    return layer._inbound_nodes


def fit_restart_epoch(model, epoch):
    """Make the next `fit` start at `epoch` (None: at its own initial_epoch). Keras's BackupAndRestore resumes
    this way, through `Trainer._initial_epoch`, which fit reads and never resets."""
    model._initial_epoch = epoch


def learning_rate_variable(optimizer):
    """The optimizer's learning-rate variable, or None when a schedule computes the rate from the step:
    `optimizer.learning_rate` returns the schedule's current value, not the variable ReduceLROnPlateau sets."""
    learning_rate = getattr(optimizer, "_learning_rate", None)
    return learning_rate if hasattr(learning_rate, "assign") else None


IN_MEMORY_DATASETS = ("_TensorSliceDataset", "_TensorDataset")


def in_memory_dataset(dataset):
    """Whether a tf.data dataset reads tensors already in memory (from arrays, possibly concatenated, taken or
    skipped), so caching it copies nothing new. tf.data names its dataset classes and their inputs privately."""
    kind = type(dataset).__name__
    if kind in IN_MEMORY_DATASETS:
        return True
    if kind == "_ConcatenateDataset":
        return all(in_memory_dataset(d) for d in dataset._input_datasets)
    if kind in ("_TakeDataset", "_SkipDataset"):
        return in_memory_dataset(dataset._input_dataset)
    return False


def detach_graph_seed():
    """Forget the traced graph's seed, so a shuffle seeded by a tensor depends on that seed alone and not on TF's
    global seed (and TF makes no Python comparison on tensor seeds when the global seed is 0). TF has no public
    way to set one graph's seed."""
    import tensorflow as tf

    tf.compat.v1.get_default_graph().seed = None


def cifar_load_batch(path, label_key="labels"):
    """Keras's reader of the CIFAR pickled batches (keras.datasets.cifar10 calls it on its download only)."""
    from keras.src.datasets.cifar import load_batch

    return load_batch(path, label_key=label_key)


def patch_tf2onnx_for_numpy2():
    """Keras's patch that keeps tf2onnx working with numpy 2 (what keras.Model.export(format="onnx") applies);
    skipped where this Keras has none."""
    import warnings

    try:
        from keras.src.export.tf2onnx_lib import patch_tf2onnx
    except ImportError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the patch's own probe of np.object
        patch_tf2onnx()


def tensorflow_trainer_modules():
    """(keras's TensorFlow trainer module, keras's tree module): what training.multiworker_fit_patch replaces two
    functions of (keras-team/keras#20585: Keras 3's fit fails under MultiWorkerMirroredStrategy)."""
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    return trainer, tree


def option_actions(parser):
    """An argparse parser's option actions (flags and dest): argparse keeps the list as `_actions`."""
    return [action for action in parser._actions if action.option_strings]


def is_functional(model):
    """Whether `model` is a functional keras.Model (a graph of layers that clone_model can rebuild), not a
    subclassed one: Keras 3 exports no name for its Functional class."""
    from keras.src.models.functional import Functional

    return isinstance(model, Functional)


def tflite_ops(interpreter):
    """The ops of a LiteRT interpreter's graph, each {"op_name", "inputs", "outputs"} (tensor indices; -1 for an
    absent optional input): the interpreter lists them only through `_get_ops_details`. Delegated subgraphs appear
    again as "DELEGATE" ops, which are left out."""
    return [op for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"]
