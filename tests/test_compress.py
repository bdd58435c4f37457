"""keras_course.compress: masks through optimizer steps and saving, channel pruning against the masked original,
full-rank factorization, the distillation loss by hand, the report's counts by hand, int4 weights, hostile files."""

import gzip

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_course import compress, models, training
from keras_course.compress import channels as channel_pruning
from keras_course.models.common import layers_within


def _random_weights(model, seed=0):
    """Weights drawn at random (biases and batch-norm statistics too), so nothing is zero or one by chance."""
    rng = np.random.default_rng(seed)
    for layer in layers_within(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.5, beta.shape),
                               rng.normal(0, 0.5, mean.shape), rng.uniform(0.5, 1.5, variance.shape)])
        elif layer.weights and not isinstance(layer, keras.Model):
            layer.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in layer.get_weights()])
    return model


def _images(n, shape=(28, 28, 1), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape)).astype("float32")


def _outputs(model, x):
    """What `model` computes in inference mode, called eagerly: tracing predict() costs more than the check."""
    return np.asarray(model(x, training=False))


# ---- magnitude pruning ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
def test_pruned_weights_stay_zero_through_momentum_a_32_step_call_and_save_load(jit, tmp_path):
    model = compress.prunable(models.build("lenet5_bn", input_shape=(28, 28, 1), num_classes=10))
    # the masks are set at step 32, after 32 steps of momentum have built up on every weight
    updates = compress.UpdateMasks(compress.PolynomialSparsity(0.75, begin=32, end=32), scope="layer")
    x, y = _images(96 * 4), np.random.default_rng(1).integers(0, 10, 96 * 4)
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)  # 96 steps: three calls of 32
    training.fit_phases(model, [training.Phase("prune", 1, lr=0.05, callbacks=[updates])], train,
                        optimizer="momentum", jit_compile=jit)
    masked = compress.pruning.masked_layers(model)
    assert len(masked) == 5 and model.jit_compile is jit
    momentum_on_pruned = 0.0
    for layer in masked:
        mask, kernel = layer.kernel_mask.numpy(), layer.kernel.numpy()
        assert abs((mask == 0).mean() - 0.75) < 0.01, layer.name
        assert np.all(kernel[mask == 0] == 0), f"{layer.name}: a pruned weight came back"
        velocity = model.optimizer.momentums[model.optimizer._get_variable_index(layer.kernel)].numpy()
        momentum_on_pruned = max(momentum_on_pruned, np.abs(velocity[mask == 0]).max())
    assert momentum_on_pruned > 0, "the test must give momentum something to resurrect"
    model.save(tmp_path / "pruned.keras")
    loaded = keras.models.load_model(tmp_path / "pruned.keras")
    for before, after in zip(masked, compress.pruning.masked_layers(loaded)):
        np.testing.assert_array_equal(before.kernel_mask.numpy(), after.kernel_mask.numpy())
        np.testing.assert_array_equal(before.kernel.numpy(), after.kernel.numpy())
    # the resume backups' format: weights files, loaded into the same model built afresh
    model.save_weights(tmp_path / "backup.weights.h5")
    fresh = compress.prunable(models.build("lenet5_bn", input_shape=(28, 28, 1), num_classes=10))
    fresh.load_weights(tmp_path / "backup.weights.h5")
    for before, after in zip(masked, compress.pruning.masked_layers(fresh)):
        np.testing.assert_array_equal(before.kernel_mask.numpy(), after.kernel_mask.numpy())
    plain = compress.strip(loaded)
    assert not compress.pruning.masked_layers(plain)
    assert {type(layer).__name__ for layer in plain.layers} >= {"Conv2D", "Dense"}
    assert all(abs(s - 0.75) < 0.01 for s in compress.kernel_sparsity(plain).values())
    x_test = _images(8, seed=2)
    np.testing.assert_allclose(_outputs(plain, x_test), _outputs(loaded, x_test), atol=1e-6)


