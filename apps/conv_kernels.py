# %% [markdown]
# # Convolution by hand: classic 3×3 kernels on a photograph
#
# A convolutional layer does one simple thing many times: it slides a small grid of weights, the *kernel*, over
# the image, and at every position multiplies the pixels under it by the weights and sums the products. What the
# layer detects depends only on those nine numbers. Before any network learns its own kernels, this lab applies
# four that people designed by hand and shows what each one sees:
#
# - **Sobel x** and **Sobel y** answer "how fast does brightness change from left to right, or from top to
#   bottom?": they respond to vertical and horizontal edges, with a sign that says which side is brighter.
# - **sharpen** adds to each pixel its difference from its four neighbours, so edges get crisper.
# - **blur** replaces each pixel by the mean of its 3×3 neighbourhood, which smooths noise and fine texture.
#
# The convolution here is `keras_course.scratch.conv2d`, written in numpy from the definition, and the lab checks
# it against TensorFlow's `tf.nn.conv2d` on the same photograph: they must agree to rounding. Then it reproduces
# the course's two worked examples exactly. The claim tested: a convolution is nothing more than this weighted sum,
# and our from-scratch version computes what the framework computes.

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
# ## Settings: the kernels
#
# Each kernel is a (height, width) grid. The Sobel kernels sum to zero, so a flat region gives 0 and only change
# shows; the blur kernel sums to one, so it keeps the overall brightness; the sharpen kernel sums to one as well,
# but with negative neighbours. `QUICK = True` uses a 128×128 corner of the photograph instead of all of it.

# %% tags=["parameters"]
QUICK = False  # True: a 128x128 corner of the photograph
OUT = "runs/labs"  # folder the figure is written to
KERNELS = {
    "Sobel x (left-right change)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y (up-down change)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "blur (3x3 box)": [[1 / 9] * 3] * 3,
}
SIGNED = (1, 2)  # the Sobel responses are drawn around 0: negative blue, positive red

# %% active="py"
# Run as a script, the command line can override the parameters (a notebook skips this cell).
from keras_course import labs  # noqa: E402

QUICK, OUT = labs.command_line("Convolution by hand: classic 3x3 kernels on a photograph", QUICK, OUT)

# %% [markdown]
# ## The photograph, and one kernel over it
#
# The photograph is scikit-learn's sample image of a temple, turned into luminance (brightness, 0-255) with the
# usual weights of red, green and blue. `apply` pads the image by one pixel on each side ("same" padding), so the
# output keeps the image's size, and hands the work to the numpy convolution.

# %%
import os

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_sample_image

from keras_course import labs, scratch, viz


def grayscale_photo(quick):
    """scikit-learn's sample photograph (a Chinese temple), as luminance 0-255; a corner of it when `quick`."""
    rgb = load_sample_image("china.jpg").astype("float64")
    gray = rgb @ np.array([0.299, 0.587, 0.114])
    return gray[100:228, 200:328] if quick else gray


def apply(image, kernel):
    """The kernel over the whole image ('same' padding): image (h, w) -> (h, w)."""
    kernel = np.asarray(kernel, dtype="float64")[:, :, None, None]
    return scratch.conv2d(image[None, :, :, None], kernel, padding="same")[0, :, :, 0]


photo = grayscale_photo(QUICK)
responses = {name: apply(photo, kernel) for name, kernel in KERNELS.items()}
photo.shape

# %% [markdown]
# ## The same with TensorFlow
#
# `tf.nn.conv2d` is the operation Keras's `Conv2D` layer calls. Given the same image and kernel (as a
# height × width × in-channels × out-channels tensor) it must give the same numbers; the largest difference over
# all four kernels should be at the level of floating-point rounding, around 1e-12.

# %%
largest = max(float(np.max(np.abs(out - tf.nn.conv2d(photo[None, :, :, None], np.asarray(KERNELS[name], "float64")
                                                      [:, :, None, None], 1, "SAME").numpy()[0, :, :, 0])))
              for name, out in responses.items())
