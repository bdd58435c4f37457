"""Convolution by hand: classic 3x3 kernels on a photograph, and the decks' worked numbers.

What it shows: a convolution slides one small grid of weights over the image and sums the products. Sobel kernels
answer "how fast does brightness change left-right / up-down" (edges), sharpen adds the difference from the
neighbours back, blur averages. The numpy convolution of `keras_course.scratch` (written from the definition)
gives what TensorFlow's `tf.nn.conv2d` gives. Then the worked examples: the 3x3 kernel 0.1 ... 0.9 on the 7x7 grid
1 ... 49 gives 94.2 at the highlighted position (the window whose top-left value is 10, centred on 18), and the
sharpen kernel on a bright 255-valued patch gives 256, above the largest pixel value (the deck's patch is not
reproduced here: ours is a 255 centre whose four neighbours are 255, 255, 255 and 254).
Target: 94.2 and 256 exactly; the numpy convolution within 1e-3 of TensorFlow's on the photograph.

Run: python apps/conv_kernels.py [--quick] [--out runs/labs]
"""

import os

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_sample_image

from _common import parse_lab_args
from keras_course import scratch, viz

## Settings: the kernels, as (height, width) grids
KERNELS = {
    "Sobel x (left-right change)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y (up-down change)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "blur (3x3 box)": [[1 / 9] * 3] * 3,
}
SIGNED = (1, 2)  # the Sobel responses are drawn around 0: negative blue, positive red


def grayscale_photo(quick):
    """scikit-learn's sample photograph (a Chinese temple), as luminance 0-255; a corner of it with --quick."""
    rgb = load_sample_image("china.jpg").astype("float64")
    gray = rgb @ np.array([0.299, 0.587, 0.114])
    return gray[100:228, 200:328] if quick else gray


def apply(image, kernel):
    """The kernel over the whole image ('same' padding): image (h, w) -> (h, w)."""
    kernel = np.asarray(kernel, dtype="float64")[:, :, None, None]
    return scratch.conv2d(image[None, :, :, None], kernel, padding="same")[0, :, :, 0]


def worked_examples():
    grid = np.arange(1, 50, dtype="float64").reshape(7, 7)
    kernel = (np.arange(1, 10) / 10).reshape(3, 3)
    out = scratch.conv2d(grid[None, :, :, None], kernel[:, :, None, None])[0, :, :, 0]  # 'valid': 5x5
    patch = np.array([[255, 255, 255], [255, 255, 255], [255, 254, 255]], dtype="float64")
    sharpened = scratch.conv2d(patch[None, :, :, None], np.asarray(KERNELS["sharpen"], "float64")[:, :, None, None])
    return float(out[1, 2]), float(sharpened[0, 0, 0, 0])


def main(argv=None):
    args = parse_lab_args(__doc__, argv)
    photo = grayscale_photo(args.quick)

    ## Each kernel over the photograph, with numpy
    responses = {name: apply(photo, kernel) for name, kernel in KERNELS.items()}

    ## The same with TensorFlow: the numpy convolution must agree
    largest = max(float(np.max(np.abs(out - tf.nn.conv2d(photo[None, :, :, None], np.asarray(KERNELS[name], "float64")
                                                          [:, :, None, None], 1, "SAME").numpy()[0, :, :, 0])))
                  for name, out in responses.items())

    ## Look
    images = [photo] + list(responses.values())
    titles = ["photograph (luminance)"] + [f"{name}" for name in responses]
    images[3] = np.clip(images[3], 0, 255)  # a sharpened pixel can leave 0-255: clip it to show it
    titles[3] += " (clipped to 0-255)"
    path = viz.image_grid(images, titles, os.path.join(args.out, "conv_kernels.png"), cols=3, signed=SIGNED,
                          size=5.0, title="3x3 kernels applied with keras_course.scratch.conv2d")

    ## The decks' worked numbers
    value, sharpened = worked_examples()
    reached = value == 94.2 or abs(value - 94.2) < 1e-9
    reached = reached and sharpened == 256 and largest < 1e-3
    print(f"conv kernels: worked example {value:.1f} (deck: 94.2), sharpen on the bright patch {sharpened:.0f} "
          f"(deck: 256), numpy vs tf.nn.conv2d max |diff| {largest:.1e}: {'reached' if reached else 'NOT reached'}; "
          f"plot: {path}")
    return {"worked_example": value, "sharpen_patch": sharpened, "max_diff_vs_tf": largest}


if __name__ == "__main__":
    main()