def test_polynomial_schedule_rises_fast_then_slowly_and_holds_between_updates():
    schedule = compress.PolynomialSparsity(0.9, begin=10, end=110, frequency=10)
    assert schedule(0) == 0.0 and schedule(10) == 0.0
    assert schedule(110) == pytest.approx(0.9) and schedule(500) == pytest.approx(0.9)
    assert schedule(60) == pytest.approx(0.9 * (1 - 0.5 ** 3))
    assert schedule(61) == schedule(69) == schedule(60), "the target changes at update steps only"
    rises = np.diff([schedule(s) for s in range(10, 111, 10)])
    assert np.all(rises > 0) and np.all(np.diff(rises) < 0), "fast at first, slowly at the end"


def test_global_scope_prunes_by_one_threshold_and_layer_scope_each_layer_alike():
    model = compress.prunable(models.build("lenet5", input_shape=(28, 28, 1), num_classes=10))
    rng = np.random.default_rng(0)
    for layer in compress.pruning.masked_layers(model):  # fc1's weights all smaller than every other layer's
        low, high = (0.0, 0.01) if layer.name == "fc1" else (0.5, 1.0)
        layer.kernel.assign(rng.uniform(low, high, layer.kernel.shape) * rng.choice([-1, 1], layer.kernel.shape))
    updates = compress.UpdateMasks(compress.PolynomialSparsity(0.5, end=0), scope="global")
    updates.set_model(model)
    updates.update(0)
    sparsity = compress.kernel_sparsity(model)
    sizes = {layer.name: layer.kernel.numpy().size for layer in compress.pruning.masked_layers(model)}
    overall = sum(sparsity[n] * sizes[n] for n in sizes) / sum(sizes.values())
    assert overall == pytest.approx(0.5, abs=1e-4)
    # fc1 holds 48,000 of 61,470 weights, each smaller than the others': the whole half comes out of it
    assert sparsity["fc1"] == pytest.approx(0.5 * sum(sizes.values()) / sizes["fc1"], abs=1e-4)
    assert all(sparsity[n] == 0 for n in sizes if n != "fc1")
    per_layer = compress.prunable(_random_weights(models.build("lenet5", input_shape=(28, 28, 1), num_classes=10)))
    updates = compress.UpdateMasks(compress.PolynomialSparsity(0.5, end=0), scope="layer")
    updates.set_model(per_layer)
    updates.update(0)
    assert all(abs(s - 0.5) < 0.01 for s in compress.kernel_sparsity(per_layer).values())


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.5", True])
def test_sparsity_outside_zero_to_one_is_refused(bad):
    with pytest.raises(ValueError, match="sparsity"):
        compress.pruning_phase(bad, epochs=1, steps_per_epoch=10)


# ---- channel pruning ------------------------------------------------------------------------------------------

def _zeroed_at_readers(model, plan):
    """The original model with each removed channel's contribution zeroed where the next layers read it: the
    channel's output after its batch norm and activation, as zero."""
    reference = keras.models.clone_model(model, recursive=True)
    reference.set_weights(model.get_weights())
    for conv, reached in channel_pruning._reached(reference, plan):
        removed = np.setdiff1d(np.arange(conv.filters), plan[conv.name])
        for layer, role in reached:
            weights = layer.get_weights()
            if role in ("conv", "dense"):
                weights[0][..., removed, :] = 0
            elif role == "dense_after_flatten":
                rows = weights[0].reshape(-1, conv.filters, weights[0].shape[-1])
                rows[:, removed, :] = 0
            layer.set_weights(weights)
    return reference


CHANNEL_MODELS = [("lenet5_bn", (28, 28, 1), {}), ("cnn4_bn", (28, 28, 1), {}),
                  ("vgg11_bn", (32, 32, 3), {"stem": "small", "width": 0.25}), ("resnet20", (32, 32, 3), {})]


@pytest.mark.parametrize("name,shape,options", CHANNEL_MODELS, ids=[m[0] for m in CHANNEL_MODELS])
def test_channel_pruned_model_equals_the_original_with_those_channels_zeroed(name, shape, options):
    model = _random_weights(models.build(name, input_shape=shape, num_classes=10, **options))
    plan = compress.channel_plan(model, 0.5)
    smaller = compress.prune_channels(model, 0.5, plan=plan)
    assert smaller.count_params() < 0.6 * model.count_params()
    for conv, keep in plan.items():
        assert smaller.get_layer(conv).filters == model.get_layer(conv).filters - round(model.get_layer(conv).filters / 2)
        assert len(keep) == smaller.get_layer(conv).filters
    x = _images(4, shape)
    expected = _outputs(_zeroed_at_readers(model, plan), x)
    np.testing.assert_allclose(_outputs(smaller, x), expected, atol=1e-5)


