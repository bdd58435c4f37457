# %% [markdown]
# # Self-supervised pretraining: learning from images before anyone labels them
#
# Labels are the expensive part of a dataset. Sixty thousand clothing photos cost nothing to collect; someone
# having to say "sneaker", "bag", "shirt" for each of them is what costs. The transfer-learning lab showed the
# usual answer, reusing a network trained on a big labelled task, and also how it fails: features learnt on tops
# and trousers did not separate sandals from bags. This lab takes the other road of the course's session 2:
# **pretrain on the target's own images, without their labels**, then learn the classes from a handful of
# labelled examples.
#
# How can a network learn anything without labels? **SimCLR** (Chen et al. 2020) invents its own task. Each
# image is augmented twice, cropped, flipped, blurred, brightened differently, and the network must recognise
# that the two views come from the same image, among all the other images' views in the batch. The loss
# (NT-Xent, a softmax over cosine similarities divided by a temperature) pulls the two views of an image
# together and pushes them away from every other image. To succeed, the encoder has to ignore what the
# augmentation changes (position, scale, brightness) and keep what it does not: shape and texture, the things
# that also decide the class. The augmentation is therefore the real teacher: whatever it varies, the features
# learn to ignore. A small projection head sits on top of the encoder during pretraining and is thrown away
# afterwards; the encoder's own features are what we keep.
#
# (The library also has **SimSiam** (Chen & He 2021), which needs no negatives: one branch predicts the other's
# projection through a stop-gradient. It is `--ssl simsiam` on the command line; this lab uses SimCLR.)
#
# While pretraining runs nobody can read a loss value and know whether the features are good, so each epoch a
# **k-nearest-neighbour monitor** classifies a thousand held-back images by the labels of their 20 most similar
# neighbours among 2,000 labelled reference images. The labels are read by the monitor only, never by the loss.
#
# The claim tested, stated before running: with 20 labelled images per class, a classifier on the pretrained
# encoder beats the same network trained from scratch (with the same augmentation and its best settings, chosen
# fairly on a validation split) by at least three points of test accuracy. The course's own claim is bolder, ten
# points; the study behind the README's table (`python -m bench ssl`: 30 epochs of pretraining, three seeds) found
# five to seven on this data, and this lab pretrains for a third of that.

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
# The encoder is the demo's network (cnn4_bn, its features the 256 values before the classifier), pretrained on
# all 60,000 Fashion-MNIST training images without their labels for `EPOCHS` epochs, about 30 seconds each on two
# cores. The few-label task is all ten classes from `LABELS_PER_CLASS` images each; a fifth of them is set aside
# to choose the settings. `QUICK` pretrains for one epoch on 1,024 images and uses 5 labels per class, only to
# check that everything runs.

# %% tags=["parameters"]
QUICK = False  # True: 1,024 images, 1 epoch of pretraining, 5 labels per class, one setting: a smoke test
OUT = "runs/labs"  # folder of the run directory and the figures
EPOCHS = 10  # epochs of pretraining
PRETRAIN = dict(model="cnn4_bn", dataset="fashion_mnist", ssl="simclr", batch_size=256, optimizer="adamw", lr=2e-3,
                schedule="cosine", warmup_epochs=1, val_fraction=0.0, bn_momentum=0.9, seed=0)
LABELS_PER_CLASS = 20
GRID = dict(epochs=[30, 90], lrs=[1e-3, 3e-3])  # Adam, batches of 32 labelled images, chosen on validation
QUICK_SETTINGS = dict(limit=1024, warmup_epochs=0, model_options={"width": 0.5})

# %% active="py"
# Run as a script, the command line can override the parameters (a notebook skips this cell).
from keras_course import labs  # noqa: E402

QUICK, OUT = labs.command_line("Self-supervised pretraining", QUICK, OUT)

# %% [markdown]
# ## Look at the views first
#
# Every image below is shown as it is (top row) and as two views the pretraining pipeline draws from it. For
# grayscale images the `simclr` policy is crops resized back to full size, flips, brightness and contrast, blur
# and erasing: no colour distortion, since there is no colour. Ask of each pair: could you still tell that the
# two views are the same garment? The task must stay possible, or the network learns nothing; it must also be
# hard, or it learns shortcuts.

# %%
import os

import numpy as np

from keras_course import data, experiments, labs, viz

config = experiments.RunConfig(**{**PRETRAIN, "epochs": 1 if QUICK else EPOCHS, **(QUICK_SETTINGS if QUICK else {})})
pool, _, test_split, info = data.load("fashion_mnist", val_fraction=0.0, seed=0)
x_pool, y_pool = data.to_numpy(pool)
test = data.to_numpy(test_split)
views, view_labels = data.augment_preview(x_pool[:8], y_pool[:8], "simclr", num_classes=info.num_classes, views=2)
os.makedirs(OUT, exist_ok=True)
figure = viz.augmentation_grid(x_pool[:8], y_pool[:8], views, view_labels, info.class_names,
                               os.path.join(OUT, "ssl_views.png"), title="Two SimCLR views of each image")
figure

# %% [markdown]
# ## Pretrain without labels
#
# One `experiments.train` call, as `keras-course pretrain --ssl simclr` makes it: the run directory holds the
# whole model (to resume from) and `encoder.keras`, the part that is kept. The pipeline drops the labels before
# anything reads them.

# %%
run_dir = os.path.join(OUT, "ssl_pretrain")
metrics = experiments.train(config, run_dir, overwrite=True, verbose=0)
print(f"pretrained for {metrics['epochs_run']} epoch{'s' if metrics['epochs_run'] > 1 else ''} in {metrics['train_seconds']:.0f} s; kNN accuracy of the "
      f"features on the test images: {metrics['test_knn_accuracy']:.4f} (chance: 0.10)")

