"""Plots, saved as PNG: learning curves, confusion matrices, decision boundaries, 1-D fits and feature embeddings."""

from keras_course.viz.embedding import embedding_plot
from keras_course.viz.plots import (confusion_matrix_plot, decision_boundary, grouped_bars, learning_curves, lr_find_plot,
                                   pareto_front, pareto_plot, read_history, regression_fit,
                                   runs_curves)