def test_channel_pruning_keeps_the_filters_of_largest_l1_norm_or_batch_norm_scale():
    model = _random_weights(models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10))
    kernel = model.get_layer("conv2").kernel.numpy()
    by_l1 = np.sort(np.argsort(-np.abs(kernel).sum(axis=(0, 1, 2)))[:32])
    np.testing.assert_array_equal(compress.channel_plan(model, 0.5, layers="^conv2$")["conv2"], by_l1)
    gamma = np.abs(model.get_layer("conv2_bn").gamma.numpy())
    by_scale = np.sort(np.argsort(-gamma)[:32])
    np.testing.assert_array_equal(compress.channel_plan(model, 0.5, layers="^conv2$", criterion="bn_scale")["conv2"],
                                  by_scale)


def test_channel_pruning_refuses_a_layer_of_the_trunk_and_an_empty_layer():
    model = models.build("resnet20", input_shape=(32, 32, 3), num_classes=10)
    with pytest.raises(ValueError, match="conv2_block1_2_conv.*Add"):
        compress.channel_plan(model, 0.5, layers="conv2_block1_2_conv")
    small = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10, width=0.125)  # conv1: 4 filters
    with pytest.raises(ValueError, match="every filter of layer 'conv1'"):
        compress.channel_plan(small, 0.9)
    with pytest.raises(ValueError, match="No convolution"):
        compress.channel_plan(models.build("mlp", input_shape=(8, 8, 1), num_classes=3), 0.5)


# ---- factorization --------------------------------------------------------------------------------------------

def test_full_rank_factorization_computes_what_the_original_does():
    model = _random_weights(models.build("lenet5_bn", input_shape=(28, 28, 1), num_classes=10))
    full = compress.factorize(model, rank=16, layers="^conv2$")  # 5x5x6 = 150 inputs, 16 filters: rank 16
    full = compress.factorize(full, rank=120, layers="^fc1$")  # 400 inputs, 120 units
    names = [layer.name for layer in full.layers]
    assert names.index("conv2_lowrank") + 1 == names.index("conv2") and "fc1_lowrank" in names
    x = _images(6)
    np.testing.assert_allclose(_outputs(full, x), _outputs(model, x), atol=1e-5)


def test_factorization_keeps_the_asked_fraction_of_the_factorized_layers_weights(tmp_path):
    model = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10)
    assert compress.factorizable_layers(model) == ["conv2", "conv3", "conv4"]  # not the first, not the classifier
    before = sum(model.get_layer(n).kernel.numpy().size for n in ("conv2", "conv3", "conv4"))
    half = compress.factorize(model, 0.5)
    after = sum(layer.kernel.numpy().size for layer in half.layers
                if layer.name.startswith(("conv2", "conv3", "conv4")) and hasattr(layer, "kernel"))
    assert 0.48 < after / before <= 0.5
    half.save(tmp_path / "half.keras")
    x = _images(3)
    np.testing.assert_allclose(_outputs(keras.models.load_model(tmp_path / "half.keras"), x),
                               _outputs(half, x), atol=1e-6)


@pytest.mark.parametrize("arguments,message", [
    (dict(kept=0.0), "kept"), (dict(kept=1.5), "kept"), (dict(rank=0), "rank"),
    (dict(rank=65, layers="^conv2$"), "full rank of layer 'conv2'"), (dict(layers="nothing"), "No layer")])
def test_factorization_refuses_bad_fractions_and_ranks(arguments, message):
    with pytest.raises(ValueError, match=message):
        compress.factorize(models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10), **arguments)


# ---- distillation ---------------------------------------------------------------------------------------------

