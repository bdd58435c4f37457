"""Model registry and builders: `build(name, input_shape=..., num_classes=...)`, `list_models(pattern)`."""

from keras_course.models.registry import build, describe, get_builder, list_models, register
from keras_course.models.common import head_options
from keras_course.models.layers import Maxout
from keras_course.models import lenet, mlp  # noqa: F401  (registers the builders)
