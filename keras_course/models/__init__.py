"""Model registry and builders: `build(name, input_shape=..., num_classes=...)`, `list_models(pattern)`."""

from keras_course.models.registry import (ModelInfo, build, check_options, default_input_shape, describe, get_builder,
                                          info, info_of_model, keras_twins, list_models, natural_key, options_of,
                                          register, register_variant)
from keras_course.models.details import count_params, depth, details, flops_per_image
from keras_course.models.common import check_bn_momentum, head_options, set_batch_norm_momentum
from keras_course.models.layers import Maxout
from keras_course.models import cnn, lenet, mlp, simple_cnn  # noqa: F401  (registers the builders)
from keras_course.models import resnet  # noqa: F401,E402
from keras_course.models import densenet, vgg  # noqa: F401,E402
from keras_course.models import alexnet, googlenet  # noqa: F401,E402

__all__ = ["build", "check_bn_momentum", "check_options", "count_params", "default_input_shape", "depth",
           "describe", "details", "flops_per_image", "get_builder", "head_options", "info", "info_of_model",
           "keras_twins", "list_models", "Maxout", "ModelInfo", "natural_key", "options_of", "register",
           "register_variant", "set_batch_norm_momentum"]