def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_distillation_loss_equals_a_hand_computation_and_the_student_leaves_alone(tmp_path):
    teacher = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10)
    student = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10, width=0.25)
    distiller = compress.distiller(teacher, student, temperature=3.0, alpha=0.3)
    x, y = _images(8), np.arange(8) % 10
    t, s = distiller.teacher(x, training=False).numpy(), distiller.student(x, training=False).numpy()
    np.testing.assert_allclose(_softmax(t), _outputs(teacher, x), atol=1e-5)  # logits of the same weights
    pt, ps = _softmax(t / 3), _softmax(s / 3)
    kl = np.mean(np.sum(pt * np.log(pt / ps), axis=1)) * 9
    cross_entropy = np.mean(-np.log(_softmax(s)[np.arange(8), y]))
    training.compile_model(distiller, task="multiclass")
    loss = distiller.compute_loss(x, y, distiller.student(x, training=False), training=False)
    np.testing.assert_allclose(float(loss), 0.3 * cross_entropy + 0.7 * kl, rtol=1e-4)
    frozen = [w.numpy().copy() for w in distiller.teacher.weights]
    train = tf.data.Dataset.from_tensor_slices((_images(32, seed=3), np.arange(32) % 10)).batch(8)
    training.fit_phases(distiller, [training.Phase("distill", 1, lr=1e-2)], train, task="multiclass")
    for before, after in zip(frozen, distiller.teacher.weights):  # moving statistics included: inference mode
        np.testing.assert_array_equal(before, after.numpy())
    alone = compress.student_of(distiller)
    assert alone.count_params() == student.count_params() and alone.layers[-1].activation.__name__ == "softmax"
    alone.save(tmp_path / "student.keras")
    np.testing.assert_allclose(_outputs(keras.models.load_model(tmp_path / "student.keras"), x),
                               _softmax(distiller.student(x, training=False).numpy()), atol=1e-5)


def test_distillation_refuses_a_teacher_of_other_classes_or_input():
    student = models.build("lenet5", input_shape=(28, 28, 1), num_classes=10)
    with pytest.raises(ValueError, match="teacher predicts 5 classes and the student 10"):
        compress.distiller(models.build("lenet5", input_shape=(28, 28, 1), num_classes=5), student)
    with pytest.raises(ValueError, match="teacher takes inputs shaped"):
        compress.distiller(models.build("lenet5", input_shape=(32, 32, 1), num_classes=10), student)


# ---- the report -----------------------------------------------------------------------------------------------

def test_report_counts_lenet5_by_hand_dense_and_sparse():
    model = _random_weights(models.build("lenet5", input_shape=(32, 32, 1), num_classes=10))
    dense = compress.report(model, latency_runs=5)
    # kernels and biases: conv1 5*5*1*6 + 6, conv2 5*5*6*16 + 16, fc1 400*120 + 120, fc2 120*84 + 84, out 84*10 + 10
    assert dense["params"] == dense["nonzero_params"] == 156 + 2416 + 48120 + 10164 + 850 == 61706
    assert dense["storage_bits"] == 61706 * 32
    # output positions x kernel elements: 28*28*150 + 10*10*2400 + 400*120 + 120*84 + 84*10
    assert dense["macs"] == dense["sparse_macs"] == dense["bit_macs"] == 117600 + 240000 + 48000 + 10080 + 840
    assert dense["latency_ms"] > 0 and dense["tflite_bytes"] > 61706 * 4
    pruned = compress.prunable(model)
    fc1 = pruned.get_layer("fc1")
    mask = np.ones(fc1.kernel_mask.shape, "float32")
    mask[:, :90] = 0  # 400 x 90 of 400 x 120 weights gone
    fc1.kernel_mask.assign(mask)
    sparse = compress.report(pruned, latency_runs=5)
    assert sparse["params"] == 61706 and sparse["nonzero_params"] == 61706 - 36000
    # fc1's kernel: its 12,000 non-zeros at 32 bits plus a 1-bit mask of 48,000
    assert sparse["storage_bits"] == (61706 - 48000) * 32 + 12000 * 32 + 48000
    assert sparse["macs"] == dense["macs"] and sparse["sparse_macs"] == dense["macs"] - 36000
    assert sparse["tflite_gzip_bytes"] < 0.6 * dense["tflite_gzip_bytes"]
    assert compress.score(dense, dense) == pytest.approx(2.0)
    assert compress.score(sparse, dense) == pytest.approx(sparse["storage_bits"] / dense["storage_bits"]
                                                          + sparse["bit_macs"] / dense["bit_macs"])


