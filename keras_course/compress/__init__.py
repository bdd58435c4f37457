"""Compression, the course's sessions 3-6: pruning, channel pruning, quantization-aware training, low-rank
factorization, distillation, and one report of what a model costs (counted on its TFLite file) and scores."""

from keras_course.compress.distill import distiller, student_of, with_activation, with_logits
from keras_course.compress.channels import CRITERIA, channel_plan, prune_channels
from keras_course.compress.factorize import factorizable_layers, factorize
from keras_course.compress.masked import MaskedConv1D, MaskedConv2D, MaskedConv3D, MaskedDense, MaskedDepthwiseConv2D
from keras_course.compress.pruning import (SCOPES, PolynomialSparsity, UpdateMasks, kernel_sparsity, prunable,
                                           pruning_phase, strip)
from keras_course.compress.qat import ActivationQuantizer, calibrate, fold_batch_norms, quantize_aware, strip_quantization
from keras_course.compress.quantize import MODES as QUANTIZE_MODES, quantize_weights
from keras_course.compress.measure import FIELDS, input_shape_of, load_flatbuffer, read_model, report, score, tflite_counts

__all__ = ["ActivationQuantizer", "CRITERIA", "FIELDS", "MaskedConv1D", "MaskedConv2D", "MaskedConv3D", "MaskedDense", "MaskedDepthwiseConv2D",
           "PolynomialSparsity", "QUANTIZE_MODES", "SCOPES", "UpdateMasks", "calibrate", "channel_plan", "distiller", "factorizable_layers", "factorize", "fold_batch_norms",
           "input_shape_of", "kernel_sparsity", "load_flatbuffer", "prunable", "prune_channels", "pruning_phase", "quantize_aware", "quantize_weights", "read_model", "report", "score",
           "strip", "strip_quantization", "student_of", "tflite_counts", "with_activation", "with_logits"]
