# %% [markdown]
# # Compression: smaller, faster networks that keep their accuracy
#
# A trained network is usually far bigger than the task needs. Sessions 3 to 6 of the course take a trained
# model and shrink it in four ways, each with its own idea of what is redundant:
#
# - **pruning** (Zhu & Gupta 2017): most individual weights are close to zero and barely matter; set the smallest
#   ones to exactly zero, a little more at each step of a short fine-tuning, so the rest can compensate;
# - **channel pruning** (Li et al. 2017): remove whole filters with the smallest weights, which gives a network
#   with fewer channels, one that is genuinely smaller and faster on any hardware;
# - **factorization**: replace each big layer by two thin ones whose product approximates it (a truncated SVD);
# - **quantization**: store and compute with 8-bit (or 4-bit) integers instead of 32-bit floats, either by
#   rounding a trained model (post-training) or by training through the rounding (quantization-aware training);
# - **distillation** (Hinton et al. 2015): train a small student to match a big teacher's softened predictions,
#   which carry more information than the labels alone ("this shirt looks a bit like a T-shirt"): the claim
#   is measured below, and here it does not hold.
#
# Each technique here is one call of `experiments.compress_run` (the command `keras-course compress`) on the same
# trained model, and every result is counted on the TFLite file that would be shipped to a phone: parameters,
# storage in bits, multiply-accumulates, file size plain and gzip'd, latency for one image on one thread, and test
# accuracy of that file. The claims tested:
#
# - zeroing 90% of the weights costs less than 1.5 points of accuracy, and the gzip'd file gets at least 3 times
#   smaller (zeros compress);
# - quantization-aware training to 8 bits costs less than half a point, with a file about 4 times smaller;
# - removing half the channels makes the file and the latency smaller, at a cost in accuracy that fine-tuning
#   mostly repairs.
#
# You will see a table of every technique and two pictures: accuracy against size and against latency.

# %% [markdown]
# The next cell installs the `keras_course` package when this notebook's kernel lacks it, from the clone of the
# repository the notebook sits in (`apps/notebooks/`). Elsewhere, Colab for instance, clone the repository first
# and open the notebook from its `apps/notebooks/` folder.

# %% active="ipynb"
# import importlib.util
#
# if importlib.util.find_spec("keras_course") is None:
#     %pip install -q -e ../..

# %% [markdown]
# ## Settings
#
# The dense model is the demo's network and recipe (cnn4_bn, one-cycle Nesterov), trained for 4 epochs on all
# 60,000 Fashion-MNIST images. Each technique then fine-tunes for `FINE_TUNE` epochs at a tenth of the learning
# rate (quantization-aware training at a hundredth: its batch norms are folded away). The student of the
# distillation experiment is the same network at half the width: a quarter of the parameters. `QUICK` trains on
# 600 images for one epoch, only to check that everything runs.

# %% tags=["parameters"]
QUICK = False  # True: 600 images, 1 epoch everywhere, two techniques, 20 latency calls: a smoke test
OUT = "runs/labs"  # folder of the run directories and the figures
DENSE = dict(model="cnn4_bn", dataset="fashion_mnist", epochs=4, batch_size=256, optimizer="nesterov", lr=0.2,
             schedule="one_cycle", weight_decay=5e-4, label_smoothing=0.1, augment=["flip"], bn_momentum=0.9,
             val_fraction=0.0, seed=0)
FINE_TUNE = 2  # epochs of each technique that trains
TECHNIQUES = {  # name -> keras-course compress settings
    "prune 90%": dict(prune=0.9),
    "channels 50%": dict(prune_channels=0.5),
    "factorize 50%": dict(factorize=0.5),
    "int8 post-training": dict(quantize="ptq8"),
    "int8 QAT": dict(quantize="qat8"),
    "int4 post-training": dict(quantize="ptq4"),
    "int4 QAT": dict(quantize="qat4"),
}
QUICK_SETTINGS = dict(limit=600, epochs=1, model_options={"width": 0.25})
QUICK_TECHNIQUES = ("prune 90%", "int8 QAT")  # the smoke test's share: every technique has its own tests

# %% active="py"
# Run as a script, the command line can override the parameters (a notebook skips this cell).
from keras_course import labs  # noqa: E402

QUICK, OUT = labs.command_line("Compression", QUICK, OUT)

# %% [markdown]
# ## Train the dense model
#
# An ordinary run directory, as `keras-course train` writes it: every compression starts from a finished run.