def test_int4_weights_sit_on_15_levels_per_channel_and_are_counted_at_4_bits():
    model = _random_weights(models.build("lenet5", input_shape=(32, 32, 1), num_classes=10))
    four = compress.quantize_weights(model, 4)
    kernel = four.get_layer("conv2").kernel.numpy()
    for channel in range(kernel.shape[-1]):
        levels = np.unique(kernel[..., channel])
        assert len(levels) <= 15
        step = np.abs(kernel[..., channel]).max() / 7
        np.testing.assert_allclose(levels / step, np.round(levels / step), atol=1e-4)
    x = np.random.default_rng(0).integers(0, 256, (40, 32, 32, 1)).astype("uint8")
    counted = compress.report(four, (x, np.zeros(40, int)), int8=True, representative_data=x, weight_bits=4,
                              latency_runs=5)
    kernels = 150 + 2400 + 48000 + 10080 + 840
    biases = 6 + 16 + 120 + 84 + 10
    assert counted["params"] == kernels + biases and counted["storage_bits"] == kernels * 4 + biases * 32
    assert counted["bit_macs"] == round(counted["sparse_macs"] * 4 / 32)
    assert counted["test_accuracy"] is not None


@pytest.mark.parametrize("content,message", [
    (b"", "not a TFLite flatbuffer"), (b"\x00" * 64, "not a TFLite flatbuffer"),
    (b"1234TFL3" + b"\xff" * 200, "could not be loaded"), ("truncated", "could not be loaded")])
def test_hostile_tflite_files_are_refused_in_one_line(content, message, tmp_path):
    if content == "truncated":
        content = compress.measure.to_flatbuffer(models.build("lenet5", input_shape=(32, 32, 1), num_classes=10))
        content = content[:len(content) // 3]
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        compress.read_model(path)
    assert "\n" not in str(error.value)


def test_hostile_keras_files_are_refused_in_one_line(tmp_path):
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a .keras file"):
        compress.read_model(tmp_path / "junk.keras")
    (tmp_path / "empty.keras").write_bytes(gzip.compress(b"x"))
    with pytest.raises(ValueError, match="not a .keras file"):
        compress.read_model(tmp_path / "empty.keras")
    with pytest.raises(ValueError, match="suffix '.txt'"):
        (tmp_path / "model.txt").write_text("x")
        compress.read_model(tmp_path / "model.txt")


# ---- quantization-aware training ------------------------------------------------------------------------------

@pytest.mark.parametrize("name,shape", [("cnn4_bn", (28, 28, 1)), ("resnet20", (32, 32, 3))])
def test_folding_batch_norms_keeps_what_the_model_computes(name, shape):
    model = _random_weights(models.build(name, input_shape=shape, num_classes=10))
    folded = compress.fold_batch_norms(model)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    x = _images(4, shape)
    np.testing.assert_allclose(_outputs(folded, x), _outputs(model, x), atol=1e-5)


@pytest.mark.parametrize("bits", [8, 4])
def test_the_qat_model_converts_to_an_int8_tflite_model_within_one_output_step(bits):
    from ai_edge_litert.interpreter import Interpreter

    from keras_course import export

    model = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10, width=0.25)
    aware = compress.quantize_aware(model, weight_bits=bits)
    x, y = _images(128), np.arange(128) % 10
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    training.fit_phases(aware, [training.Phase("qat", 1, lr=1e-3)], train)  # sets the moving ranges
    flatbuffer = export.to_tflite(aware, int8=True, representative_data=x[:64].astype("uint8"))
    served = compress.measure.tflite_predictions(flatbuffer, x[:64].astype("uint8"))
    expected = _outputs(aware, x[:64])
    assert np.abs(served - expected).max() <= 1 / 256 + 1e-6, "within one step of the uint8 probabilities"
    interpreter = Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    kernels = [interpreter.get_tensor(int(op["inputs"][1])) for op in compress.measure._private.tflite_ops(interpreter)
               if op["op_name"] == "CONV_2D"]
    assert len(kernels) == 4 and all(k.dtype == np.int8 for k in kernels)
    assert max(np.abs(k.astype(int)).max() for k in kernels) == (127 if bits == 8 else 7)
    plain = compress.strip_quantization(aware)
    assert {type(layer).__name__ for layer in plain.layers}.isdisjoint({"QuantizedConv2D", "ActivationQuantizer"})
    np.testing.assert_allclose(plain.get_layer("conv2").kernel.numpy(),
                               aware.get_layer("conv2").quantized_kernel().numpy(), atol=0)


