"""Self-supervised pretraining (the course's session 2): an encoder learns from unlabelled images by making two
augmented views of each image agree.

- `nt_xent`: SimCLR's normalised temperature-scaled cross-entropy (Chen et al. 2020).
- `SimCLR`: an encoder from the registry with a projection head, trained on pairs of views by `fit` (the
  pipeline: `data.make_pipeline(..., views=2)`, which drops the labels before anything else reads them).
- `knn_accuracy`, `KNNMonitor`: how well the features separate classes, on a small labelled set, each epoch.
"""

from keras_course.ssl.losses import nt_xent
from keras_course.ssl.monitor import KNNMonitor, knn_accuracy
from keras_course.ssl.simclr import MIN_BATCH, SimCLR, encoder_for

METHODS = ("simclr",)

__all__ = ["KNNMonitor", "METHODS", "MIN_BATCH", "SimCLR", "encoder_for", "knn_accuracy", "nt_xent"]
