"""Exports for serving: SavedModel (uint8 images in, probabilities out), .keras, TFLite float and int8, ONNX; each
checked against Keras in export_report.json; `predict` runs any of them on image files."""

from keras_course.export.bundle import FILES, FORMATS, REPORT, check_formats, export
from keras_course.export.inference import inference_model, signature_names
from keras_course.export.onnx import export_onnx
from keras_course.export.predict import ImageFileError, Prediction, predict_files, read_image
from keras_course.export.runtimes import find_class_names, load_runtime
from keras_course.export.saved_model import export_saved_model
from keras_course.export.tflite import export_tflite, to_tflite

__all__ = ["FILES", "FORMATS", "REPORT", "check_formats", "export", "export_onnx", "export_saved_model",
           "export_tflite", "find_class_names", "ImageFileError", "inference_model", "load_runtime",
           "predict_files", "Prediction", "read_image", "signature_names", "to_tflite"]
