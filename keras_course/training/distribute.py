"""Data-parallel training with tf.distribute: one strategy by name, chief/worker roles, and the two Keras fixes
multi-worker `fit` needs.

- "default": no distribution (one device; a GPU when there is one).
- "mirrored": tf.distribute.MirroredStrategy over every local GPU, or over every logical CPU device when there
  is no GPU (`split_cpu` makes several, which is how it is tested here).
- "multiworker": tf.distribute.MultiWorkerMirroredStrategy over the machines listed in the TF_CONFIG
  environment variable (one process per machine, each with its own task index).

Keras 3.15's `model.fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585) in two places, both
where it reduces per-replica values with `strategy.reduce`, which only a collective inside a tf.function can do
across workers: (1) before the first step it averages a whole *data batch* across replicas in eager mode only to
learn the input shapes; (2) each step it averages the scalar logs (loss, metrics) with `axis=0`, which scalars do
not have. `multiworker_fit_patch` replaces exactly these two: the first replica's batch gives the shapes, and the
scalar logs are averaged over replicas with `axis=None`. Everything else (the step, gradients, all-reduce,
callbacks) is stock Keras and TensorFlow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
from collections.abc import Iterator

import keras
import tensorflow as tf

from keras_course import _private
from keras_course._checks import check_choice, check_positive
from keras_course.models.common import layers_within

STRATEGIES = ("default", "mirrored", "multiworker")


def split_cpu(n: int) -> None:
    """Split the CPU into `n` logical devices (so "mirrored" has `n` replicas without a GPU). Call it before
    TensorFlow runs anything; the split is for trying and testing distribution, it adds no compute."""
    check_positive("cpu_devices", n, integer=True)
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError as error:
        if len(tf.config.list_logical_devices("CPU")) != n:
            raise RuntimeError(f"split_cpu({n}) must run before TensorFlow executes anything (it found "
                               f"{len(tf.config.list_logical_devices('CPU'))} CPU devices set up already).") from error


def read_tf_config():
    """The TF_CONFIG cluster description, checked: {"cluster": {"worker": [...], ...}, "task": {"type", "index"}}."""
    raw = os.environ.get("TF_CONFIG")
    example = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not raw:
        raise ValueError(f"--strategy multiworker needs the TF_CONFIG environment variable on every worker, e.g. {example}")
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"] if "worker" in config["cluster"] else []
        task_type, index = config["task"]["type"], int(config["task"]["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"TF_CONFIG is not a cluster description ({error}). Received: {raw!r}; expected e.g. {example}") from None
    members = config["cluster"].get(task_type, [])
    if not 0 <= index < len(members):
        raise ValueError(f"TF_CONFIG task {task_type} {index} is not in its cluster ({len(members)} {task_type}s). "
                         f"Received: {raw!r}")
    return {"cluster": config["cluster"], "task_type": task_type, "task_index": index,
            "num_workers": len(workers) + len(config["cluster"].get("chief", []))}


def local_tf_configs(n):
    """TF_CONFIG values (JSON) for `n` worker processes on this machine, on free ports of 127.0.0.1: for trying
    and testing "multiworker" without a cluster."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(n)]


def make_strategy(name: str = "default") -> tf.distribute.Strategy:
    """The tf.distribute strategy called `name` (one of STRATEGIES). Create it before TensorFlow runs anything
    else: MultiWorkerMirroredStrategy sets up the cluster's collective ops at start-up."""
    check_choice("strategy", name, STRATEGIES)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    read_tf_config()
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_multiworker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files: always, except on the non-chief workers of a cluster (the
    chief is the "chief" task, or worker 0 when the cluster has none)."""
    return bool(getattr(strategy.extended, "should_checkpoint", True))


def worker_dir(run_dir: str | os.PathLike, strategy: tf.distribute.Strategy) -> str:
    """Where this process writes: `run_dir` for the chief; for another worker, a folder of its own under the
    system's temporary directory, the same one each time for the same run, so that a restarted worker resumes
    from its own backup. Keras's ModelCheckpoint, BackupAndRestore and TensorBoard have no chief logic."""
    if is_chief(strategy):
        return run_dir
    task = strategy.cluster_resolver.task_type, strategy.cluster_resolver.task_id
    tag = hashlib.sha1(os.path.abspath(run_dir).encode()).hexdigest()[:10]
    return os.path.join(tempfile.gettempdir(), f"keras_course_{task[0]}{task[1]}_{os.path.basename(run_dir)}_{tag}")


def set_batch_norm_synchronized(model: keras.Model, synchronized: bool = True) -> keras.Model:
    """Make every BatchNormalization layer compute its batch statistics over all replicas (Keras's
    `synchronized=True`), or stop doing so; returns the model. With several replicas, each sees only its share of
    the batch: unsynchronised statistics would come from batches `replicas` times smaller than the one set. Set
    it before training starts (the value is read when the step is traced); it is saved with the model and is a
    no-op outside a distribution strategy."""
    for layer in layers_within(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = bool(synchronized)
    return model


@contextlib.contextmanager
def multiworker_fit_patch() -> Iterator[None]:
    """Within this block, Keras's TensorFlow trainer works under MultiWorkerMirroredStrategy (see the module
    docstring for what is replaced and why). Other strategies take the original code paths."""
    trainer, tree = _private.tensorflow_trainer_modules()
    original_build = trainer.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = trainer.reduce_per_replica

    def first_replica(value, strategy):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if not is_multiworker(self.distribute_strategy) or iterator is None:
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            data_batch = tree.map_structure(lambda v: first_replica(v, self.distribute_strategy), next(it))
            break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction="auto"):
        if reduction in ("auto", "mean") and is_multiworker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original_reduce(values, strategy, reduction=reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        trainer.TensorFlowTrainer._maybe_symbolic_build = original_build
        trainer.reduce_per_replica = original_reduce