def test_calibration_starts_quantization_aware_training_where_the_float_model_is():
    # found by the resnet20 study: uncalibrated, every activation range is [0, 1] and the model predicts nothing
    # of what the float model predicts; its fine-tuning then diverged
    model = _random_weights(models.build("resnet20", input_shape=(32, 32, 3), num_classes=10))
    x = _images(256, (32, 32, 3))
    expected = _outputs(model, x[128:])
    cold = _outputs(compress.quantize_aware(model), x[128:])
    warm = _outputs(compress.quantize_aware(model, calibration=x[:128]), x[128:])
    assert np.mean(cold.argmax(axis=1) == expected.argmax(axis=1)) < 0.5
    assert np.mean(warm.argmax(axis=1) == expected.argmax(axis=1)) == 1.0 and np.abs(warm - expected).max() < 0.05
    with pytest.raises(ValueError, match="empty"):
        compress.calibrate(compress.quantize_aware(model), x[:0])


def test_qat_refuses_a_batch_norm_it_cannot_fold_and_other_bit_widths():
    with pytest.raises(ValueError, match="cannot handle layer 'conv2_block1_preact_bn'"):
        compress.quantize_aware(models.build("preact_resnet18", input_shape=(32, 32, 3), num_classes=10, stem="small",
                                             width=0.125))
    with pytest.raises(ValueError, match="weight_bits"):
        compress.quantize_aware(models.build("lenet5", input_shape=(28, 28, 1), num_classes=10), weight_bits=2)


def test_pruning_factorization_and_folding_reach_inside_a_transfer_classifiers_backbone():
    from keras_course import transfer

    model = _random_weights(transfer.build_classifier("resnet20", 5, weights=None, input_shape=(32, 32, 3)))
    x = _images(3, (32, 32, 3))
    expected = _outputs(model, x)
    masked = compress.prunable(model)
    assert len(compress.pruning.masked_layers(masked)) == 20  # 19 convolutions of the backbone and the new head
    np.testing.assert_allclose(_outputs(masked, x), expected, atol=1e-6)
    np.testing.assert_allclose(_outputs(compress.fold_batch_norms(model), x), expected, atol=1e-5)
    assert compress.factorize(model, 0.5).count_params() < model.count_params()


def test_channel_pruning_reaches_inside_a_transfer_classifiers_backbone():
    from keras_course import transfer

    model = _random_weights(transfer.build_classifier("resnet20", 5, weights=None, input_shape=(32, 32, 3)))
    plan = compress.channel_plan(model, 0.5)
    assert sorted(plan) == [f"conv{stage}_block{block}_1_conv" for stage in (2, 3, 4) for block in (1, 2, 3)]
    smaller = compress.prune_channels(model, 0.5, plan=plan)
    assert smaller.count_params() < 0.7 * model.count_params()
    x = _images(3, (32, 32, 3))
    np.testing.assert_allclose(_outputs(smaller, x), _outputs(_zeroed_at_readers(model, plan), x),
                               atol=1e-5)


def test_a_pruned_model_keeps_its_zeros_through_quantization_aware_training():
    model = compress.prunable(models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10, width=0.25))
    updates = compress.UpdateMasks(compress.PolynomialSparsity(0.8, end=0))
    updates.set_model(model)
    updates.update(0)
    aware = compress.quantize_aware(model)
    x, y = _images(64), np.arange(64) % 10
    training.fit_phases(aware, [training.Phase("qat", 1, lr=0.05)], tf.data.Dataset.from_tensor_slices((x, y)).batch(16),
                        optimizer="momentum")
    plain = compress.strip_quantization(aware)
    overall = np.mean(np.concatenate([v.ravel() == 0 for v in
                                      (layer.kernel.numpy() for layer in plain.layers if hasattr(layer, "kernel"))]))
    assert overall >= 0.8
    for layer in aware.layers:
        if hasattr(layer, "kernel_range"):
            assert np.all(layer.kernel.numpy()[layer.kernel_mask.numpy() == 0] == 0), layer.name