# %% [markdown]
# The learning curves: the NT-Xent loss, and the kNN monitor's accuracy, which is the number to watch. A loss
# that keeps falling while the kNN accuracy stalls means the network is getting better at the invented task
# without learning anything more about clothes.

# %%
labs.show_pictures([os.path.join(run_dir, "learning_curves.png")])

# %% [markdown]
# ## Learn the ten classes from a few labels, three ways
#
# - **(a) scratch**: the same network, randomly initialised, trained on the labelled images with flips and
#   shifts, at each point of `GRID`; the point with the best validation accuracy is kept.
# - **(b) linear probe**: the pretrained encoder frozen; a logistic regression (scikit-learn, trained to
#   convergence) on its features, its regularisation chosen on the same validation split.
# - **(c) fine-tune**: the pretrained encoder with a new softmax layer, everything trained together over the
#   same grid.
#
# The 10,000 test images are used once per method, to score the choice validation made.

# %%
import keras  # noqa: E402

from keras_course import models  # noqa: E402
from keras_course.ssl import few_labels  # noqa: E402

per_class = 5 if QUICK else LABELS_PER_CLASS
grid = dict(epochs=[2], lrs=[1e-3]) if QUICK else GRID
x, y = data.per_class_subset(x_pool, y_pool, per_class, seed=0)
train, val = few_labels.split_per_class(x, y, seed=0)
encoder_path = os.path.join(run_dir, experiments.report.ENCODER)


def scratch():
    model = models.build(config.model, input_shape=info.input_shape, num_classes=info.num_classes,
                         normalization=data.normalization_for(pool, info), **config.model_options)
    models.set_batch_norm_momentum(model, config.bn_momentum)
    return model


def fine_tune():
    return few_labels.classifier_on(keras.models.load_model(encoder_path), info.num_classes)


results = {}
for name, make in (("(a) scratch", scratch), ("(c) fine-tune", fine_tune)):
    results[name], choice = few_labels.fit_best(make, train, val, test, seed=0, **grid)
    print(f"{name:<16} test accuracy {results[name]:.4f}  (chosen: {choice['epochs']} epochs, lr {choice['lr']:g})")
results["(b) linear probe"], choice = few_labels.linear_probe(keras.models.load_model(encoder_path), train, val, test)
print(f"{'(b) linear probe':<16} test accuracy {results['(b) linear probe']:.4f}  (chosen: C={choice['C']:g})")

# %%
order = ["(a) scratch", "(b) linear probe", "(c) fine-tune"]
figure = viz.grouped_bars([f"{per_class} labels per class"], {name: ([results[name]], [0.0]) for name in order},
                          os.path.join(OUT, "ssl_few_labels.png"), ylabel="test accuracy",
                          title=f"Fashion-MNIST from {per_class} labelled images per class")
figure

# %% [markdown]
# ## Result

# %%
gain = max(results["(b) linear probe"], results["(c) fine-tune"]) - results["(a) scratch"]
reached = gain >= 0.03
print(f"self-supervised: with {per_class} labels per class, the pretrained encoder beats scratch by "
      f"{100 * gain:.1f} points ({results['(a) scratch']:.4f} -> probe {results['(b) linear probe']:.4f}, "
      f"fine-tune {results['(c) fine-tune']:.4f}): {labs.verdict(reached)}")
RESULT = {name: float(value) for name, value in results.items()}

# %% [markdown]
# ## What we learned
#
# - An encoder can learn useful features from images nobody labelled. After 10 epochs of SimCLR, with no label
#   read, 20 neighbours among 2,000 labelled images already classify the test images at 0.81; the same network
#   knows nothing (0.10) before pretraining.
# - The kNN curve is the one to watch. The NT-Xent loss fell at every epoch, but the kNN accuracy stopped rising
#   after about four epochs and then wandered between 0.80 and 0.81. A falling loss alone says nothing about the
#   features.
# - With 20 labels per class the pretrained encoder beat the network trained from scratch by 3.1 points: 0.760
#   with a logistic regression on frozen features, and 0.760 fine-tuned, against 0.729. The claim held, but by
#   less than the course's ten points. The README's study (30 epochs of pretraining, three seeds, 20 and 100
#   labels) finds +5.3 points at 20 labels and +1.7 at 100. The fewer the labels, the more pretraining is worth.
# - The baseline matters. A scratch network given augmentation and its best settings, chosen on a validation
#   split, is hard to beat on an easy dataset: 0.73 from 160 training images. A weak baseline (no augmentation,
#   one guessed learning rate) would have made pretraining look far better than it is.
#
# ## Try this
#
# 1. Pretrain longer: `EPOCHS = 30`. In the study the kNN accuracy went from 0.803 at epoch 10 to 0.813 at
#    epoch 30, and on the same seed as here its linear probe reached 0.798 at 20 labels (0.760 here). Expect a
#    little, not a lot.
# 2. Take the views away: `--augment flip` (in `PRETRAIN`, `augment=["flip"]`). The two views then differ by a flip
#    at most, the task becomes trivial, and the kNN accuracy should stay far below 0.80. The augmentation is the
#    teacher.
# 3. Try the method without negatives: `ssl="simsiam"`. It needs no large batch of other images, but watch the kNN
#    curve. SimSiam can collapse (every image the same feature) when its stop-gradient or predictor is removed.
# 4. Fewer labels: `LABELS_PER_CLASS = 5`. The gap to scratch should widen, and the choice made on a 10-image
#    validation split gets noisier: run two seeds and compare.
