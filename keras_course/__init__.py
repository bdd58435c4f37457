"""keras_course: Keras builders, data pipelines, training helpers and labs for an introductory deep-learning course."""

import os

# TensorFlow's C++ start-up chatter hides the output that matters to students; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