# %%
import os

from keras_course import experiments, labs, viz

dense_config = experiments.RunConfig(**{**DENSE, **(QUICK_SETTINGS if QUICK else {})})
fine_tune = 1 if QUICK else FINE_TUNE
latency_runs = 20 if QUICK else 200
root = os.path.join(OUT, "compression")
dense_run = os.path.join(root, "dense")
dense_metrics = experiments.train(dense_config, dense_run, overwrite=True, verbose=0)
print(f"dense cnn4_bn: test accuracy {dense_metrics['test_accuracy']:.4f} after {dense_config.epochs} epochs")

# %% [markdown]
# ## Compress it, one technique at a time
#
# Each call writes a run directory of its own with `compress_report.json`: the dense model's figures
# ("baseline") and the compressed model's, measured the same way. The quantized models are measured as
# full-integer TFLite files; a 4-bit model is stored by TFLite as int8 (it has no 4-bit kernels), so its file is
# no smaller than the 8-bit one, but its storage is counted at 4 bits.

# %%
reports = {}
for name, settings in TECHNIQUES.items():
    if QUICK and name not in QUICK_TECHNIQUES:
        continue
    result = experiments.compress_run(dense_run, os.path.join(root, name.replace(" ", "_").replace("%", "")),
                                      dict(settings, epochs=fine_tune, latency_runs=latency_runs), overwrite=True,
                                      verbose=0)
    reports.setdefault("dense", result["baseline"])
    reports[name] = result["compressed"]
    print(f"{name:<20} test accuracy {result['compressed']['test_accuracy']:.4f}")

# %% [markdown]
# ## Distillation: the same student, with and without a teacher
#
# The student (half the width) is trained first on its own, with the dense model's recipe. It then gets
# `FINE_TUNE` more epochs twice: once from the labels alone (`alpha=1.0`: the teacher's term has no weight) and
# once mostly from the teacher's softened predictions (`alpha=0.1`, temperature 4). Same student, same extra
# budget: the only difference is the teacher.

# %%
half = dense_config.model_options.get("width", 1.0) / 2
student_config = experiments.RunConfig(**{**dense_config.to_dict(), "model_options": {"width": half}})
student_run = os.path.join(root, "student")
experiments.train(student_config, student_run, overwrite=True, verbose=0)
for name, alpha in (("student alone", 1.0), ("student + teacher", 0.1)):
    result = experiments.compress_run(student_run, os.path.join(root, name.replace(" ", "_").replace("+", "with")),
                                      dict(distill_from=dense_run, alpha=alpha, temperature=4.0, epochs=fine_tune,
                                           latency_runs=latency_runs), overwrite=True, verbose=0)
    reports[name] = result["compressed"]
    print(f"{name:<20} test accuracy {result['compressed']['test_accuracy']:.4f}")

# %% [markdown]
# ## Look: the table
#
# Storage counts each tensor at its bit width, a pruned tensor as its non-zeros plus a one-bit mask. MACs are
# the multiply-accumulates of one image; "sparse" skips the zero weights (hardware that exploits them is rare,
# so the latency column is the honest one). The score is the course challenge's: storage relative to the dense
# model plus operations relative to the dense model, 2.0 for the dense model itself, lower is better.

# %%
from keras_course import compress  # noqa: E402

dense = reports["dense"]
print(f"{'':<20}{'test acc':>9}{'non-zero':>10}{'KiB':>8}{'MMACs':>7}{'sparse':>7}{'gzip KiB':>9}{'ms/img':>8}"
      f"{'score':>7}")
for name, row in reports.items():
    print(f"{name:<20}{row['test_accuracy']:>9.4f}{row['nonzero_params']:>10,}{row['storage_bits'] / 8192:>8.1f}"
          f"{row['macs'] / 1e6:>7.2f}{row['sparse_macs'] / 1e6:>7.2f}{row['tflite_gzip_bytes'] / 1024:>9.1f}"
          f"{row['latency_ms']:>8.3f}{compress.score(row, dense):>7.3f}")

