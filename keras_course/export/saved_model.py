"""SavedModel export through Keras 3's `model.export`: the model's preprocessing is inside, augmentation never is."""

import os
import shutil


def export_saved_model(model, directory):
    """Write a TensorFlow SavedModel with a `serve` endpoint (raw inputs in, the model's outputs out).

    Written to a temporary folder first and moved into place, so a failure never leaves half a SavedModel.
    """
    tmp = os.fspath(directory) + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    model.export(tmp, format="tf_saved_model", verbose=False)
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)
    return directory
