"""Self-supervised pretraining (the course's session 2): an encoder learns from unlabelled images by making two
augmented views of each image agree.

- `nt_xent`: SimCLR's normalised temperature-scaled cross-entropy (Chen et al. 2020).
- `SimCLR`, `SimSiam` (`methods`: why SimSiam for the method without negatives): an encoder from the registry
  with its heads, trained on pairs of views by `fit` (the pipeline: `data.make_pipeline(..., views=2)`, which
  drops the labels before anything else reads them).
- `knn_accuracy`, `KNNMonitor`: how well the features separate classes, on a small labelled set, each epoch.
- `few_labels`: learning from a few labelled images, scratch against probe against fine-tune, chosen on validation.
"""

from keras_course.ssl import few_labels
from keras_course.ssl.losses import negative_cosine, nt_xent
from keras_course.ssl.methods import MIN_BATCH, SimCLR, SimSiam, encoder_for
from keras_course.ssl.monitor import KNNMonitor, knn_accuracy

METHODS = {"simclr": SimCLR, "simsiam": SimSiam}

__all__ = ["KNNMonitor", "METHODS", "MIN_BATCH", "SimCLR", "SimSiam", "encoder_for", "few_labels", "knn_accuracy",
           "negative_cosine", "nt_xent"]
