"""Exports for serving. For now: the SavedModel a run directory holds (uint8 images in, probabilities out)."""

from keras_course.export.saved_model import export_saved_model, signature_names