# %% [markdown]
# Read the table column by column. Pruning leaves the parameter count and the dense MACs as they were (the zeros
# are still stored and multiplied by TFLite's dense kernels, so its latency is the dense model's) but the storage
# and the gzip'd file shrink with the zeros: 5.5 times here. Channel pruning cuts the MACs of the network as it runs
# (10.1 million to 2.6), and with them the latency, 3 to 4 times. Quantization divides the storage by 4 (8 bits) or 8
# (4 bits, counted), and on this CPU, whose vector units multiply int8 fast (AVX512-VNNI), the int8 model also runs
# about 3 times faster than the float one. Factorizing half the weights of the big layers halves their MACs, but
# two thin layers are slower per MAC than one wide one: the latency fell by only about a third. (Latencies move by
# 10-20% from one run to the next on a shared machine; compare them as ratios within one run.)
#
# ## Look: accuracy against size and against latency
#
# A technique is worth considering when no other is both smaller (or faster) and more accurate: those points
# form the Pareto front, ringed in red.

# %%
names = list(reports)
costs = {"storage (KiB, log scale)": [reports[n]["storage_bits"] / 8192 for n in names],
         "TFLite latency per image (ms, log scale)": [reports[n]["latency_ms"] for n in names]}
path = os.path.join(OUT, "compression_tradeoffs.png")
figure = viz.tradeoff_plot(names, [reports[n]["test_accuracy"] for n in names], costs, path,
                           title="Compressing cnn4_bn on Fashion-MNIST")
figure

# %% [markdown]
# ## Result

# %%
def drop(name):
    return dense["test_accuracy"] - reports[name]["test_accuracy"]


pruned, qat = reports["prune 90%"], reports["int8 QAT"]
reached = (drop("prune 90%") < 0.015 and dense["tflite_gzip_bytes"] / pruned["tflite_gzip_bytes"] >= 3
           and drop("int8 QAT") < 0.005 and dense["tflite_bytes"] / qat["tflite_bytes"] >= 3.5)
print(f"compression: 90% pruned {pruned['test_accuracy']:.4f} (dense {dense['test_accuracy']:.4f}), gzip "
      f"{dense['tflite_gzip_bytes'] / pruned['tflite_gzip_bytes']:.1f}x smaller; int8 QAT {qat['test_accuracy']:.4f}, "
      f"file {dense['tflite_bytes'] / qat['tflite_bytes']:.1f}x smaller: {labs.verdict(reached)}; plot: {path}")
RESULT = {name: float(row["test_accuracy"]) for name, row in reports.items()}

# %% [markdown]
# ## What we learned
#
# - Most of a trained network's weights can go. Pruning shows it for single weights, channel pruning for whole
#   filters, factorization for the rank of each layer; each keeps most of the accuracy once fine-tuned.
# - Smaller is not faster unless the hardware sees it: zeros in a dense kernel still cost a multiply. Only the
#   structured change (fewer channels) made the TFLite model faster here.
# - Quantizing to 8 bits after training already works well for a network like this one (0.9220 against 0.9223);
#   at 4 bits training through the rounding (QAT) did a little better than rounding afterwards (0.9213 against
#   0.9205), and the benchmark's three seeds show it more clearly, by 1.35 points on average.
# - A teacher does not always help. Here the student taught by the dense model (0.9132) did worse than the same
#   student given the same epochs on the labels alone (0.9178); the benchmark, training both from scratch, finds
#   the same (0.9209 against 0.9230). Two reasons are likely: the student is barely worse than its teacher to begin
#   with, and the teacher was trained with label smoothing, which Müller et al. (2019) showed erases the
#   similarities between classes that distillation passes on.
# - Measure on the deployed file. The figures here are those of the `.tflite` a phone would run, not of the Keras
#   model that produced it.
#
# ## Try this
#
# 1. Prune harder: `TECHNIQUES["prune 97%"] = dict(prune=0.97)`. Expect the accuracy to fall off a cliff
#    somewhere between 90% and 99%, and more fine-tuning epochs to push the cliff further out (not measured here).
# 2. Prune each layer alike: `dict(prune=0.9, scope="layer")` removes 90% of every layer, the first convolution
#    (288 weights) and the classifier included, instead of one threshold over the whole network. Expect a much
#    larger drop: on the benchmark's dense model (7 epochs, 0.9306) with 3 epochs of fine-tuning, 0.8860 per layer
#    against 0.9222 globally when we tried; globally, conv4 gave up 96% of its weights and the first convolution
#    only 21%.
# 3. Combine: `dict(prune=0.8, quantize="qat8")` zeroes 80% of the weights and then trains in int8: the two
#    savings multiply. Export it (`keras-course export --run-dir ... --formats tflite_int8`) and score the file with
#    `keras-course score .../export/model_int8.tflite`; the benchmark's `combined` row (a distilled student, pruned
#    and quantized) shows how far this goes.