print(f"largest |numpy - tf.nn.conv2d| over the four kernels: {largest:.1e}")

# %% [markdown]
# ## Look: what each kernel sees
#
# The Sobel panels are drawn around zero: red where brightness rises in the kernel's direction, blue where it
# falls, white where nothing changes. A sharpened pixel can leave the 0-255 range (that is what "crisper" means),
# so its panel is clipped to show it.

# %%
images = [photo] + list(responses.values())
titles = ["photograph (luminance)"] + list(responses)
images[3] = np.clip(images[3], 0, 255)
titles[3] += " (clipped to 0-255)"
figure = viz.image_grid(images, titles, os.path.join(OUT, "conv_kernels.png"), cols=3, signed=SIGNED, size=5.0,
                        title="3x3 kernels applied with keras_course.scratch.conv2d")
figure

# %% [markdown]
# Sobel x lights up the vertical pillars and window frames, Sobel y the horizontal roof lines; the blurred panel
# has lost the fine texture of the tiles that the sharpened one exaggerates. The thin lines along the borders of
# the Sobel panels come from the padding: past the edge the image counts as black, so the border itself is an edge.
#
# ## The course's worked numbers
#
# First: the 3×3 kernel with weights 0.1, 0.2, …, 0.9 over the 7×7 grid of the numbers 1 to 49, without padding
# ("valid": a 5×5 output). At the window whose top-left value is 10 (centred on 18) the weighted sum is 94.2.
# Second: the sharpen kernel on a bright patch, a 255 centre whose four neighbours are 255, 255, 255 and 254,
# gives 5 × 255 − (255 + 255 + 255 + 254) = 256, brighter than any pixel can be (the course's own patch is not
# reproduced here; this one makes the same point).

# %%
grid = np.arange(1, 50, dtype="float64").reshape(7, 7)
kernel = (np.arange(1, 10) / 10).reshape(3, 3)
value = float(scratch.conv2d(grid[None, :, :, None], kernel[:, :, None, None])[0, 1, 2, 0])
patch = np.array([[255, 255, 255], [255, 255, 255], [255, 254, 255]], dtype="float64")
sharpened = float(scratch.conv2d(patch[None, :, :, None],
                                 np.asarray(KERNELS["sharpen"], "float64")[:, :, None, None])[0, 0, 0, 0])

# %% [markdown]
# ## Result

# %%
reached = abs(value - 94.2) < 1e-9 and sharpened == 256 and largest < 1e-3
print(f"conv kernels: worked example {value:.1f} (deck: 94.2), sharpen on the bright patch {sharpened:.0f} "
      f"(deck: 256), numpy vs tf.nn.conv2d max |diff| {largest:.1e}: {labs.verdict(reached)}; "
      f"plot: {os.path.join(OUT, 'conv_kernels.png')}")
RESULT = {"worked_example": value, "sharpen_patch": sharpened, "max_diff_vs_tf": largest}

# %% [markdown]
# ## What we learned
#
# - A convolution is a weighted sum over a sliding window; the kernel's nine weights decide what it detects.
# - Kernels that sum to zero (Sobel) detect change and ignore flat regions; kernels that sum to one (blur,
#   sharpen) keep brightness and reshape detail.
# - Our numpy convolution and TensorFlow's agree to rounding, so the layer in a network holds no hidden magic:
#   a trained conv net's first layer learns kernels much like these (lab 4 draws them).
#
# ## Try this
#
# 1. Add `"Laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]]` to `KERNELS` and `5` (its panel) to `SIGNED`. Expect
#    a panel that responds to edges in every direction at once, thin and signed on both sides of each edge.
# 2. Replace the blur by a 5×5 box (`[[1 / 25] * 5] * 5`). Expect a visibly stronger blur; the output keeps the
#    image's size because "same" padding grows with the kernel.
# 3. Replace Sobel y by the transpose of Sobel x (swap its rows and columns). Expect exactly the Sobel y panel:
#    the transpose of Sobel x *is* Sobel y, the same detector turned by a right angle.
