"""One test per private API the package leans on (keras_course/_private.py): an upgrade that breaks an assumption
fails here, with a message saying which function to revisit, instead of quietly elsewhere."""

import argparse
import pickle

import keras
import numpy as np
import tensorflow as tf

from keras_course import _private


def _model():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))


def test_producer_reads_the_layer_that_made_a_symbolic_tensor():
    model = _model()
    assert _private.producer(model.outputs[0]) is model.get_layer("out"), \
        "_private.producer: KerasTensor._keras_history.operation no longer names the producing layer"


def test_inbound_nodes_carry_parent_nodes_and_call_arguments():
    model = _model()
    (node,) = _private.inbound_nodes(model.get_layer("out"))
    assert [p.operation for p in node.parent_nodes] == [model.get_layer("hidden")], \
        "_private.inbound_nodes: Layer._inbound_nodes / Node.parent_nodes changed (models.details.depth uses them)"
    assert isinstance(node.arguments.kwargs, dict), \
        "_private.inbound_nodes: Node.arguments.kwargs changed (transfer.audit reads training=False from it)"


def test_fit_restart_epoch_makes_fit_start_there():
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    _private.fit_restart_epoch(model, 2)
    history = model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=3, verbose=0)
    assert history.epoch == [2], "_private.fit_restart_epoch: fit no longer starts at Trainer._initial_epoch"
    _private.fit_restart_epoch(model, None)
    assert model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=2, verbose=0).epoch == [0, 1]


def test_learning_rate_variable_is_the_variable_plateau_lowers():
    optimizer = keras.optimizers.Adam(1e-3)
    variable = _private.learning_rate_variable(optimizer)
    assert variable is not None and hasattr(variable, "assign"), \
        "_private.learning_rate_variable: Optimizer._learning_rate is no longer the learning-rate variable"
    variable.assign(1e-4)
    assert abs(float(optimizer.learning_rate) - 1e-4) < 1e-9
    scheduled = keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5))
    assert _private.learning_rate_variable(scheduled) is None


def test_in_memory_dataset_knows_tf_datas_private_class_names():
    arrays = tf.data.Dataset.from_tensor_slices(np.zeros((6, 2)))
    message = "_private.in_memory_dataset: tf.data renamed its dataset classes or their _input_dataset(s)"
    assert _private.in_memory_dataset(arrays), message
    assert _private.in_memory_dataset(arrays.take(3).concatenate(arrays.skip(2))), message
    assert not _private.in_memory_dataset(arrays.map(lambda x: x + 1))
    assert not _private.in_memory_dataset(tf.data.Dataset.range(3))


def test_detach_graph_seed_clears_the_seed_of_the_graph_being_traced():
    seen = []

    @tf.function
    def traced():
        tf.compat.v1.get_default_graph().seed = 5
        _private.detach_graph_seed()
        seen.append(tf.compat.v1.get_default_graph().seed)
        return tf.constant(0)

    traced()
    assert seen == [None], "_private.detach_graph_seed: a tf.function graph no longer has a settable `seed`"


def test_cifar_load_batch_reads_a_pickled_batch(tmp_path):
    batch = {b"data": np.arange(2 * 3072, dtype="uint8").reshape(2, 3072), b"labels": [3, 7]}
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump(batch, f)
    x, y = _private.cifar_load_batch(str(tmp_path / "data_batch_1"))
    assert x.shape == (2, 3, 32, 32) and list(y) == [3, 7], \
        "_private.cifar_load_batch: keras.src.datasets.cifar.load_batch changed its output"


def test_the_tf2onnx_patch_runs():
    _private.patch_tf2onnx_for_numpy2()  # raises if Keras's patch module exists but changed


def test_the_multiworker_patch_finds_what_it_replaces():
    trainer, tree = _private.tensorflow_trainer_modules()
    message = "training.multiworker_fit_patch: Keras's TensorFlow trainer changed; check keras-team/keras#20585"
    assert callable(getattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build", None)), message
    assert callable(getattr(trainer.TensorFlowTrainer, "_symbolic_build", None)), message
    assert callable(getattr(trainer, "reduce_per_replica", None)), message
    assert tree.map_structure(lambda v: v + 1, [1, (2,)]) == [2, (3,)]


def test_option_actions_lists_argparse_flags():
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir")
    parser.add_argument("images", nargs="*")
    assert [(a.dest, a.option_strings) for a in _private.option_actions(parser)] == \
        [("help", ["-h", "--help"]), ("run_dir", ["--run-dir"])], "_private.option_actions: argparse changed"


def test_backup_and_restore_saves_through_its_save_model_hook(tmp_path):
    calls = []

    class Counting(keras.callbacks.BackupAndRestore):
        def _save_model(self):
            calls.append(self._current_epoch)

    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=2, verbose=0, callbacks=[Counting(str(tmp_path))])
    assert calls == [1, 2], ("training.ExactBackupAndRestore: BackupAndRestore no longer saves through "
                             "_save_model with _current_epoch set to the epochs done")


def test_keras_tuner_oracle_draws_through_random_values():
    import keras_tuner

    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_loss", max_trials=1, seed=1)
    for name in ("_random_values", "_max_collisions", "_seed_state", "_duplicate"):
        assert hasattr(oracle, name), f"experiments.search._random_values_mixed: keras-tuner's Oracle has no {name}"


def test_is_functional_tells_functional_from_subclassed_models():
    class Subclassed(keras.Model):
        def call(self, x):
            return x

    assert _private.is_functional(_model()), "_private.is_functional: keras.src.models.functional.Functional moved"
    assert not _private.is_functional(Subclassed())


def test_tflite_ops_lists_the_graphs_ops_with_their_tensors():
    from ai_edge_litert.interpreter import Interpreter

    from keras_course import export

    interpreter = Interpreter(model_content=export.to_tflite(_model()))
    interpreter.allocate_tensors()
    ops = _private.tflite_ops(interpreter)
    message = "_private.tflite_ops: Interpreter._get_ops_details no longer lists op names and tensor indices"
    assert [op["op_name"] for op in ops] == ["FULLY_CONNECTED", "FULLY_CONNECTED"], message
    assert all(len(op["inputs"]) >= 2 and len(op["outputs"]) == 1 for op in ops), message
