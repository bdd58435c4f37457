# %% [markdown]
# # X or O: a convolutional network with filters set by hand, then learned
#
# Before a convolutional network learns anything, it is worth seeing that its pieces do something we can follow
# by hand. This lab builds the course workshop's network for telling an X from an O:
#
# 1. **Convolution**: three 3×3 filters of +1 and −1 — a "\\" diagonal, a "/" diagonal and a small "x" — slide
#    over the 16×16 image. Where the ink under the window has the filter's shape, the weighted sum is large.
# 2. **ReLU** drops the negative responses: a filter only says "I see my shape here", never "I see its opposite".
# 3. **Max-pooling** keeps the strongest response in each 2×2 block, so a stroke shifted by a pixel still counts.
# 4. **A dense layer** weighs the pooled responses into a vote for X or for O.
#
# The claim tested: with the three filters fixed by hand and only the vote learned, the network already tells X
# from O on letters that are shifted, rescaled, drawn thicker or thinner and sprinkled with noise: an X is made of
# the two diagonals, an O has them only where its ring slants. A second network, the same shape but with its
# filters learned from a random start, should get there too, and we draw its filters next to the hand-set ones.
#
# Target: test accuracy of at least 0.95 for both networks.

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
# The filters are the workshop's, written as the 3×3 grids they are. The pixels are rescaled so that the
# background is 0 and the ink 1: with a background of −1, every filter would answer the empty background with a
# response of 3 (minus times minus), and the vote would have to learn to ignore it.

# %% tags=["parameters"]
QUICK = False  # True: one epoch per network, a smoke test
OUT = "runs/labs"  # folder the figure is written to
HAND_FILTERS = {  # +1 where the filter expects ink, -1 where it expects background
    "\\ diagonal": [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]],
    "/ diagonal": [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]],
    "x centre": [[1, -1, 1], [-1, 1, -1], [1, -1, 1]],
}
PIXELS = "rescale"  # background 0, ink 1
EPOCHS = 15  # passes over the training letters
QUICK_EPOCHS = 1
LEARNING_RATE = 1e-2  # Adam's step size

# %% active="py"
# Run as a script, the command line can override the parameters (a notebook skips this cell).
from keras_course import labs  # noqa: E402

QUICK, OUT = labs.command_line("X or O: filters set by hand, then learned", QUICK, OUT)

# %% [markdown]
# ## Two networks of the same shape
#
# The registry's `simple_cnn` is exactly the four steps above. Given `kernels=` and `train_kernels=False` it
# starts from our filters and keeps them frozen, so training only adjusts the dense vote. The second network is
# given only the number of filters and learns them from a random start. `experiments.fit` loads the `x_vs_o`
# dataset (the letters are drawn at random positions, sizes and stroke widths, with noise), trains, and evaluates
# each network on test letters it never saw.

# %%
import os

import numpy as np

from keras_course import data, experiments, labs, viz

epochs = QUICK_EPOCHS if QUICK else EPOCHS
hand = experiments.fit("simple_cnn", "x_vs_o", epochs=epochs, lr=LEARNING_RATE, kernels=list(HAND_FILTERS.values()),
                       train_kernels=False, normalization=PIXELS)
learned = experiments.fit("simple_cnn", "x_vs_o", epochs=epochs, lr=LEARNING_RATE, filters=len(HAND_FILTERS),
                          normalization=PIXELS)
scores = {"hand-set filters": hand.test["accuracy"], "learned filters": learned.test["accuracy"]}
scores

# %% [markdown]
# Both accuracies should be close to 1: the hand-set filters are enough, and gradient descent finds filters that
# are at least as good.
#
# ## Look: what each filter sees
#
# The top two rows show one test X and one test O, each followed by the three hand-set filters' responses after
# ReLU (brighter: stronger; each map is drawn on its own scale, so even faint responses show). The bottom rows
# show the filters themselves, red for +1 and blue for −1: the three hand-set ones, then the three the second
# network learned.

# %%
x, y = data.to_numpy(hand.splits[2])
images, titles = [], []
for label, letter in enumerate(hand.info.class_names):
    image = x[np.flatnonzero(y == label)[0]]
    maps, _ = viz.feature_maps(hand.model, image, "conv_relu")
    images += [image[..., 0]] + [maps[..., k] for k in range(len(HAND_FILTERS))]
    titles += [f"an {letter}"] + [f"{name} on the {letter}" for name in HAND_FILTERS]
learned_kernels = np.asarray(learned.model.get_layer("conv").kernel)[:, :, 0, :]
images += [np.asarray(k, "float32") for k in HAND_FILTERS.values()] + [np.zeros((3, 3))]
images += [learned_kernels[..., k] for k in range(len(HAND_FILTERS))]
titles += [f"hand-set {name}" for name in HAND_FILTERS] + [""]
titles += [f"learned filter {k + 1}" for k in range(len(HAND_FILTERS))]
path = os.path.join(OUT, "x_vs_o.png")
figure = viz.image_grid(images, titles, path, cols=4, size=2.6, signed=tuple(range(8, 16)),
                        title="X or O: what the hand-set filters see; hand-set filters and learned ones")
figure

# %% [markdown]
# The responses are sparser than a drawing of the idea suggests. The strokes are two to three pixels thick, so
# they also cover the −1 cells around a filter's diagonal, and a diagonal filter answers most where only its own
# diagonal is inked, along the edges of strokes. The "x" filter, with five +1 cells, answers faintly almost
# everywhere, noise included. What the vote needs is not clean maps but pooled responses that differ between X
# and O consistently, and the test accuracy says they do.
#
# The learned filters look nothing like the hand-set checkerboards: they are smooth ramps from blue to red, edge
# detectors that respond where ink begins in one direction. A network needs filters whose responses *separate*
# the two letters, and many sets of three 3×3 grids do that.
#
# ## Result

# %%
reached = min(scores.values()) >= 0.95
print("x vs o: test accuracy " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
      + f": {labs.verdict(reached)}; plot: {path}")
RESULT = scores

# %% [markdown]
# ## What we learned
#
# - A convolution is a template match repeated at every position; ReLU keeps only the matches; max-pooling makes
#   the match tolerant to small shifts. Together they turn "where are the strokes?" into a short summary a single
#   dense layer can vote on.
# - Filters do not have to be learned for a convolutional network to work: with good hand-made filters only the
#   last layer needs training. This is the idea behind transfer learning, where the filters come from a network
#   trained on another task instead of from a person.
# - Learned filters need not be interpretable to be good. The network optimises the final accuracy, not the
#   resemblance to our intuition.
#
# ## Try this
#
# 1. Set `PIXELS = {"mean": 127.5, "variance": 127.5 ** 2}`, which maps the background to −1 and the ink to +1.
#    Every filter then answers the empty background too (−1 times −1 is +1). Expect no loss of accuracy (0.998
#    when we tried): the response to the background is the same for both letters, and the vote learns to
#    discount it.
# 2. Replace the "x centre" filter by a horizontal bar, `[[-1, -1, -1], [1, 1, 1], [-1, -1, -1]]`. Expect the
#    accuracy to stay high (0.992 when we tried): the two diagonal detectors carry most of the evidence.
# 3. Learn a single filter: pass `filters=1` in the second `experiments.fit` call. Expect it to be enough (1.000
#    when we tried): an X and an O differ so much that one learned edge detector separates them. This task is
#    easy, which is why hand-set filters and a learned vote were enough.
