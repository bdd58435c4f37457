"""Exports for serving. For now: the SavedModel a run directory holds (raw inputs in, predictions out)."""

from keras_course.export.saved_model import export_saved_model
