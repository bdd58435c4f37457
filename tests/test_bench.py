import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from bench.__main__ import main

import library_calls

BENCH = Path(__file__).resolve().parent.parent / "bench"
# the benchmarks that call into keras_course: each one's calls checked without running it, in well under a second
# (their smoke runs are -m slow, but for bench gpu's dry run)
CALLERS = sorted(p for p in BENCH.glob("*.py") if re.search(r"^\s*(from|import) keras_course", p.read_text(), re.M))


@pytest.mark.parametrize("script", CALLERS, ids=lambda p: p.name)
def test_a_benchmark_asks_the_library_only_for_what_it_has(script):
    """Every keras_course name a benchmark uses exists and every call binds to its function's signature."""
    problems, calls = library_calls.check(str(script))
    assert not problems, problems
    assert calls >= 1


@pytest.mark.slow  # 7 s: a benchmark's smoke run (its calls into the library: the check above)
def test_demo_benchmark_runs_quick_and_writes_json(tmp_path, capsys):
    out = tmp_path / "demo.json"
    assert main(["demo", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["quick"] is True and 0.0 <= result["test_accuracy"] <= 1.0 and result["train_seconds"] > 0
    assert "test_accuracy" in capsys.readouterr().out


@pytest.mark.slow  # 4 s: a benchmark's smoke run (its calls into the library: the check above)
def test_zoo_benchmark_runs_quick_for_a_chosen_model(tmp_path, capsys):
    out = tmp_path / "zoo.json"
    assert main(["zoo", "--quick", "--models", "lenet5_bn", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    row = result["models"]["lenet5_bn"]
    assert list(result["models"]) == ["lenet5_bn"] and result["budget"]["limit"] == 600
    assert row["params"] > 0 and 0.0 <= row["test_accuracy"] <= 1.0 and row["full_epoch_seconds"] > row["seconds_per_epoch"]
    assert "lenet5_bn" in capsys.readouterr().out


@pytest.mark.slow  # 7 s: a benchmark's smoke run (its calls into the library: the check above)
def test_roofline_quick_reports_percent_of_gemm(tmp_path):
    out = tmp_path / "roofline.json"
    assert main(["roofline", "--quick", "--models", "cnn4_bn", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    row = result["models"]["cnn4_bn"]
    assert result["gemm_gflops"] > 1 and row["img_per_s"] > 0
    # 3 x the forward FLOPs TF's profiler counts for cnn4_bn at 28x28x1 (about 20 MFLOP)
    assert 0.05 < row["train_gflops"] < 0.07
    assert row["pct_of_gemm"] == pytest.approx(100 * row["img_per_s"] * row["train_gflops"] / result["gemm_gflops"],
                                               rel=0.01)
    assert result["peak_rss_mb"] > 100


@pytest.mark.slow  # 9 s: a benchmark's smoke run, not a check of the library
def test_overheads_quick_measures_every_setting(tmp_path):
    out = tmp_path / "overheads.json"
    assert main(["overheads", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["steps_per_execution"]) == {"mlp", "lenet5"}
    for rates in result["steps_per_execution"].values():
        assert set(rates) == {"1", "8", "32"} and min(rates.values()) > 0
    for row in result["xla"].values():
        assert row["on"] > 0 and row["off"] > 0
    assert result["defaults"]["jit_compile"] is False  # no GPU here: XLA off by default


@pytest.mark.slow  # 10 s: a benchmark's smoke run, not a check of the library
def test_pipeline_quick_compares_three_pipelines(tmp_path):
    out = tmp_path / "pipeline.json"
    assert main(["pipeline", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    for name in ("fashion_mnist", "synthetic_32x32x3"):
        row = result["datasets"][name]
        assert set(row["pipelines"]) == {"batched", "per_example", "numpy"} and row["train_img_per_s"] > 0
        for p in row["pipelines"].values():
            assert p["ratio_to_training"] == pytest.approx(p["img_per_s"] / row["train_img_per_s"], rel=0.02)


@pytest.mark.slow  # 4 s: a benchmark's smoke run (its calls into the library: the check above)
def test_time_to_accuracy_quick_records_each_epoch(tmp_path):
    out = tmp_path / "tta.json"
    assert main(["time_to_accuracy", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["epochs"] == 1 and set(result["seconds_to"]) == {"0.92", "0.93", "0.94"} and list(result["runs"]) == ["all"]
    (epoch,) = result["runs"]["all"]["per_epoch"]
    assert 0.0 <= result["test_accuracy"] == epoch["test_accuracy"] <= 1.0 and epoch["train_seconds"] > 0


@pytest.mark.slow  # 3 s: a benchmark's smoke run (its calls into the library: the check above)
def test_precision_quick_times_both_policies_on_the_same_model(tmp_path, capsys):
    out = tmp_path / "precision.json"
    assert main(["precision", "--quick", "--models", "cnn4_bn", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    row = result["models"]["cnn4_bn"]
    assert list(result["models"]) == ["cnn4_bn"] and row["params"] > 0
    assert row["ratio"] == pytest.approx(row["bfloat16_img_per_s"] / row["float32_img_per_s"], rel=0.01)
    assert result["machine"]["auto_precision"] in ("float32", "mixed_bfloat16", "mixed_float16")
    assert "cnn4_bn" in capsys.readouterr().out


@pytest.mark.slow  # 8 s: a benchmark's smoke run, not a check of the library
def test_vs_keras_apps_quick_compares_parameters_and_speed(tmp_path):
    out = tmp_path / "apps.json"
    assert main(["vs_keras_apps", "--quick", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["models"]["vgg16"]
    assert row["params"] == row["keras_params"] > 14_000_000
    assert row["ratio"] == pytest.approx(row["img_per_s"] / row["keras_img_per_s"], rel=0.01)


@pytest.mark.slow  # 3 s each: a benchmark's smoke run (its calls into the library: the check above)
@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_batchnorm_quick_times_both_layers_on_the_same_model(tmp_path, precision):
    out = tmp_path / "bn.json"
    assert main(["batchnorm", "--quick", "--precision", precision, "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    row = result["models"]["cnn4_bn"]
    assert result["precision"] == precision and row["fused_img_per_s"] > 0 and row["keras_img_per_s"] > 0
    assert row["ratio"] == pytest.approx(row["fused_img_per_s"] / row["keras_img_per_s"], rel=0.01)
    # under a mixed policy, a third side: the fused kernel fed float32
    assert ("ratio_fused_float32" in row) == (precision != "float32")


def test_the_batchnorm_sides_are_the_layers_they_claim():
    from bench import batchnorm
    from keras_course.models.layers import BatchNormalization

    fused_f32 = batchnorm._fused_in_float32()
    model = batchnorm._build_with(fused_f32, "cnn4_bn", "cnn", (28, 28, 1), {}, "mixed_bfloat16")
    norms = [layer for layer in model.layers if isinstance(layer, BatchNormalization)]
    assert norms and all(isinstance(layer, fused_f32) for layer in norms)
    assert model.get_layer(norms[0].name).compute_dtype == "bfloat16"
    x = np.random.default_rng(0).uniform(0, 255, (2, 28, 28, 1)).astype("float32")
    assert np.isfinite(np.asarray(model(x, training=True), dtype="float32")).all()
    keras_model = batchnorm._build_with(keras.layers.BatchNormalization, "cnn4_bn", "cnn", (28, 28, 1), {}, "float32")
    assert not any(isinstance(layer, BatchNormalization) for layer in keras_model.layers)


@pytest.mark.slow  # 17 s: a benchmark's smoke run, not a check of the library
def test_vs_torch_quick_times_both_sides(tmp_path):
    out = tmp_path / "torch.json"
    assert main(["vs_torch", "--quick", "--models", "lenet5,cnn4_bn", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert list(result["models"]) == ["lenet5", "cnn4_bn"] and result["torch"].startswith("2.13.0")
    for row in result["models"].values():
        assert row["params"] == row["torch_params"] > 60_000
        assert row["torch_img_per_s"] == max(row["torch_nchw_img_per_s"], row["torch_channels_last_img_per_s"])
        assert row["ratio"] == pytest.approx(row["keras_img_per_s"] / row["torch_img_per_s"], rel=0.01)


def test_every_torch_twin_has_the_parameter_count_of_its_keras_model():
    from bench import steps, torch_nets, vs_torch

    for label, name, options, torch_name, shape, _ in vs_torch.MODELS:
        ours = steps.compiled(name, shape, options=options)
        trainable = sum(int(np.prod(w.shape)) for w in ours.trainable_weights)
        assert trainable == torch_nets.count_params(getattr(torch_nets, torch_name)(in_channels=shape[-1])), label


def test_torch_twin_of_cnn4_bn_computes_what_ours_computes():
    # same weights in, same logits out: the twin is the same network, not just the same parameter count
    import torch

    from bench import torch_nets
    from keras_course import models

    ours = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10, classifier_activation=None)
    twin = torch_nets.cnn4_bn().eval()
    keras_weights = [w for w in ours.weights if "moving" not in w.path]
    torch_weights = [p for _, p in twin.named_parameters()]
    assert len(keras_weights) == len(torch_weights) == 14
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for k, t in zip(keras_weights, torch_weights):
            k.assign(rng.normal(0.5 if "gamma" in k.path else 0.0, 0.1, k.shape).astype("float32"))
            value = k.numpy()
            value = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T if value.ndim == 2 else value
            t.copy_(torch.from_numpy(np.ascontiguousarray(value)))
    x = rng.integers(0, 256, (2, 28, 28, 1)).astype("float32")
    with torch.no_grad():
        got = twin(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
    np.testing.assert_allclose(got, ours.predict(x, verbose=0), rtol=1e-4, atol=1e-4)


@pytest.mark.slow  # 26 s; the two local workers it times are tested in the default suite by tests/test_distribute.py
def test_scaling_quick_times_one_replica_and_two_local_workers(tmp_path):
    out = tmp_path / "scaling.json"
    assert main(["scaling", "--quick", "--json", str(out)]) == 0
    settings = json.loads(out.read_text())["settings"]
    assert settings["default"]["replicas"] == 1 and settings["default"]["ratio_to_default"] == 1.0
    worker = settings["multiworker"]
    assert worker["replicas"] == 2 and worker["chief"] is True and worker["threads"] >= 1 and worker["img_per_s"] > 0


def test_timed_fits_refuse_step_counts_keras_would_round_up():
    import keras
    import tensorflow as tf

    from bench import steps

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", steps_per_execution=8)
    x = np.zeros((16, 4), "float32")
    data = tf.data.Dataset.from_tensors((x, np.zeros(16, "int32"))).repeat()
    # Keras 3.15 trains whole executions on a repeating dataset: 12 steps asked, 16 run
    model.fit(data, steps_per_epoch=12, epochs=1, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 16
    with pytest.raises(ValueError, match="not a multiple"):
        steps.make_fit(model, data, 12)
    steps.make_fit(model, data, 16)()
    assert int(model.optimizer.iterations.numpy()) == 32


def test_conv_ceiling_times_the_same_convolutions_and_batch_norms_as_the_models_run():
    import torch

    from bench import conv_ceiling, steps, torch_nets
    from keras_course import models, training

    for label, name, options, torch_name, shape, _ in conv_ceiling.MODELS:
        found = conv_ceiling.keras_convolutions(steps.compiled(name, shape, options=options))
        assert [first for *_, first in found] == [True] + [False] * (len(found) - 1), label
        if torch_name:  # every Keras convolution has its twin's: same input and kernel shapes, in NCHW
            twin = getattr(torch_nets, torch_name)(in_channels=shape[-1])
            inputs = [(tuple(in_shape[1:]), tuple(conv.weight.shape)) for conv, in_shape, _ in
                      conv_ceiling.torch_convolution_shapes(twin, torch.zeros(1, shape[-1], *shape[:2]))]
            keras_side = [((k[2], s[0], s[1]), (k[3], k[2], k[0], k[1])) for s, k, *_ in found]
            assert sorted(inputs) == sorted(keras_side), label
    resnet20 = steps.compiled("resnet20", (32, 32, 3))
    assert len(conv_ceiling.keras_convolutions(resnet20)) == 19  # option A shortcuts have no convolutions
    # batch norm's floor: 8 passes over each BN layer's float32 activations (19 in resnet20, one per convolution)
    activations = 28 * 28 * 32 + 14 * 14 * 64 + 7 * 7 * 128 + 3 * 3 * 256
    cnn4_bn = steps.compiled("cnn4_bn", (28, 28, 1))
    assert conv_ceiling.batch_norm_bytes(cnn4_bn, 128) == 128 * activations * 4 * 8
    resnet_activations = 32 * 32 * 16 * 7 + 16 * 16 * 32 * 6 + 8 * 8 * 64 * 6
    assert conv_ceiling.batch_norm_bytes(resnet20, 2) == 2 * resnet_activations * 4 * 8
    with training.dtype_policy("mixed_bfloat16"):
        half = models.build("cnn4_bn", input_shape=(28, 28, 1), num_classes=10)
    assert conv_ceiling.batch_norm_bytes(half, 128) == 128 * activations * 2 * 8


@pytest.mark.timing  # so -m slow's: 21-30 s, alone in one process (what it checks without timing: the test above)
def test_conv_ceiling_quick_run_finds_the_convolutions_and_batch_norms_inside_the_step(tmp_path, capsys):
    out = tmp_path / "ceiling.json"
    assert main(["conv_ceiling", "--quick", "--models", "cnn4_bn", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["models"]["cnn4_bn"]
    # the convolutions are most of a step but not all of it: BN, ReLU, pooling, the head and the optimizer remain
    assert 0.3 < row["conv_share"] < 1 and row["pct_of_gemm"] < row["pct_ceiling"]
    assert row["ratio_ceiling"] == pytest.approx(row["torch_step_ms"] / row["tf_conv_ms"], rel=0.01)
    assert row["ratio"] < row["ratio_ceiling"] and "ceiling" in capsys.readouterr().out
    bandwidth = json.loads(out.read_text())["memory_gbs"]
    assert row["bn_floor_ms"] == pytest.approx(row["bn_mb"] / bandwidth, rel=0.01)
    assert row["pct_ceiling_bn"] < row["pct_ceiling"] and row["ratio_ceiling_bn"] < row["ratio_ceiling"]
    assert 0 < row["tf_bn_alone_ms"] < row["keras_step_ms"] - row["tf_conv_ms"]  # the step holds its batch norms
    ablation = json.loads(out.read_text())["cnn4_bn_ablation_ms"]
    assert set(ablation) == {"full", "no_batch_norm", "no_relu", "no_batch_norm_no_relu"}
    assert ablation["no_batch_norm_no_relu"] < ablation["full"]  # 4 BN + 4 ReLU layers cost measurable time


@pytest.mark.slow
def test_compression_benchmark_runs_quick_with_every_technique_and_goal(tmp_path, capsys):
    out = tmp_path / "compression.json"
    assert main(["compression", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    techniques = [row["technique"] for row in result["rows"]]
    assert techniques == ["dense", "student_alone", "prune_90", "channels_50", "factorize_50", "ptq_int8", "qat_int8",
                          "ptq_int4", "qat_int4", "distill", "combined"]
    fields = {"test_accuracy", "params", "nonzero_params", "storage_bits", "macs", "sparse_macs", "tflite_bytes",
              "tflite_gzip_bytes", "latency_ms", "seeds"}
    assert all(fields <= set(row) for row in result["rows"])
    rows = {row["technique"]: row for row in result["rows"]}
    assert rows["prune_90"]["nonzero_params"] < 0.2 * rows["dense"]["nonzero_params"]
    assert rows["channels_50"]["macs"] < 0.4 * rows["dense"]["macs"]
    assert len(result["goals"]) == 9 and all(set(goal) == {"goal", "measured", "met"} for goal in result["goals"])
    printed = capsys.readouterr().out
    assert "combined" in printed and printed.count("met ") + printed.count("MISSED") == 9

    # --techniques measures those rows again into the same file; the other rows stay as they were
    assert main(["compression", "--quick", "--techniques", "ptq_int8", "--json", str(out)]) == 0
    again = json.loads(out.read_text())
    assert [row["technique"] for row in again["rows"]] == techniques
    assert [r for r in again["rows"] if r["technique"] != "ptq_int8"] == [
        r for r in result["rows"] if r["technique"] != "ptq_int8"]
    (mark,) = again["remeasured"]
    assert mark["techniques"] == ["ptq_int8"]
    with pytest.raises(SystemExit, match="unknown techniques"):
        main(["compression", "--quick", "--techniques", "qat_int9", "--json", str(out)])
    with pytest.raises(SystemExit, match="same --models and --seeds"):
        main(["compression", "--quick", "--seeds", "1", "--techniques", "ptq_int8", "--json", str(out)])


@pytest.mark.slow
def test_augment_benchmark_runs_quick_with_every_policy(tmp_path, capsys):
    out = tmp_path / "augment.json"
    assert main(["augment", "--quick", "--models", "cnn4_bn", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert [row["policy"] for row in result["rows"]] == ["none", "light", "standard", "mixup", "cutmix", "randaugment"]
    assert all(0 <= row["test_accuracy"] <= 1 and row["epoch_seconds"] > 0 for row in result["rows"])
    assert "randaugment" in capsys.readouterr().out


def test_augment_benchmark_keeps_the_other_models_rows_of_an_earlier_result_of_the_same_budget(tmp_path):
    from bench import augment

    budget = {"lr": 0.2, "seed": 0}
    earlier = {"budget": budget, "quick": False, "epochs": {"cnn4_bn": 10, "resnet20": 6}, "date": "2026-12-01",
               "machine": {"cores": 2},
               "rows": [{"model": "cnn4_bn", "policy": "none", "test_accuracy": 0.93},
                        {"model": "resnet20", "policy": "none", "test_accuracy": 0.5}]}
    path = tmp_path / "augment.json"
    path.write_text(json.dumps(earlier))
    rows, epochs, measured = augment._kept_rows(str(path), ["resnet20"], budget, quick=False)
    assert rows == [earlier["rows"][0]] and epochs == {"cnn4_bn": 10}
    assert measured == {"cnn4_bn": {"date": "2026-12-01", "machine": {"cores": 2}}}
    assert augment._kept_rows(str(path), ["resnet20"], {**budget, "lr": 0.1}, quick=False) == ([], {}, {})
    assert augment._kept_rows(str(path), ["resnet20"], budget, quick=True) == ([], {}, {})
    assert augment._kept_rows(str(tmp_path / "absent.json"), ["resnet20"], budget, quick=False) == ([], {}, {})


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", ""])
def test_an_earlier_result_that_is_not_one_is_refused_in_one_line_by_both_benchmarks_that_update_one(tmp_path,
                                                                                                    content):
    from bench import augment, compression

    path = tmp_path / "earlier.json"
    path.write_text(content)
    with pytest.raises(SystemExit, match=r"^compression: --json .* is not a readable result"):
        compression._previous(str(path), "cnn4_bn", [0], False)
    with pytest.raises(SystemExit, match=r"^augment: --json .* is not a readable result"):
        augment._kept_rows(str(path), ["resnet20"], {"seed": 0}, quick=False)


@pytest.mark.slow
def test_ssl_benchmark_runs_quick_and_reports_the_goal(tmp_path, capsys):
    out = tmp_path / "ssl.json"
    assert main(["ssl", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    (row,) = result["rows"]
    assert {"scratch", "scratch_std", "linear_probe", "linear_probe_std", "fine_tune", "fine_tune_std"} <= set(row)
    assert result["pretrain"]["epochs_run"] == 1 and 0 < result["pretrain"]["test_knn_accuracy"] <= 1
    assert set(result["goal"]) == {"goal", "measured", "met"} and "linear probe" in capsys.readouterr().out
