"""Under the hood, in numpy only: a fully connected network with hand-written backprop, the optimizers' update
rules, convolution and pooling, and Rosenblatt's perceptron — each checked against TensorFlow in the tests."""

from keras_course.scratch.conv import avg_pool2d, conv2d, conv_output_size, max_pool2d, receptive_field
from keras_course.scratch.mlp import ACTIVATIONS, LOSSES, MLP, gradient_check, numerical_gradient
from keras_course.scratch.optimizers import OPTIMIZERS, make_optimizer
from keras_course.scratch.perceptron import Perceptron

__all__ = ["ACTIVATIONS", "LOSSES", "MLP", "OPTIMIZERS", "avg_pool2d", "conv2d", "conv_output_size",
           "gradient_check", "make_optimizer", "max_pool2d", "numerical_gradient", "Perceptron", "receptive_field"]
